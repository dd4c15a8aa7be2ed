// The second step of a login against the real authd: a user with TOTP gets
// an MfaRequiredError from login(), completeMfaLogin() with a code or a
// recovery code signs in exactly as login() does (storage, events, DPoP
// binding), and a wrong answer leaves the client signed out.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AuthdClient, AuthdError, MemoryKeyStore, MemoryStorage, MfaRequiredError } from "../dist/index.js";
import { decodeJwt, storedThumbprint, verifyProof } from "./helpers/dpop.mjs";
import { enrolTotp, totp, wrongCode } from "./helpers/mfa.mjs";
import { secureStatus, signedIn, storedTokens, worldBehindProxy } from "./helpers/session.mjs";
import { PASSWORD } from "./helpers/world.mjs";

// Access tokens of the default lifetime: enrolment may wait up to 8 s for a fresh TOTP step.
const w = worldBehindProxy({});

/** A user with TOTP on (enrolled by a password session, then logged out) and a new signed-out client. */
async function totpUser(options = {}) {
  const { client: setup, email } = await signedIn(w.world.url, w.proxy.url);
  const totpState = await enrolTotp(setup);
  await setup.logout();
  setup.close();
  const storage = new MemoryStorage();
  const client = new AuthdClient({ baseUrl: w.proxy.url, storage, autoRefresh: false, ...options });
  const events = [];
  client.on("tokens", (e) => events.push(["tokens", e.sessionId]));
  client.on("signedOut", (e) => events.push(["signedOut", e.reason]));
  return { client, storage, events, email, ...totpState };
}

/** login() of a user with a second factor: the MfaRequiredError it rejects with. */
async function mfaRequired(client, email) {
  let error;
  await assert.rejects(client.login(email, PASSWORD, "laptop"), (e) => ((error = e), true));
  return error;
}

const requestsTo = (path) => w.proxy.state.requests.filter((r) => r.path === path);

test("login of a user with TOTP rejects with MfaRequiredError; completeMfaLogin with the current code signs in as login does", async () => {
  const { client, storage, events, email, secret, step } = await totpUser();

  const e = await mfaRequired(client, email);
  assert.ok(e instanceof MfaRequiredError, String(e));
  assert.ok(e instanceof AuthdError, "an AuthdError too");
  assert.equal(e.status, 403);
  assert.equal(e.code, "mfa_required");
  assert.equal(e.transient, false);
  assert.equal(typeof e.description, "string");
  assert.ok(typeof e.mfaToken === "string" && e.mfaToken.length > 20, e.mfaToken);
  assert.deepEqual(e.factors, ["totp"]);
  assert.equal(e.publicKey, undefined, "no passkey, no options");
  assert.equal(client.signedIn, false, "not signed in by the first step");
  assert.equal(storedTokens(storage), null);
  assert.deepEqual(events, []);

  const { sessionId } = await client.completeMfaLogin(e.mfaToken, { code: totp(secret, step) });
  assert.equal(client.signedIn, true);
  assert.equal(client.session.sessionId, sessionId);
  assert.equal(client.session.tokenType, "Bearer");
  assert.equal(storedTokens(storage).sessionId, sessionId, "stored");
  assert.deepEqual(events, [["tokens", sessionId]]);
  const { claims } = decodeJwt(client.session.accessToken);
  assert.deepEqual(claims.amr, ["pwd", "otp", "mfa"]);
  assert.equal(claims.acr, "aal2");
  assert.equal(await secureStatus(client), 200);

  // The session is an ordinary one: it refreshes (and keeps its amr), and is listed with the login's device.
  await client.refresh();
  assert.deepEqual(decodeJwt(client.session.accessToken).claims.amr, ["pwd", "otp", "mfa"]);
  assert.deepEqual((await client.sessions()).map((s) => [s.id, s.device]), [[sessionId, "laptop"]]);

  // The mfa_token was spent: using it again is invalid_grant, and the session held is untouched.
  await assert.rejects(client.completeMfaLogin(e.mfaToken, { code: totp(secret, step) }), (x) => x instanceof AuthdError && x.code === "invalid_grant");
  assert.equal(client.session.sessionId, sessionId);
  assert.equal(await secureStatus(client), 200);
  assert.deepEqual(events, [["tokens", sessionId], ["tokens", sessionId]]);
  client.close();
});

test("a wrong code is invalid_grant and leaves the client signed out; the right code then still works", async () => {
  const { client, storage, events, email, secret, step } = await totpUser();
  const e = await mfaRequired(client, email);
  assert.ok(e instanceof MfaRequiredError);

  await assert.rejects(client.completeMfaLogin(e.mfaToken, { code: wrongCode(secret, step) }), (x) => {
    assert.ok(x instanceof AuthdError && !(x instanceof MfaRequiredError));
    assert.deepEqual([x.status, x.code, x.transient], [400, "invalid_grant", false]);
    return true;
  });
  assert.equal(client.signedIn, false);
  assert.equal(client.session, null);
  assert.equal(storedTokens(storage), null);
  assert.deepEqual(events, []);
  await assert.rejects(client.fetch("/api/secure"), (x) => x.code === "signed_out");

  // An unknown mfa_token is refused the same way.
  await assert.rejects(client.completeMfaLogin("x".repeat(43), { code: totp(secret, step) }), (x) => x.code === "invalid_grant");
  assert.equal(client.signedIn, false);

  await client.completeMfaLogin(e.mfaToken, { code: totp(secret, step) });
  assert.equal(await secureStatus(client), 200);
  client.close();
});

test("a recovery code completes the second step, once", async () => {
  const { client, email, recoveryCodes } = await totpUser();
  assert.equal(recoveryCodes.length, 10);
  const first = await mfaRequired(client, email);
  const { sessionId } = await client.completeMfaLogin(first.mfaToken, { recoveryCode: recoveryCodes[0] });
  assert.equal(await secureStatus(client), 200);
  assert.deepEqual(decodeJwt(client.session.accessToken).claims.amr, ["pwd", "otp", "mfa"]);

  const other = new AuthdClient({ baseUrl: w.proxy.url, autoRefresh: false });
  const second = await mfaRequired(other, email);
  assert.notEqual(second.mfaToken, first.mfaToken);
  await assert.rejects(other.completeMfaLogin(second.mfaToken, { recoveryCode: recoveryCodes[0] }), (x) => x.code === "invalid_grant");
  assert.equal(other.signedIn, false);
  // Typed as people do: lower case, without dashes.
  await other.completeMfaLogin(second.mfaToken, { recoveryCode: recoveryCodes[1].replace(/-/g, "").toLowerCase() });
  assert.notEqual(other.session.sessionId, sessionId);
  assert.equal(await secureStatus(other), 200);
  client.close();
  other.close();
});

test("completeMfaLogin with dpop: true binds the session to the client's key (token_type DPoP)", async () => {
  const keys = new MemoryKeyStore();
  const { client, storage, email, secret, step } = await totpUser({ dpop: keys });
  const e = await mfaRequired(client, email);
  assert.ok(e instanceof MfaRequiredError);
  w.proxy.resetCounts();

  await client.completeMfaLogin(e.mfaToken, { code: totp(secret, step) });
  const [mfa] = requestsTo("/api/login/mfa");
  assert.equal(mfa.status, 200);
  const p = verifyProof(mfa.proof);
  assert.deepEqual([p.claims.htm, p.claims.htu, p.claims.ath], ["POST", `${w.proxy.url}/api/login/mfa`, undefined]);

  assert.equal(client.session.tokenType, "DPoP");
  const jkt = await storedThumbprint(keys);
  const { claims } = decodeJwt(client.session.accessToken);
  assert.equal(claims.cnf.jkt, jkt);
  assert.equal(storedTokens(storage).jkt, jkt);
  assert.deepEqual(claims.amr, ["pwd", "otp", "mfa"]);
  assert.equal(await secureStatus(client), 200);
  assert.equal(requestsTo("/api/secure").at(-1).authorization, `DPoP ${client.session.accessToken}`);

  // Bound for good: the refresh token is useless without a proof.
  const stolen = await fetch(`${w.world.url}/api/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: storedTokens(storage).refreshToken }),
  });
  assert.equal(stolen.status, 400);
  assert.equal((await stolen.json()).error, "invalid_dpop_proof");
  await client.refresh();
  assert.equal(client.session.tokenType, "DPoP");
  client.close();
});
