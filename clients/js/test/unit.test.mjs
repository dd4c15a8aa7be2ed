// Parts that need no authd: errors (mfa_required too), the second step's
// request, Retry-After, the server clock, single flight, storage records,
// the package's public surface.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as pkg from "../dist/index.js";
import { ServerClock } from "../dist/clock.js";
import { errorFromResponse, parseRetryAfter } from "../dist/http.js";
import { jwtJkt, jwtTimes } from "../dist/jwt.js";
import { SingleFlight } from "../dist/singleFlight.js";
import { TokenStore } from "../dist/storage.js";
import { verifyProof } from "./helpers/dpop.mjs";
import { freePort } from "./helpers/world.mjs";

test("error bodies of docs/api.md become AuthdError with every field", async () => {
  const res = new Response(JSON.stringify({ error: "invalid_grant", error_description: "reused", reason: "reused" }), {
    status: 400,
    headers: { "x-request-id": "abc" },
  });
  const e = await errorFromResponse(res, Date.now());
  assert.ok(e instanceof pkg.AuthdError && pkg.isAuthdError(e));
  assert.deepEqual([e.status, e.code, e.description, e.reason, e.requestId, e.transient], [400, "invalid_grant", "reused", "reused", "abc", false]);

  const busy = await errorFromResponse(
    new Response('{"error":"temporarily_unavailable","error_description":"x"}', { status: 503, headers: { "retry-after": "3" } }),
    Date.now(),
  );
  assert.deepEqual([busy.code, busy.retryAfter, busy.transient, busy.reason], ["temporarily_unavailable", 3, true, undefined]);

  const html = await errorFromResponse(new Response("<html>", { status: 502, statusText: "Bad Gateway" }), Date.now());
  assert.deepEqual([html.code, html.description, html.transient], ["http_502", "Bad Gateway", true]);
});

test("mfa_required becomes an MfaRequiredError with its token, factors and options; other 403s stay plain", async () => {
  const publicKey = { challenge: "AAEC", allowCredentials: [{ type: "public-key", id: "AQ" }], rpId: "localhost" };
  const body = { error: "mfa_required", error_description: "a second factor", mfa_token: "tok", factors: ["totp", "webauthn", 5], publicKey };
  const e = await errorFromResponse(new Response(JSON.stringify(body), { status: 403, headers: { "x-request-id": "r1" } }), Date.now());
  assert.ok(e instanceof pkg.MfaRequiredError && e instanceof pkg.AuthdError && pkg.isAuthdError(e));
  assert.deepEqual([e.status, e.code, e.description, e.requestId, e.transient], [403, "mfa_required", "a second factor", "r1", false]);
  assert.deepEqual([e.mfaToken, e.factors, e.publicKey], ["tok", ["totp", "webauthn"], publicKey]);

  const totpOnly = await errorFromResponse(new Response('{"error":"mfa_required","error_description":"x","mfa_token":"t","factors":["totp"]}', { status: 403 }), 0);
  assert.deepEqual([totpOnly.mfaToken, totpOnly.factors, totpOnly.publicKey], ["t", ["totp"], undefined]);

  for (const other of ['{"error":"email_not_verified","error_description":"x"}', '{"error":"mfa_required","error_description":"no token"}']) {
    const plain = await errorFromResponse(new Response(other, { status: 403 }), 0);
    assert.ok(!(plain instanceof pkg.MfaRequiredError), other);
  }
});

test("completeMfaLogin sends mfa_token and exactly the one answer given, in authd's names", async () => {
  const sent = [];
  const fetch = async (url, init) => {
    sent.push([new URL(url).pathname, JSON.parse(init.body)]);
    return new Response('{"error":"invalid_grant","error_description":"no"}', { status: 400 });
  };
  const client = new pkg.AuthdClient({ baseUrl: "http://auth.test", autoRefresh: false, refreshReuseGraceMs: 1, fetch });
  const credential = { id: "AQ", rawId: "AQ", type: "public-key", response: {}, clientExtensionResults: {} };
  for (const answer of [{ code: "123456" }, { recoveryCode: "abcd-efgh" }, { credential }]) {
    await assert.rejects(client.completeMfaLogin("tok", answer), (e) => e.code === "invalid_grant");
  }
  assert.deepEqual(sent, [
    ["/api/login/mfa", { mfa_token: "tok", code: "123456" }],
    ["/api/login/mfa", { mfa_token: "tok", recovery_code: "abcd-efgh" }],
    ["/api/login/mfa", { mfa_token: "tok", credential }],
  ]);
  assert.equal(client.signedIn, false);
  client.close();

  // Throttled: a transient AuthdError with the wait, nothing stored.
  const busy = new pkg.AuthdClient({
    baseUrl: "http://auth.test",
    autoRefresh: false,
    refreshReuseGraceMs: 1,
    fetch: async () => new Response('{"error":"rate_limited","error_description":"slow down"}', { status: 429, headers: { "retry-after": "7" } }),
  });
  await assert.rejects(busy.completeMfaLogin("tok", { code: "123456" }), (e) => e.code === "rate_limited" && e.retryAfter === 7 && e.transient);
  assert.equal(busy.signedIn, false);
  busy.close();
});

test("the account helpers send authd's routes and names: a password or an ID token as the proof, a code or a recovery code", async () => {
  const sent = [];
  const fetch = async (url, init) => {
    sent.push([init.method, new URL(url).pathname, init.body === undefined ? undefined : JSON.parse(init.body), init.headers.authorization]);
    return new Response(null, { status: 204 });
  };
  const storage = new pkg.MemoryStorage();
  const payload = Buffer.from(JSON.stringify({ sub: "u1", sid: "s1", iat: 1, exp: 4102444800, amr: ["pwd"] })).toString("base64url");
  const accessToken = `h.${payload}.sig`;
  storage.setItem("authd.tokens", JSON.stringify({ accessToken, refreshToken: "r", sessionId: "s1", accessTokenExpiresAt: Date.now() + 3_600_000, accessTokenLifetime: 3_600_000, refreshTokenExpiresAt: Date.now() + 3_600_000 }));
  const client = new pkg.AuthdClient({ baseUrl: "http://auth.test", storage, autoRefresh: false, refreshReuseGraceMs: 1, fetch });
  await client.ready;
  assert.equal(client.session.userId, "u1");
  assert.deepEqual(client.session.claims.amr, ["pwd"]);
  const idToken = { provider: "google", idToken: "id.tok.en", nonce: "n" };
  await client.changePassword("old password", "new password");
  await client.changePassword(idToken, "new password");
  await client.disableTotp({ code: "123456" });
  await client.disableTotp({ recoveryCode: "abcd-efgh" });
  await client.verifyEmail("t");
  await client.resetPassword("t", "new password");
  await client.forgotPassword("a@example.com");
  await client.resendVerification("a@example.com");
  await client.deleteAccount(idToken);
  const bearer = `Bearer ${accessToken}`;
  assert.deepEqual(sent, [
    ["POST", "/api/password", { current_password: "old password", new_password: "new password" }, bearer],
    ["POST", "/api/password", { provider: "google", id_token: "id.tok.en", nonce: "n", new_password: "new password" }, bearer],
    ["DELETE", "/api/mfa/totp", { code: "123456" }, bearer],
    ["DELETE", "/api/mfa/totp", { recovery_code: "abcd-efgh" }, bearer],
    ["POST", "/api/email/verify", { token: "t" }, undefined],
    ["POST", "/api/password/reset", { token: "t", new_password: "new password" }, undefined],
    ["POST", "/api/password/forgot", { email: "a@example.com" }, undefined],
    ["POST", "/api/email/verify/resend", { email: "a@example.com" }, undefined],
    ["DELETE", "/api/account", { provider: "google", id_token: "id.tok.en", nonce: "n" }, bearer],
  ]);
  assert.equal(client.signedIn, false, "signed out once the account is deleted");
  client.close();
});

test("a baseUrl without http:// or https:// is refused at construction, saying what to write", () => {
  for (const [baseUrl, suggestion] of [
    ["auth.example.com", "https://auth.example.com"],
    ["localhost:8080", "https://localhost:8080"],
    ["//auth.example.com", "https://auth.example.com"],
    ["ftp://auth.example.com", "https://auth.example.com"],
    ["/auth", "https://auth.example.com/auth"],
    ["https://", "https://auth.example.com"],
  ]) {
    assert.throws(
      () => new pkg.AuthdClient({ baseUrl }),
      (e) => {
        assert.ok(e instanceof TypeError, String(e));
        assert.ok(e.message.includes(`baseUrl "${baseUrl}" has no http:// or https:// scheme`), e.message);
        assert.ok(e.message.includes(`"${suggestion}"`), e.message);
        assert.ok(e.message.includes('"" for the page\'s own origin'), e.message);
        return true;
      },
      baseUrl,
    );
  }
  for (const baseUrl of ["", "http://127.0.0.1:1", "https://auth.example.com/", "HTTPS://AUTH.EXAMPLE.COM"]) {
    new pkg.AuthdClient({ baseUrl, autoRefresh: false, refreshReuseGraceMs: 1 }).close();
  }
});

test("a request that gets no answer names its method and URL, with what fetch threw as the cause", async () => {
  const port = await freePort(); // closed: nothing listens there
  const client = new pkg.AuthdClient({ baseUrl: `http://127.0.0.1:${port}`, autoRefresh: false, refreshReuseGraceMs: 1 });
  await assert.rejects(client.login("a@example.com", "password"), (e) => {
    assert.ok(e instanceof pkg.AuthdError, String(e));
    assert.deepEqual([e.status, e.code, e.transient], [0, "network_error", true]);
    assert.ok(e.description.startsWith(`POST http://127.0.0.1:${port}/api/login: `), e.description);
    assert.ok(e.message.includes(`POST http://127.0.0.1:${port}/api/login`), e.message);
    assert.ok(e.cause instanceof TypeError, "what fetch threw");
    assert.ok(e.description.includes(e.cause.message), e.description);
    return true;
  });
  await assert.rejects(client.forgotPassword("a@example.com"), (e) => e.description.startsWith(`POST http://127.0.0.1:${port}/api/password/forgot: `));
  client.close();

  // fetch() of the app's own API: the URL without its query, the method it used.
  const storage = new pkg.MemoryStorage();
  storage.setItem("authd.tokens", JSON.stringify({ accessToken: "a.e30.s", refreshToken: "r", sessionId: "s", accessTokenExpiresAt: Date.now() + 3_600_000, accessTokenLifetime: 3_600_000, refreshTokenExpiresAt: Date.now() + 3_600_000 }));
  const held = new pkg.AuthdClient({ baseUrl: `http://127.0.0.1:${port}`, storage, autoRefresh: false, refreshReuseGraceMs: 1 });
  await assert.rejects(held.fetch(`http://127.0.0.1:${port}/api/orders?secret=x#frag`, { method: "PUT", body: "{}" }), (e) => {
    assert.equal(e.code, "network_error");
    assert.ok(e.description.startsWith(`PUT http://127.0.0.1:${port}/api/orders: `), e.description);
    assert.ok(!e.description.includes("secret"), e.description);
    assert.ok(e.cause instanceof TypeError);
    return true;
  });
  held.close();

  // A timeout names the request too.
  const slow = new pkg.AuthdClient({
    baseUrl: "http://auth.test",
    timeoutMs: 50,
    autoRefresh: false,
    refreshReuseGraceMs: 1,
    fetch: (url, init) => new Promise((_, reject) => init.signal.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")))),
  });
  await assert.rejects(slow.verifyEmail("t"), (e) => e.code === "timeout" && e.description === "POST http://auth.test/api/email/verify: no answer within 50 ms");
  slow.close();
});

test("docs/clients.md names every method of AuthdClient", () => {
  const docs = readFileSync(new URL("../../../docs/clients.md", import.meta.url), "utf8");
  const methods = Object.getOwnPropertyNames(pkg.AuthdClient.prototype).filter((m) => m !== "constructor");
  assert.ok(methods.includes("me") && methods.includes("deleteAccount"), methods.join());
  // As `name(…)`, `name` or auth.name(…).
  const missing = methods.filter((m) => !new RegExp(`(\`|auth\\.)${m}[(\`]`).test(docs));
  assert.deepEqual(missing, []);
});

test("Retry-After: seconds or an HTTP date", () => {
  const now = Date.parse("2026-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("7", now), 7);
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:05 GMT", now), 5);
  assert.equal(parseRetryAfter(null, now), undefined);
  assert.equal(parseRetryAfter("soon", now), undefined);
});

test("the server clock: 0 when in step, the offset when not", () => {
  const c = new ServerClock();
  assert.equal(c.skew, 0);
  const t = Date.parse("2026-01-01T00:00:00Z");
  c.observe(new Date(t).toUTCString(), t + 100, t + 150); // in step
  assert.equal(c.skew, 0);
  const ahead = new ServerClock(); // the local clock runs an hour ahead
  for (let i = 0; i < 5; i++) {
    const local = t + 3_600_000 + i * 1000 + 300 * i;
    ahead.observe(new Date(t + i * 1000 + 300 * i - ((300 * i) % 1000)).toUTCString(), local, local + 20);
  }
  assert.ok(Math.abs(ahead.skew + 3_600_000) < 2000, String(ahead.skew));
});

test("single flight: concurrent callers share one run; the next call runs again", async () => {
  const f = new SingleFlight();
  let runs = 0;
  const task = async () => (runs++, await new Promise((r) => setTimeout(r, 20)), runs);
  const results = await Promise.all(Array.from({ length: 50 }, () => f.run(task)));
  assert.deepEqual(new Set(results), new Set([1]));
  assert.equal(runs, 1);
  assert.equal(await f.run(task), 2);
  await assert.rejects(f.run(async () => Promise.reject(new Error("x"))), /x/);
  assert.equal(f.running, false);
});

test("storage records: written, read back, garbage ignored, cleared", async () => {
  const storage = new pkg.MemoryStorage();
  const store = new TokenStore(storage, "k");
  const tokens = { accessToken: "a", refreshToken: "r", sessionId: "s", accessTokenExpiresAt: 1, accessTokenLifetime: 2, refreshTokenExpiresAt: 3 };
  await store.writeTokens(tokens);
  await store.writeInflight({ refreshToken: "r", startedAt: 5 });
  assert.deepEqual(await store.readTokens(), tokens);
  assert.deepEqual(await store.readInflight(), { refreshToken: "r", startedAt: 5 });
  storage.setItem("k.tokens", "{not json");
  assert.equal(await store.readTokens(), null);
  await store.clear();
  assert.equal(storage.getItem("k.inflight"), null);
});

test("localStorageStorage wraps the platform's localStorage", () => {
  assert.throws(() => pkg.localStorageStorage(), /not available/);
  const items = new Map();
  globalThis.localStorage = { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => items.set(k, v), removeItem: (k) => items.delete(k) };
  try {
    const s = pkg.localStorageStorage();
    s.setItem("x", "1");
    assert.equal(s.getItem("x"), "1");
    s.removeItem("x");
    assert.equal(items.size, 0);
  } finally {
    delete globalThis.localStorage;
  }
});

test("jwtTimes reads iat and exp, and nothing from garbage", () => {
  const payload = Buffer.from(JSON.stringify({ iat: 10, exp: 12 })).toString("base64url");
  assert.deepEqual(jwtTimes(`h.${payload}.s`), { iat: 10, exp: 12 });
  assert.equal(jwtTimes("nope"), null);
  assert.equal(jwtTimes("a.!!!.c"), null);
});

test("jwtJkt reads cnf.jkt of a bound token, and nothing of an unbound one", () => {
  const token = (claims) => `h.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.s`;
  assert.equal(jwtJkt(token({ cnf: { jkt: "abc" } })), "abc");
  assert.equal(jwtJkt(token({ sub: "u" })), undefined);
  assert.equal(jwtJkt(token({ cnf: { jkt: 5 } })), undefined);
  assert.equal(jwtJkt("garbage"), undefined);
});

test("key stores: the first key stored is the one every caller gets; no IndexedDB, no IndexedDB store", async () => {
  const store = new pkg.MemoryKeyStore();
  assert.equal(store.load(), null);
  const make = () => crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const [a, b] = [await make(), await make()];
  assert.equal(store.saveIfAbsent(a), a);
  assert.equal(store.saveIfAbsent(b), a, "a second key does not replace the first");
  assert.equal(store.load(), a);
  assert.throws(() => pkg.indexedDbKeyStore(), /IndexedDB is not available/);
});

test("dpop: true in Node (no IndexedDB) signs with a key in memory: the same key for each proof, a new jti", async () => {
  const sent = [];
  const fetch = async (url, init) => {
    sent.push({ url, dpop: init.headers.dpop });
    return new Response('{"error":"invalid_grant","error_description":"no"}', { status: 400 });
  };
  const client = new pkg.AuthdClient({ baseUrl: "http://auth.test/", dpop: true, autoRefresh: false, refreshReuseGraceMs: 1, fetch });
  await assert.rejects(client.login("a@example.com", "pw"), (e) => e.code === "invalid_grant");
  await assert.rejects(client.login("a@example.com", "pw"), (e) => e.code === "invalid_grant");
  assert.equal(sent.length, 2, "no retry for an error that is not about the proof");
  const proofs = sent.map((r) => verifyProof(r.dpop));
  for (const p of proofs) assert.deepEqual([p.claims.htm, p.claims.htu], ["POST", "http://auth.test/api/login"]);
  assert.deepEqual(proofs[0].header.jwk, proofs[1].header.jwk);
  assert.notEqual(proofs[0].claims.jti, proofs[1].claims.jti);
  client.close();
});

test("the package exports what the docs name, and no `any` in its types", () => {
  for (const name of [
    "AuthdClient",
    "createAuthdClient",
    "AuthdError",
    "isAuthdError",
    "MemoryStorage",
    "memoryStorage",
    "localStorageStorage",
    "MemoryKeyStore",
    "memoryKeyStore",
    "indexedDbKeyStore",
    "MfaRequiredError",
    "passkeyAssertion",
    "passkeyRequestOptions",
    "passkeyCredentialJson",
  ]) {
    assert.ok(name in pkg, name);
  }
  const meta = JSON.parse(readFileSync(new URL("../package.json", import.meta.url)));
  assert.equal(meta.type, "module");
  assert.equal(meta.exports["."].types, "./dist/index.d.ts");
  assert.deepEqual(Object.keys(meta.dependencies ?? {}), []);
  for (const f of ["client", "errors", "storage", "http", "events", "tokens", "broadcast", "dpop", "jwt", "passkey", "base64url"]) {
    const dts = readFileSync(new URL(`../dist/${f}.d.ts`, import.meta.url), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");
    assert.doesNotMatch(dts, /\bany\b(?![a-z])/, `${f}.d.ts`);
  }
});
