// Many callers, one refresh; a refused access token refreshes once and the
// request is repeated; a rotation that lands after storage moved on is not
// committed over the newer tokens.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AuthdClient } from "../dist/index.js";
import { secureStatus, signedIn, sleep, storedTokens, untilExpired, worldBehindProxy } from "./helpers/session.mjs";

const w = worldBehindProxy();

test("50 concurrent calls needing a refresh make exactly one refresh request", async () => {
  const { client, signedOut } = await signedIn(w.world.url, w.proxy.url);
  await untilExpired(client);
  w.proxy.resetCounts();
  const statuses = await Promise.all(Array.from({ length: 50 }, () => secureStatus(client)));
  assert.deepEqual(statuses, Array(50).fill(200));
  assert.equal(w.proxy.count("/api/token"), 1);
  assert.equal(w.proxy.count("/api/secure"), 50, "no call needed a repeat");
  assert.deepEqual(signedOut, []);
  client.close();
});

test("401 invalid_token on an API call: one refresh, and the call is repeated", async () => {
  // A clock that runs behind makes the client hold on to an expired token.
  let offset = 0;
  const { client, signedOut } = await signedIn(w.world.url, w.proxy.url, { now: () => Date.now() + offset });
  await untilExpired(client);
  offset = -60_000;
  w.proxy.resetCounts();
  assert.equal(await secureStatus(client), 200);
  assert.equal(w.proxy.count("/api/token"), 1, "one refresh");
  assert.equal(w.proxy.count("/api/secure"), 2, "the refused call and its repeat");

  // Ten callers refused at once still make one refresh.
  await sleep(3200); // the new token expires too (the client's clock still lags)
  offset = -120_000;
  w.proxy.resetCounts();
  const statuses = await Promise.all(Array.from({ length: 10 }, () => secureStatus(client)));
  assert.deepEqual(statuses, Array(10).fill(200));
  assert.equal(w.proxy.count("/api/token"), 1);
  assert.equal(w.proxy.count("/api/secure"), 20);
  assert.deepEqual(signedOut, []);
  client.close();
});

test("sessions() and logoutAll() go through the same refresh-once path", async () => {
  const { client, signedOut } = await signedIn(w.world.url, w.proxy.url);
  await untilExpired(client);
  const list = await client.sessions();
  assert.equal(list.length, 1);
  assert.equal(list[0].id, client.session.sessionId);
  assert.equal(list[0].current, true);
  await client.logoutAll();
  assert.equal(client.signedIn, false);
  assert.deepEqual(signedOut.map((e) => e.reason), ["logout"]);
});

test("a rotation that lands after storage changed is not committed over the newer tokens", async () => {
  // Two clients over one storage: two processes, or tabs without BroadcastChannel.
  const { client: a, storage } = await signedIn(w.world.url, w.proxy.url, { refreshTimeoutMs: 5000 });
  const b = new AuthdClient({ baseUrl: w.proxy.url, storage, autoRefresh: false, broadcast: false });
  await b.ready;
  const t0 = storedTokens(storage);
  w.proxy.resetCounts();

  // A's refresh is handled by authd, but its answer is held back...
  let release;
  w.proxy.fault("/api/token", { kind: "hold", release: new Promise((r) => (release = r)) });
  const aRefresh = a.refresh();
  while (w.proxy.state.tokenExchanges[0]?.status !== 200) await sleep(10);
  const t1 = w.proxy.state.tokenExchanges[0].issued;

  // ...while B rotates twice: storage now holds a newer token than A's answer.
  await b.refresh(); // t0 again, in the grace window: the same successor t1
  await b.refresh(); // t1 -> t2
  const t2 = storedTokens(storage).refreshToken;
  assert.notEqual(t2, t1);
  assert.equal(w.proxy.state.tokenExchanges[2].presented, t1);

  release();
  await aRefresh;
  assert.equal(storedTokens(storage).refreshToken, t2, "A did not write its older rotation over B's");
  assert.notEqual(storedTokens(storage).refreshToken, t0.refreshToken);

  // A goes on with storage's tokens: its next rotation spends t2.
  await a.refresh();
  assert.equal(w.proxy.state.tokenExchanges.at(-1).presented, t2);
  assert.equal(w.proxy.state.tokenExchanges.at(-1).status, 200);
  assert.equal(await secureStatus(a), 200);
  assert.equal(await secureStatus(b), 200, "B adopts what A stored");
  a.close();
  b.close();
});
