// The example of docs/clients.md compiles against the package's types
// and works against authd, with a secure-storage adapter.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { enrolTotp, totp } from "./helpers/mfa.mjs";
import { SHORT_TOKENS, sleep } from "./helpers/session.mjs";
import { PASSWORD, registerUser, startWorld } from "./helpers/world.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
let world, example;
before(async () => {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", path.join(root, "examples/tsconfig.json")], { stdio: "inherit" });
  example = await import(path.join(root, "dist-examples/app.js"));
  world = await startWorld({ env: SHORT_TOKENS });
});
after(async () => {
  await world?.stop();
});

/** An in-memory stand-in with expo-secure-store's async API. */
function fakeSecureStore() {
  const items = new Map();
  return {
    items,
    getItemAsync: async (k) => items.get(k) ?? null,
    setItemAsync: async (k, v) => void items.set(k, v),
    deleteItemAsync: async (k) => void items.delete(k),
  };
}

test("the example app signs in, calls the API across refreshes, survives a restart, signs out", async () => {
  const secure = fakeSecureStore();
  const app = example.startApp(world.url, example.secureStorage(secure));
  const email = await registerUser(world.url, "example");
  await example.signIn(app, email, PASSWORD);
  assert.equal(app.screen, "home");
  assert.ok(secure.items.has("authd.tokens"), "tokens kept in secure storage");
  assert.match(await app.loadSecret(), /secured/);

  await sleep(3000); // past the access token's lifetime
  example.onForeground(app);
  assert.match(await app.loadSecret(), /secured/);
  const sessionId = app.client.session.sessionId;
  app.client.close();

  // The app restarts over the same secure storage.
  const again = example.startApp(world.url, example.secureStorage(secure));
  await again.client.ready;
  assert.equal(again.client.session.sessionId, sessionId);
  assert.match(await again.loadSecret(), /secured/);

  await again.client.logout();
  assert.equal(again.screen, "login");
  assert.equal(secure.items.size, 0);
  assert.equal(await again.loadSecret(), null);
  again.client.close();
});

test("the example's sign-in asks for the second factor of an account with TOTP", async () => {
  const email = await registerUser(world.url, "example-mfa");
  const setup = example.startApp(world.url, example.secureStorage(fakeSecureStore()));
  await example.signIn(setup, email, PASSWORD);
  const { secret, step } = await enrolTotp(setup.client);
  await setup.client.logout();
  setup.client.close();

  const secure = fakeSecureStore();
  const app = example.startApp(world.url, example.secureStorage(secure));
  await assert.rejects(example.signIn(app, email, PASSWORD), (e) => e.code === "mfa_required", "without a second screen");
  const asked = [];
  await example.signIn(app, email, PASSWORD, async (factors) => (asked.push(factors), { code: totp(secret, step) }));
  assert.deepEqual(asked, [["totp"]]);
  assert.equal(app.screen, "home");
  assert.ok(secure.items.has("authd.tokens"));
  assert.match(await app.loadSecret(), /secured/);
  app.client.close();
});
