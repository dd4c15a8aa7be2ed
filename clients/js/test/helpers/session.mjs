// Signed-in clients for the tests, and what they need to look at storage.
import { after, before } from "node:test";
import { AuthdClient, MemoryStorage } from "../../dist/index.js";
import { startProxy } from "./proxy.mjs";
import { PASSWORD, registerUser, startWorld } from "./world.mjs";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Settings of authd for tests: 2-second access tokens, checked exactly. */
export const SHORT_TOKENS = { AUTHD_ACCESS_TOKEN_TTL: "2", AUTHD_JWT_LEEWAY: "0" };

/**
 * The test file's world: its own redis-server and authd (with `env`) behind
 * a fault-injecting proxy, started before its tests and stopped after.
 * `w.world` and `w.proxy` are set once the tests run.
 */
export function worldBehindProxy(env = SHORT_TOKENS) {
  const w = { world: undefined, proxy: undefined };
  before(async () => {
    w.world = await startWorld({ env });
    w.proxy = await startProxy(w.world.url);
  });
  after(async () => {
    await w.proxy?.stop();
    await w.world?.stop();
  });
  return w;
}

/**
 * A new user, signed in through `baseUrl` (the proxy, usually) by a client
 * with memory storage and no timers unless `options` say otherwise.
 * `signedOut` collects its signed-out events.
 */
export async function signedIn(authdUrl, baseUrl, options = {}) {
  const storage = options.storage ?? new MemoryStorage();
  const client = new AuthdClient({ baseUrl, storage, autoRefresh: false, ...options });
  const signedOut = [];
  client.on("signedOut", (e) => signedOut.push(e));
  const email = await registerUser(authdUrl);
  await client.login(email, PASSWORD);
  return { client, storage, signedOut, email };
}

export function storedTokens(storage, key = "authd") {
  const text = storage.getItem(`${key}.tokens`);
  return text === null ? null : JSON.parse(text);
}

export function storedInflight(storage, key = "authd") {
  const text = storage.getItem(`${key}.inflight`);
  return text === null ? null : JSON.parse(text);
}

/** Sleeps until the client's access token has expired at the server too. */
export async function untilExpired(client) {
  await sleep(Math.max(0, client.session.accessTokenExpiresAt - Date.now()) + 1100);
}

/** GET /api/secure through the client: its status. */
export async function secureStatus(client) {
  const res = await client.fetch("/api/secure");
  await res.arrayBuffer();
  return res.status;
}
