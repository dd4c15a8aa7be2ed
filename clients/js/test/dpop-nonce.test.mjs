// DPoP with server nonces (AUTHD_DPOP_NONCE=true): the first request is
// answered use_dpop_nonce, the client repeats it once with a new proof
// carrying the nonce, and afterwards sends the latest nonce authd gave.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AuthdClient, MemoryKeyStore } from "../dist/index.js";
import { decodeJwt, verifyProof } from "./helpers/dpop.mjs";
import { SHORT_TOKENS, secureStatus, signedIn, storedTokens, untilExpired, worldBehindProxy } from "./helpers/session.mjs";
import { PASSWORD, registerUser } from "./helpers/world.mjs";

const w = worldBehindProxy({ ...SHORT_TOKENS, AUTHD_DPOP_NONCE: "true" });

const requestsTo = (path) => w.proxy.state.requests.filter((r) => r.path === path);

test("the first request is asked for a nonce, the client retries once with it, and later requests carry the latest", async () => {
  w.proxy.resetCounts();
  const { client, storage, signedOut } = await signedIn(w.world.url, w.proxy.url, { dpop: new MemoryKeyStore() });

  // Login: refused for want of a nonce (nothing signed in yet), then accepted with it.
  const login = requestsTo("/api/login");
  assert.deepEqual(login.map((r) => r.status), [400, 200]);
  const [first, retry] = login.map((r) => verifyProof(r.proof).claims);
  assert.equal(first.nonce, undefined);
  assert.ok(login[0].nonce, "the refusal carries DPoP-Nonce");
  assert.equal(retry.nonce, login[0].nonce, "the retry carries it");
  assert.notEqual(retry.jti, first.jti, "with a new proof");
  assert.equal(client.session.tokenType, "DPoP");
  assert.ok(login[1].nonce, "the token response carries the next nonce");

  // The refresh uses the nonce of the login's answer: one request, accepted.
  await untilExpired(client);
  assert.equal(await secureStatus(client), 200);
  const refresh = requestsTo("/api/token");
  assert.deepEqual(refresh.map((r) => r.status), [200]);
  assert.equal(decodeJwt(refresh[0].proof).claims.nonce, login[1].nonce);
  assert.deepEqual(
    requestsTo("/api/secure").map((r) => r.status),
    [200],
    "the guard takes the proof: it carries the latest nonce",
  );

  // Logout too: one request with the latest nonce.
  const sessionId = storedTokens(storage).sessionId;
  await client.logout();
  const logout = requestsTo("/api/logout");
  assert.deepEqual(logout.map((r) => r.status), [204]);
  assert.equal(decodeJwt(logout[0].proof).claims.nonce, refresh[0].nonce);
  assert.deepEqual(signedOut, [{ reason: "logout", sessionId }]);
  client.close();
});

test("a nonce authd no longer takes: asked again, one retry with the new one, the refresh goes through", async () => {
  const { client, storage, signedOut } = await signedIn(w.world.url, w.proxy.url, { dpop: new MemoryKeyStore() });
  const t0 = storedTokens(storage);
  // The next answer brings a nonce authd never made, as an old one looks to it.
  w.proxy.fault("/api/sessions", { kind: "status", status: 200, headers: { "dpop-nonce": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }, body: '{"sessions":[]}' });
  await client.sessions();
  w.proxy.resetCounts();
  await client.refresh();
  const refresh = requestsTo("/api/token");
  assert.deepEqual(refresh.map((r) => [r.status, decodeJwt(r.proof).claims.nonce]), [
    [400, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"],
    [200, refresh[0].nonce],
  ]);
  assert.notEqual(storedTokens(storage).refreshToken, t0.refreshToken);
  assert.equal(await secureStatus(client), 200);
  assert.deepEqual(signedOut, []);
  client.close();
});

test("a nonce refused twice in a row is not retried forever: one retry, then the error", async () => {
  const c = new AuthdClient({ baseUrl: w.proxy.url, dpop: new MemoryKeyStore(), autoRefresh: false, refreshReuseGraceMs: 10_000 });
  const email = await registerUser(w.world.url, "nonce-loop");
  w.proxy.resetCounts();
  const refuse = { kind: "status", status: 400, headers: { "dpop-nonce": "x" }, body: '{"error":"use_dpop_nonce","error_description":"injected"}' };
  w.proxy.fault("/api/login", refuse);
  w.proxy.fault("/api/login", refuse);
  await assert.rejects(c.login(email, PASSWORD), (e) => e.code === "use_dpop_nonce" && e.status === 400);
  assert.equal(w.proxy.count("/api/login"), 2);
  assert.equal(c.signedIn, false);
  await c.login(email, PASSWORD); // with the real server's nonce it goes through
  assert.equal(c.session.tokenType, "DPoP");
  c.close();
});
