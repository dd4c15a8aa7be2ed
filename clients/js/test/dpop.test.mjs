// DPoP (RFC 9449) against the real authd: the session is bound to the
// client's non-extractable key, every request carries a new proof that
// verifies, the refresh race logic (single flight, lost answers, restarts)
// works with a new proof per attempt, and a copied token is of no use.
import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import { AuthdClient, MemoryKeyStore } from "../dist/index.js";
import { ath, decodeJwt, storedThumbprint, verifyProof } from "./helpers/dpop.mjs";
import { secureStatus, signedIn, sleep, storedInflight, storedTokens, untilExpired, worldBehindProxy } from "./helpers/session.mjs";
import { PASSWORD, registerUser } from "./helpers/world.mjs";

const w = worldBehindProxy();

/** A signed-in client with DPoP on, its key in `keys`. */
async function dpopSignedIn(options = {}) {
  const keys = options.keys ?? new MemoryKeyStore();
  const s = await signedIn(w.world.url, w.proxy.url, { dpop: keys, ...options });
  return { ...s, keys };
}

const requestsTo = (path) => w.proxy.state.requests.filter((r) => r.path === path);

/** Waits until `check()` holds; fails (rather than hangs) after `ms`. */
async function until(what, check, ms = 10_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test("login, refresh and guarded calls with DPoP: bound to the client's key, a new verified proof each request", async () => {
  w.proxy.resetCounts();
  const { client, storage, keys, signedOut } = await dpopSignedIn();
  const jkt = await storedThumbprint(keys);

  const login = requestsTo("/api/login");
  assert.equal(login.length, 1);
  assert.equal(login[0].status, 200);
  const loginProof = verifyProof(login[0].proof);
  assert.equal(loginProof.claims.htm, "POST");
  assert.equal(loginProof.claims.htu, `${w.proxy.url}/api/login`);
  assert.equal(loginProof.claims.ath, undefined, "no ath at login");
  assert.ok(Math.abs(loginProof.claims.iat - Date.now() / 1000) < 5, "iat is now");

  // Bound: token_type DPoP, cnf.jkt the thumbprint of the client's public key.
  assert.equal(client.session.tokenType, "DPoP");
  const t0 = storedTokens(storage);
  assert.equal(decodeJwt(t0.accessToken).claims.cnf.jkt, jkt);
  assert.equal(t0.jkt, jkt);

  // A guarded call: Authorization: DPoP, a proof of this request with ath.
  assert.equal(await secureStatus(client), 200);
  const [secure] = requestsTo("/api/secure");
  assert.equal(secure.authorization, `DPoP ${t0.accessToken}`);
  const p = verifyProof(secure.proof);
  assert.deepEqual([p.claims.htm, p.claims.htu, p.claims.ath], ["GET", `${w.proxy.url}/api/secure`, ath(t0.accessToken)]);

  // A refresh with a proof (no ath), and the new tokens are bound to the same key.
  await client.refresh();
  const [refresh] = requestsTo("/api/token");
  assert.equal(refresh.status, 200);
  const rp = verifyProof(refresh.proof);
  assert.deepEqual([rp.claims.htm, rp.claims.htu, rp.claims.ath], ["POST", `${w.proxy.url}/api/token`, undefined]);
  const t1 = storedTokens(storage);
  assert.notEqual(t1.refreshToken, t0.refreshToken);
  assert.equal(decodeJwt(t1.accessToken).claims.cnf.jkt, jkt);
  assert.equal(client.session.tokenType, "DPoP");

  // authd's own guarded routes through the client, and the session is listed as bound.
  const sessions = await client.sessions();
  assert.deepEqual(sessions.map((s) => [s.id, s.dpop_bound]), [[t0.sessionId, true]]);
  assert.equal(requestsTo("/api/sessions")[0].authorization, `DPoP ${t1.accessToken}`);
  assert.equal(verifyProof(requestsTo("/api/sessions")[0].proof).claims.ath, ath(t1.accessToken));

  // authHeaders() for other transports: a proof for that URL and method, without the query.
  const h = await client.authHeaders(`${w.proxy.url}/api/secure?x=1#y`, "get");
  const hp = verifyProof(h.dpop);
  assert.equal(h.authorization, `DPoP ${t1.accessToken}`);
  assert.deepEqual([hp.claims.htm, hp.claims.htu], ["GET", `${w.proxy.url}/api/secure`]);
  const direct = await fetch(`${w.proxy.url}/api/secure`, { headers: h });
  assert.equal(direct.status, 200, "authd accepts those headers");
  await direct.arrayBuffer();

  // Logout signs a proof too, and the session ends at authd.
  await client.logout();
  const [logout] = requestsTo("/api/logout");
  assert.equal(logout.status, 204);
  assert.equal(verifyProof(logout.proof).header.jwk.x, loginProof.header.jwk.x);
  const after = await fetch(`${w.world.url}/api/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: t1.refreshToken }),
  });
  assert.equal(after.status, 400);
  assert.equal((await after.json()).error, "invalid_grant", "the session is gone");
  assert.deepEqual(signedOut.map((e) => e.reason), ["logout"]);

  // Every proof was new: no jti twice, one key for all.
  const proofs = w.proxy.state.requests.filter((r) => r.proof).map((r) => decodeJwt(r.proof));
  assert.ok(proofs.length >= 6);
  assert.equal(new Set(proofs.map((d) => d.claims.jti)).size, proofs.length, "a new jti per request");
  assert.equal(new Set(proofs.map((d) => JSON.stringify(d.header.jwk))).size, 1, "one key");
  client.close();
});

test("the private key cannot be exported; the proof's jwk holds no private part", async () => {
  const { client, keys, storage } = await dpopSignedIn();
  const pair = await keys.load();
  assert.equal(pair.privateKey.extractable, false);
  assert.equal(pair.privateKey.algorithm.name, "ECDSA");
  assert.equal(pair.privateKey.algorithm.namedCurve, "P-256");
  await assert.rejects(crypto.subtle.exportKey("pkcs8", pair.privateKey), (e) => /^InvalidAccess(Error|Exception)$/.test(e.name));
  await assert.rejects(crypto.subtle.exportKey("jwk", pair.privateKey), (e) => /^InvalidAccess(Error|Exception)$/.test(e.name));
  const jwk = decodeJwt((await client.authHeaders("/api/secure")).dpop).header.jwk;
  assert.deepEqual(Object.keys(jwk).sort(), ["crv", "kty", "x", "y"]);
  assert.ok(!JSON.stringify(storedTokens(storage)).includes(jwk.x), "the key is not in the token storage");
  client.close();
});

test("a copied token is worthless without the key: Bearer use and a proof-less refresh are refused, and nothing changes", async () => {
  const { client, storage, signedOut } = await dpopSignedIn();
  const t0 = storedTokens(storage);

  const asBearer = await fetch(`${w.world.url}/api/secure`, { headers: { authorization: `Bearer ${t0.accessToken}` } });
  assert.equal(asBearer.status, 401);
  assert.equal((await asBearer.json()).error, "invalid_token");

  const stolen = await fetch(`${w.world.url}/api/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: t0.refreshToken }),
  });
  assert.equal(stolen.status, 400);
  assert.equal((await stolen.json()).error, "invalid_dpop_proof");

  // The session was not ended: the client's own refresh of the same token
  // (with a proof) rotates it, and the session lives on.
  await client.refresh();
  assert.notEqual(storedTokens(storage).refreshToken, t0.refreshToken);
  assert.equal(storedTokens(storage).sessionId, t0.sessionId);
  assert.equal(await secureStatus(client), 200);
  assert.deepEqual(signedOut, []);
  client.close();
});

test("a refresh answer lost after authd rotated: the retry spends the same token with a new proof and gets the same successor", async () => {
  const { client, storage, signedOut } = await dpopSignedIn({ refreshTimeoutMs: 1000 });
  const before = storedTokens(storage);
  await untilExpired(client);
  w.proxy.resetCounts();
  w.proxy.fault("/api/token", { kind: "drop" });

  assert.equal(await secureStatus(client), 200);

  const ex = w.proxy.state.tokenExchanges;
  assert.equal(ex.length, 2, "the lost attempt, then the retry");
  assert.deepEqual(ex.map((e) => [e.presented, e.status]), [[before.refreshToken, 200], [before.refreshToken, 200]]);
  assert.equal(ex[0].issued, ex[1].issued, "the retry got the same successor");
  const [p0, p1] = ex.map((e) => verifyProof(e.proof));
  assert.notEqual(p0.claims.jti, p1.claims.jti, "a new proof for the retry");
  assert.deepEqual(p0.header.jwk, p1.header.jwk);
  assert.equal(storedTokens(storage).refreshToken, ex[1].issued);
  assert.equal(storedInflight(storage), null);

  await client.refresh();
  assert.equal(await secureStatus(client), 200);
  assert.equal(client.session.sessionId, before.sessionId);
  assert.deepEqual(signedOut, []);
  client.close();
});

test("an app killed after sending a refresh: a new client with the same storage and key finishes it", async () => {
  const { client: setup, storage, keys } = await dpopSignedIn();
  setup.close();
  const t0 = storedTokens(storage);
  const dying = new AuthdClient({
    baseUrl: w.proxy.url,
    storage,
    dpop: keys,
    autoRefresh: false,
    fetch: async (url, init) => {
      if (!url.endsWith("/api/token")) return fetch(url, init);
      fetch(url, { ...init, signal: undefined }).catch(() => {});
      return new Promise(() => {}); // the process dies before the answer
    },
  });
  await dying.ready;
  w.proxy.resetCounts();
  void dying.refresh();
  await until("authd to rotate the dying app's refresh", () => w.proxy.state.tokenExchanges[0]?.status === 200);
  dying.close();
  assert.equal(storedInflight(storage)?.refreshToken, t0.refreshToken);

  const restarted = new AuthdClient({ baseUrl: w.proxy.url, storage, dpop: keys, autoRefresh: false });
  await restarted.ready;
  await until("the restart to store the successor", () => storedTokens(storage)?.refreshToken !== t0.refreshToken);
  const ex = w.proxy.state.tokenExchanges;
  assert.equal(ex.length, 2);
  assert.equal(ex[1].presented, t0.refreshToken);
  assert.equal(ex[1].issued, ex[0].issued, "the same successor");
  assert.notEqual(decodeJwt(ex[0].proof).claims.jti, decodeJwt(ex[1].proof).claims.jti);
  assert.equal(await secureStatus(restarted), 200);
  restarted.close();
});

test("30 concurrent calls needing a refresh make one refresh request, each call with its own proof", async () => {
  const { client, signedOut } = await dpopSignedIn();
  await untilExpired(client);
  w.proxy.resetCounts();
  const statuses = await Promise.all(Array.from({ length: 30 }, () => secureStatus(client)));
  assert.deepEqual(statuses, Array(30).fill(200));
  assert.equal(w.proxy.count("/api/token"), 1);
  const secure = requestsTo("/api/secure");
  assert.equal(secure.length, 30);
  assert.equal(new Set(secure.map((r) => decodeJwt(r.proof).claims.jti)).size, 30);
  assert.deepEqual(signedOut, []);
  client.close();
});

test("a stored session bound to a key this client does not hold: signed out as dpop_key, nothing sent", async () => {
  const { client: a, storage } = await dpopSignedIn();
  a.close();
  const t0 = storedTokens(storage);
  w.proxy.resetCounts();
  // The same storage, but the key store was cleared: a new key.
  const b = new AuthdClient({ baseUrl: w.proxy.url, storage, dpop: new MemoryKeyStore(), autoRefresh: false, broadcast: false });
  const signedOut = [];
  b.on("signedOut", (e) => signedOut.push(e));
  await assert.rejects(b.fetch("/api/secure"), (e) => e.code === "signed_out");
  assert.deepEqual(signedOut, [{ reason: "dpop_key", sessionId: t0.sessionId }]);
  assert.equal(storedTokens(storage), null);
  // The first client's background metadata fetch may land after the reset;
  // what matters is that nothing carried a token or a proof.
  const sent = w.proxy.state.requests.filter((r) => r.authorization !== null || r.proof);
  assert.deepEqual(
    sent.map((r) => `${r.method} ${r.path}`),
    [],
    "nothing was sent with a key authd would refuse",
  );
  b.close();
});

test("a local clock an hour ahead: the first proof is refused, the next carries the server's time", async () => {
  // No metadata request (the grace is given), so the login is the first answer with a Date.
  const { client, storage } = await (async () => {
    w.proxy.resetCounts();
    return dpopSignedIn({ now: () => Date.now() + 3_600_000, refreshReuseGraceMs: 10_000 });
  })();
  const login = requestsTo("/api/login");
  assert.deepEqual(login.map((r) => r.status), [400, 200]);
  const iats = login.map((r) => decodeJwt(r.proof).claims.iat);
  assert.ok(Math.abs(iats[0] - Date.now() / 1000 - 3600) < 5, "the first proof had the local time");
  assert.ok(Math.abs(iats[1] - Date.now() / 1000) < 5, "the retry had the server's");
  assert.equal(storedTokens(storage).tokenType, "DPoP");
  assert.equal(await secureStatus(client), 200);
  await client.refresh();
  assert.equal(await secureStatus(client), 200);
  client.close();
});

test("a resource server that asks for a nonce (401 use_dpop_nonce) gets the call again with it; nonces stay per origin", async () => {
  const { client, storage } = await dpopSignedIn();
  const seen = [];
  const rs = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const proof = verifyProof(req.headers.dpop);
      seen.push({ url: req.url, body, authorization: req.headers.authorization, claims: proof.claims });
      if (proof.claims.nonce !== "rs-nonce-1") {
        res.writeHead(401, { "www-authenticate": 'DPoP error="use_dpop_nonce"', "dpop-nonce": "rs-nonce-1" });
        return res.end();
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"ok":true}');
    });
  });
  await new Promise((r) => rs.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${rs.address().port}`;
  try {
    const res = await client.fetch(`${origin}/orders?page=2#top`, { method: "POST", body: "x=1" });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
    const token = storedTokens(storage).accessToken;
    assert.equal(seen.length, 2);
    for (const s of seen) {
      assert.equal(s.body, "x=1", "the body was sent again");
      assert.equal(s.authorization, `DPoP ${token}`);
      assert.deepEqual([s.claims.htm, s.claims.htu, s.claims.ath], ["POST", `${origin}/orders`, ath(token)]);
    }
    assert.equal(seen[0].claims.nonce, undefined);
    assert.equal(seen[1].claims.nonce, "rs-nonce-1");
    assert.notEqual(seen[0].claims.jti, seen[1].claims.jti);

    // The next call there carries the nonce at once; authd's origin never gets it.
    await (await client.fetch(`${origin}/orders`)).arrayBuffer();
    assert.equal(seen.length, 3);
    w.proxy.resetCounts();
    assert.equal(await secureStatus(client), 200);
    assert.equal(decodeJwt(requestsTo("/api/secure")[0].proof).claims.nonce, undefined);
  } finally {
    await new Promise((r) => rs.close(r));
    client.close();
  }
});

test("an unbound session (signed in without DPoP) is bound at its first refresh with a proof", async () => {
  const { client: plain, storage } = await signedIn(w.world.url, w.proxy.url);
  plain.close();
  assert.equal(storedTokens(storage).tokenType, undefined);
  const keys = new MemoryKeyStore();
  const c = new AuthdClient({ baseUrl: w.proxy.url, storage, dpop: keys, autoRefresh: false });
  await c.ready;
  assert.equal(c.session.tokenType, "Bearer");
  w.proxy.resetCounts();
  assert.equal(await secureStatus(c), 200);
  assert.match(requestsTo("/api/secure")[0].authorization, /^Bearer /, "an unbound token goes as Bearer");
  await c.refresh();
  assert.equal(c.session.tokenType, "DPoP");
  assert.equal(decodeJwt(storedTokens(storage).accessToken).claims.cnf.jkt, await storedThumbprint(keys));
  assert.equal(await secureStatus(c), 200);
  assert.match(requestsTo("/api/secure").at(-1).authorization, /^DPoP /);
  c.close();
});

test("register and login errors are unchanged with DPoP on", async () => {
  const c = new AuthdClient({ baseUrl: w.proxy.url, dpop: new MemoryKeyStore(), autoRefresh: false });
  const email = await registerUser(w.world.url, "dpop-err");
  await assert.rejects(c.login(email, "wrong password 123"), (e) => e.code === "invalid_grant" && e.status === 400);
  await c.login(email, PASSWORD);
  assert.equal(c.session.tokenType, "DPoP");
  c.close();
});
