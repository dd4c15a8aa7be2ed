// Reuse or an ended session: one signed-out event, storage cleared, every
// caller told. Logout clears everything and ends the session at authd.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startProxy } from "./helpers/proxy.mjs";
import { SHORT_TOKENS, signedIn, sleep, storedInflight, storedTokens } from "./helpers/session.mjs";
import { startWorld } from "./helpers/world.mjs";

let world, proxy;
before(async () => {
  world = await startWorld({ env: { ...SHORT_TOKENS, AUTHD_REFRESH_REUSE_GRACE: "1" } });
  proxy = await startProxy(world.url);
});
after(async () => {
  await proxy?.stop();
  await world?.stop();
});

async function presentDirectly(refreshToken) {
  const res = await fetch(`${world.url}/api/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: refreshToken }),
  });
  return { status: res.status, body: await res.json() };
}

test("reuse: a single signed-out event, storage cleared, every caller refused", async () => {
  const { client, storage, signedOut } = await signedIn(world.url, proxy.url);
  const stolen = storedTokens(storage).refreshToken;
  await client.refresh();
  await sleep(1500); // past the grace window: the stolen token is now reuse
  const theft = await presentDirectly(stolen);
  assert.equal(theft.status, 400);
  assert.equal(theft.body.reason, "reused");

  proxy.resetCounts();
  const results = await Promise.allSettled(Array.from({ length: 20 }, () => client.fetch("/api/secure")));
  for (const r of results) {
    assert.equal(r.status, "rejected");
    assert.equal(r.reason.code, "signed_out");
  }
  assert.equal(proxy.count("/api/token"), 1, "one refresh found out");
  assert.equal(proxy.state.tokenExchanges[0].status, 400);
  assert.equal(signedOut.length, 1);
  assert.equal(signedOut[0].reason, "reused");
  assert.equal(client.signedIn, false);
  assert.equal(storedTokens(storage), null);
  assert.equal(storedInflight(storage), null);

  await assert.rejects(client.getAccessToken(), (e) => e.code === "signed_out");
  assert.equal(signedOut.length, 1, "still one event");
  client.close();
});

test("a session ended elsewhere (logout-all on another device): signed out as invalid", async () => {
  const { client, storage, signedOut, email } = await signedIn(world.url, proxy.url);
  // The same user on another device ends every session.
  const other = await fetch(`${world.url}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: "correct horse battery staple 1" }),
  }).then((r) => r.json());
  const end = await fetch(`${world.url}/api/logout-all`, {
    method: "POST",
    headers: { authorization: `Bearer ${other.access_token}` },
  });
  assert.equal(end.status, 204);

  await assert.rejects(client.fetch("/api/secure"), (e) => e.code === "signed_out");
  assert.deepEqual(signedOut.map((e) => e.reason), ["invalid"]);
  assert.equal(storedTokens(storage), null);
  client.close();
});

test("logout ends the session at authd and clears storage", async () => {
  const { client, storage, signedOut } = await signedIn(world.url, proxy.url);
  const { refreshToken } = storedTokens(storage);
  await client.logout();
  assert.deepEqual(signedOut.map((e) => e.reason), ["logout"]);
  assert.equal(storedTokens(storage), null);
  const after = await presentDirectly(refreshToken);
  assert.equal(after.status, 400, "the session is gone at authd");
  await client.logout(); // idempotent, no second event
  assert.equal(signedOut.length, 1);
  client.close();
});
