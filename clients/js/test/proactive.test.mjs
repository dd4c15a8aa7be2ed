// Refresh before expiry on a timer, with the skew of a wrong local clock
// measured from Date headers; and a refresh on resume after a suspension.
import assert from "node:assert/strict";
import { test } from "node:test";
import { secureStatus, signedIn, sleep, storedTokens, untilExpired, worldBehindProxy } from "./helpers/session.mjs";

const w = worldBehindProxy();

/** Calls the API every 100 ms for `ms`; the statuses authd answered the calls (before any repeat). */
async function busy(client, ms) {
  const until = Date.now() + ms;
  let calls = 0;
  while (Date.now() < until) {
    assert.equal(await secureStatus(client), 200);
    calls++;
    await sleep(100);
  }
  return calls;
}

for (const [name, offset] of [
  ["a clock in step", 0],
  ["a clock an hour ahead", 3_600_000],
  ["a clock ten minutes behind", -600_000],
]) {
  test(`proactive refresh before expiry, ${name}`, async () => {
    const { client, signedOut } = await signedIn(w.world.url, w.proxy.url, { autoRefresh: true, now: () => Date.now() + offset });
    w.proxy.resetCounts();
    const calls = await busy(client, 6000);
    assert.ok(Math.abs(client.clockSkew + offset) < 2500, `skew ${client.clockSkew} measured for offset ${offset}`);
    // Every call went through once: the token was never found expired by authd.
    assert.equal(w.proxy.count("/api/secure"), calls, "no call was refused and repeated");
    const refreshes = w.proxy.count("/api/token");
    // 2-second tokens, refreshed a quarter of their life early: about 4 in 6 s, never a storm.
    assert.ok(refreshes >= 2 && refreshes <= 8, `${refreshes} refreshes in 6 s`);
    const presented = w.proxy.state.tokenExchanges.map((e) => e.presented);
    assert.equal(new Set(presented).size, presented.length, "no token was spent twice");
    assert.deepEqual(signedOut, []);
    client.close();
  });
}

test("the timer refreshes without any API call", async () => {
  const { client, storage } = await signedIn(w.world.url, w.proxy.url, { autoRefresh: true });
  const t0 = storedTokens(storage).refreshToken;
  w.proxy.resetCounts();
  await sleep(2500);
  assert.ok(w.proxy.count("/api/token") >= 1);
  assert.notEqual(storedTokens(storage).refreshToken, t0);
  client.close();
});

test("resume() after a suspension refreshes an expired token before anything else", async () => {
  const { client, storage } = await signedIn(w.world.url, w.proxy.url);
  const t0 = storedTokens(storage).refreshToken;
  await untilExpired(client); // suspended: no timers ran
  w.proxy.resetCounts();
  await client.resume();
  assert.equal(w.proxy.count("/api/token"), 1);
  assert.notEqual(storedTokens(storage).refreshToken, t0);
  assert.equal(await secureStatus(client), 200);
  assert.equal(w.proxy.count("/api/token"), 1, "the call needed no further refresh");
  client.close();
});

test("resume() with a fresh token does nothing", async () => {
  const { client } = await signedIn(w.world.url, w.proxy.url);
  w.proxy.resetCounts();
  await client.resume();
  assert.equal(w.proxy.count("/api/token"), 0);
  client.close();
});
