// An app killed after sending a refresh: the answer is lost with the
// process. A new client over the same storage finds the refresh in flight,
// spends the same token again inside the grace window and keeps the session.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AuthdClient } from "../dist/index.js";
import { secureStatus, signedIn, sleep, storedInflight, storedTokens, worldBehindProxy } from "./helpers/session.mjs";

const w = worldBehindProxy();

/** A fetch whose refresh requests go out but whose answers never come back: the app dies. */
function dyingFetch() {
  return async (url, init) => {
    if (!url.endsWith("/api/token")) return fetch(url, init);
    fetch(url, { ...init, signal: undefined }).catch(() => {});
    return new Promise(() => {}); // the process is gone before the answer arrives
  };
}

test("a new client over the same storage finishes the refresh and keeps the session", async () => {
  const { client: setup, storage, email } = await signedIn(w.world.url, w.proxy.url);
  setup.close();
  const t0 = storedTokens(storage);

  const dying = new AuthdClient({ baseUrl: w.proxy.url, storage, autoRefresh: false, fetch: dyingFetch() });
  await dying.ready;
  w.proxy.resetCounts();
  void dying.refresh();
  while (w.proxy.state.tokenExchanges[0]?.status !== 200) await sleep(10);
  const lostSuccessor = w.proxy.state.tokenExchanges[0].issued;
  dying.close(); // and it is never heard of again

  assert.equal(storedTokens(storage).refreshToken, t0.refreshToken, "nothing new was stored");
  assert.equal(storedInflight(storage)?.refreshToken, t0.refreshToken, "the attempt was recorded before sending");

  const restarted = new AuthdClient({ baseUrl: w.proxy.url, storage, autoRefresh: false });
  const signedOut = [];
  restarted.on("signedOut", (e) => signedOut.push(e));
  const tokens = new Promise((r) => restarted.on("tokens", () => storedTokens(storage).refreshToken !== t0.refreshToken && r()));
  await restarted.ready;
  await tokens;

  const ex = w.proxy.state.tokenExchanges;
  assert.equal(ex.length, 2);
  assert.equal(ex[1].presented, t0.refreshToken, "the restart spent the same token");
  assert.equal(ex[1].issued, lostSuccessor, "and got the same successor");
  assert.equal(storedTokens(storage).refreshToken, lostSuccessor);
  assert.equal(storedInflight(storage), null);

  assert.equal(await secureStatus(restarted), 200);
  await restarted.refresh(); // the successor is the live token
  const sessions = await restarted.sessions();
  assert.deepEqual(sessions.map((s) => s.id), [t0.sessionId]);
  assert.deepEqual(signedOut, []);
  assert.ok(email);
  restarted.close();
});

test("an in-flight record for a token no longer stored is discarded at startup", async () => {
  const { client: setup, storage } = await signedIn(w.world.url, w.proxy.url);
  setup.close();
  storage.setItem("authd.inflight", JSON.stringify({ refreshToken: "not-the-stored-one", startedAt: Date.now() }));
  w.proxy.resetCounts();
  const c = new AuthdClient({ baseUrl: w.proxy.url, storage, autoRefresh: false });
  await c.ready;
  assert.equal(storedInflight(storage), null);
  assert.equal(w.proxy.count("/api/token"), 0);
  assert.equal(await secureStatus(c), 200);
  c.close();
});
