// Each fault on a refresh keeps the user signed in: the client retries with
// the same token inside the grace window and authd answers with the same
// successor. A failure without an answer never signs out.
import assert from "node:assert/strict";
import { test } from "node:test";
import { secureStatus, signedIn, storedInflight, storedTokens, untilExpired, worldBehindProxy } from "./helpers/session.mjs";

const w = worldBehindProxy();

/**
 * Signs in, lets the access token expire, queues `fault` for the next
 * refresh, makes an API call; checks it succeeded through a retry with the
 * same token that got the same successor, and that the session lives on.
 */
async function survives(fault, { attempts = 2 } = {}) {
  const { client, storage, signedOut } = await signedIn(w.world.url, w.proxy.url, { refreshTimeoutMs: 1000 });
  const before = storedTokens(storage);
  await untilExpired(client);
  w.proxy.resetCounts();
  w.proxy.fault("/api/token", fault);

  assert.equal(await secureStatus(client), 200);

  const ex = w.proxy.state.tokenExchanges;
  assert.equal(ex.length, attempts, "one faulty attempt, then the retry");
  assert.ok(ex.every((e) => e.presented === before.refreshToken), "every attempt spends the same token");
  const last = ex.at(-1);
  assert.equal(last.status, 200);
  if (ex[0].issued) assert.equal(ex[0].issued, last.issued, "the retry got the same successor");
  const after = storedTokens(storage);
  assert.equal(after.refreshToken, last.issued, "the successor is stored");
  assert.equal(after.sessionId, before.sessionId);
  assert.equal(storedInflight(storage), null, "no refresh left in flight");
  assert.deepEqual(signedOut, []);

  // The stored successor is live: the next rotation and API call work.
  await client.refresh();
  assert.equal(await secureStatus(client), 200);
  assert.equal(client.session.sessionId, before.sessionId);
  client.close();
  return ex;
}

test("a refresh answer lost after authd handled it", async () => {
  const ex = await survives({ kind: "drop" });
  assert.equal(ex[0].status, 200, "authd did rotate on the lost attempt");
});

test("a connection reset in the middle of the refresh answer's body", async () => {
  const ex = await survives({ kind: "reset" });
  assert.equal(ex[0].status, 200);
});

test("a refresh answer delayed beyond the client's timeout", async () => {
  const ex = await survives({ kind: "delay", ms: 2500 });
  assert.equal(ex[0].status, 200);
});

test("503 with Retry-After: waits as told, then the same token", async () => {
  const t0 = Date.now();
  const ex = await survives({ kind: "status", status: 503, retryAfter: 1 });
  assert.equal(ex[0].status, 503);
  assert.ok(Date.now() - t0 >= 1000, "waited for Retry-After");
});

test("429 with Retry-After on refresh is retried too", async () => {
  const ex = await survives({ kind: "status", status: 429, retryAfter: 1 });
  assert.equal(ex[0].status, 429);
});

test("no answer at all beyond the grace window: an error, but still signed in", async () => {
  const { client, storage, signedOut } = await signedIn(w.world.url, w.proxy.url, {
    refreshTimeoutMs: 500,
    refreshReuseGraceMs: 1500,
  });
  const before = storedTokens(storage);
  await untilExpired(client);
  w.proxy.resetCounts();
  for (let i = 0; i < 50; i++) w.proxy.fault("/api/token", { kind: "refuse" });

  await assert.rejects(client.fetch("/api/secure"), (e) => e.code === "network_error" && e.transient);
  assert.ok(w.proxy.state.tokenExchanges.length >= 2, "retried while the grace window lasted");
  assert.deepEqual(signedOut, []);
  assert.equal(client.signedIn, true);
  assert.equal(storedTokens(storage).refreshToken, before.refreshToken, "tokens kept");
  assert.equal(storedInflight(storage)?.refreshToken, before.refreshToken, "the attempt is remembered");

  w.proxy.clearFaults();
  assert.equal(await secureStatus(client), 200);
  assert.equal(client.session.sessionId, before.sessionId);
  assert.deepEqual(signedOut, []);
  client.close();
});
