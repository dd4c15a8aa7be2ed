// The account helpers against the real authd, with its mail caught by a
// real SMTP server (helpers/smtp.mjs): me(), the session's userId and
// claims, email verification and its resend (with the session's token and
// by address), a forgotten password and its reset, a password change,
// TOTP enrolment and the MFA login that follows, and account deletion.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { AuthdClient, AuthdError, MemoryKeyStore, MemoryStorage, MfaRequiredError } from "../dist/index.js";
import { decodeJwt } from "./helpers/dpop.mjs";
import { freshStep, totp, wrongCode } from "./helpers/mfa.mjs";
import { startProxy } from "./helpers/proxy.mjs";
import { secureStatus, storedTokens } from "./helpers/session.mjs";
import { linkToken, startSmtpCatcher } from "./helpers/smtp.mjs";
import { PASSWORD, registerUser, startWorld } from "./helpers/world.mjs";

const NEW_PASSWORD = "a new password, long enough 2";
const VERIFY = "myapp://verify";
const RESET = "myapp://reset";

let smtp, world, proxy;
before(async () => {
  smtp = await startSmtpCatcher();
  world = await startWorld({
    env: {
      AUTHD_SMTP_URL: smtp.url,
      AUTHD_LINK_VERIFY: `${VERIFY}?token={token}`,
      AUTHD_LINK_RESET: `${RESET}?token={token}`,
      AUTHD_MAIL_MAX_PER_IP: "1000",
    },
  });
  proxy = await startProxy(world.url);
});
after(async () => {
  await proxy?.stop();
  await world?.stop();
  await smtp?.stop();
});

let counter = 0;
const newEmail = () => `account-${process.pid}-${Date.now()}-${counter++}@example.com`;

/** A client through the proxy, memory storage, no timers; `events` collects tokens and signedOut. */
function client(options = {}) {
  const storage = options.storage ?? new MemoryStorage();
  const c = new AuthdClient({ baseUrl: proxy.url, storage, autoRefresh: false, ...options });
  const events = [];
  c.on("tokens", (e) => events.push(["tokens", e.sessionId]));
  c.on("signedOut", (e) => events.push(["signedOut", e.reason]));
  return Object.assign(c, { storage, events });
}

/** The mailed link's token: the first such mail to `email` from `since` on. */
async function mailedToken(email, prefix, since = 0) {
  return linkToken(await smtp.waitFor(email, new RegExp(`${prefix}\\?token=`), { since }), prefix);
}

const requestsTo = (path) => proxy.state.requests.filter((r) => r.path === path);
const code = (c) => (e) => e instanceof AuthdError && e.code === c;

test("register() answers email_verified; the mailed token verifies the address; me() and the session's claims say so", async () => {
  const c = client();
  const email = newEmail();
  const user = await c.register(email, PASSWORD);
  assert.deepEqual(Object.keys(user).sort(), ["created_at", "email", "email_verified", "id"]);
  assert.equal(user.email, email);
  assert.equal(user.email_verified, false);
  assert.equal(c.signedIn, false, "register does not sign in");

  const { sessionId } = await c.login(email, PASSWORD, "phone");
  // userId and claims: the access token's payload, as the test's own decoding (Buffer) reads it.
  const { claims } = decodeJwt(c.session.accessToken);
  assert.equal(c.session.userId, user.id);
  assert.deepEqual(c.session.claims, claims);
  assert.equal(c.session.claims.sub, user.id);
  assert.equal(c.session.claims.sid, sessionId);
  assert.deepEqual(c.session.claims.amr, ["pwd"]);
  assert.equal(c.session.claims.acr, "aal1");
  assert.equal(c.session.claims.email_verified, false);
  assert.equal(typeof c.session.claims.exp, "number");

  const [listed] = await c.sessions();
  assert.deepEqual([listed.id, listed.current, listed.dpop_bound], [sessionId, true, false]);

  const me = await c.me();
  assert.deepEqual(me, { id: user.id, email, created_at: user.created_at, email_verified: false, providers: [] });
  assert.equal(requestsTo("/api/me").at(-1).authorization, `Bearer ${c.session.accessToken}`);

  // The link mailed at registration, as the app's page or deep link reads it; no session needed.
  const token = await mailedToken(email, VERIFY);
  const other = client();
  await other.verifyEmail(token);
  assert.equal(other.signedIn, false);
  assert.equal((await c.me()).email_verified, true);
  assert.equal(c.session.claims.email_verified, false, "the access token says what it said when issued");
  await c.refresh();
  assert.equal(c.session.claims.email_verified, true, "from the next refresh on");
  assert.equal(c.session.claims.sid, sessionId);

  // Used once.
  await assert.rejects(other.verifyEmail(token), (e) => code("invalid_grant")(e) && e.status === 400);
  await assert.rejects(other.me(), code("signed_out"));
  c.close();
  other.close();
});

test("resendVerification(): with the session's token a new link replaces the old; then already_verified", async () => {
  const c = client();
  const email = newEmail();
  await c.register(email, PASSWORD);
  const first = await mailedToken(email, VERIFY);
  await c.login(email, PASSWORD);

  const since = smtp.messages.length;
  await c.resendVerification();
  const sent = requestsTo("/api/email/verify/resend").at(-1);
  assert.equal(sent.status, 202);
  assert.equal(sent.authorization, `Bearer ${c.session.accessToken}`, "sent with the session's access token");
  const second = await mailedToken(email, VERIFY, since);
  assert.notEqual(second, first);

  await assert.rejects(c.verifyEmail(first), code("invalid_grant"), "the older link stops working");
  await c.verifyEmail(second);
  assert.equal((await c.me()).email_verified, true);
  await assert.rejects(c.resendVerification(), (e) => code("already_verified")(e) && e.status === 409);
  c.close();
});

test("resendVerification(email): by address, without a session; the same answer for an unknown address", async () => {
  const email = newEmail();
  await client().register(email, PASSWORD);
  await mailedToken(email, VERIFY); // the registration's link, which the new one replaces
  const c = client();
  const since = smtp.messages.length;
  await c.resendVerification(email);
  const sent = requestsTo("/api/email/verify/resend").at(-1);
  assert.deepEqual([sent.status, sent.authorization ?? null], [202, null], "no session, no Authorization");
  const token = await mailedToken(email, VERIFY, since);
  await c.verifyEmail(token);

  await c.resendVerification(newEmail()); // no account: 202 all the same
  assert.equal(requestsTo("/api/email/verify/resend").at(-1).status, 202);
  await c.login(email, PASSWORD);
  assert.equal((await c.me()).email_verified, true);
  assert.equal(c.session.claims.email_verified, true);
  c.close();
});

test("forgotPassword() and resetPassword(): the mailed token sets the password, ends the user's sessions, verifies the address", async () => {
  const email = await registerUser(world.url, "forgot");
  const held = client();
  await held.login(email, PASSWORD);

  const c = client();
  const since = smtp.messages.length;
  await c.forgotPassword(email);
  assert.equal(requestsTo("/api/password/forgot").at(-1).status, 202);
  const token = await mailedToken(email, RESET, since);
  await c.resetPassword(token, NEW_PASSWORD);
  assert.equal(c.signedIn, false, "a reset does not sign in");

  // The session held elsewhere is over: signed out at its next refresh.
  await assert.rejects(held.refresh(), code("signed_out"));
  assert.deepEqual(held.events.filter(([k]) => k === "signedOut"), [["signedOut", "invalid"]]);

  await assert.rejects(c.resetPassword(token, "yet another password 3"), code("invalid_grant"), "the token works once");
  await assert.rejects(c.login(email, PASSWORD), code("invalid_grant"));
  await c.login(email, NEW_PASSWORD);
  assert.equal((await c.me()).email_verified, true, "the mail reached its owner");

  await c.forgotPassword(newEmail()); // no account: the same 202
  assert.equal(requestsTo("/api/password/forgot").at(-1).status, 202);
  held.close();
  c.close();
});

test("changePassword(): this session stays, the user's others end; a wrong current password changes nothing", async () => {
  const email = await registerUser(world.url, "change");
  const c = client();
  const other = client();
  await c.login(email, PASSWORD);
  await other.login(email, PASSWORD);

  await assert.rejects(c.changePassword("not the password", NEW_PASSWORD), (e) => code("invalid_grant")(e) && e.status === 400);
  await other.refresh();

  await c.changePassword(PASSWORD, NEW_PASSWORD);
  assert.equal(requestsTo("/api/password").at(-1).status, 204);
  await c.refresh();
  assert.equal(await secureStatus(c), 200);
  await assert.rejects(other.refresh(), code("signed_out"));
  assert.deepEqual(other.events.at(-1), ["signedOut", "invalid"]);

  const fresh = client();
  await assert.rejects(fresh.login(email, PASSWORD), code("invalid_grant"));
  await fresh.login(email, NEW_PASSWORD);
  c.close();
  other.close();
  fresh.close();
});

test("enrolTotp() and confirmTotp() turn TOTP on; login then asks for it (completeMfaLogin); disableTotp() with a recovery code", async () => {
  const email = await registerUser(world.url, "totp");
  const c = client();
  await c.login(email, PASSWORD);

  const { secret, otpauth_uri } = await c.enrolTotp();
  assert.match(secret, /^[A-Z2-7]{32}$/);
  assert.match(otpauth_uri, /^otpauth:\/\/totp\//);
  assert.ok(otpauth_uri.includes(`secret=${secret}`), otpauth_uri);
  const step = await freshStep();
  await assert.rejects(c.confirmTotp(wrongCode(secret, step)), code("invalid_grant"));
  const recoveryCodes = await c.confirmTotp(totp(secret, step - 1));
  assert.equal(recoveryCodes.length, 10);
  for (const r of recoveryCodes) assert.match(r, /^[a-z0-9]{4}(-[a-z0-9]{4}){3}$/i);
  await assert.rejects(c.enrolTotp(), (e) => code("already_enrolled")(e) && e.status === 409);
  assert.equal(await secureStatus(c), 200, "the session that turned it on stays");

  // The second step of a login, with the code of the current step.
  const m = client();
  let mfa;
  await assert.rejects(m.login(email, PASSWORD), (e) => ((mfa = e), e instanceof MfaRequiredError));
  assert.deepEqual(mfa.factors, ["totp"]);
  await m.completeMfaLogin(mfa.mfaToken, { code: totp(secret, step) });
  assert.deepEqual(m.session.claims.amr, ["pwd", "otp", "mfa"]);
  assert.equal(m.session.claims.acr, "aal2");

  // Turning it off takes a session that used it (step-up) and a code or a recovery code.
  await assert.rejects(c.disableTotp({ recoveryCode: recoveryCodes[0] }), (e) => code("insufficient_user_authentication")(e) && e.status === 403);
  await m.disableTotp({ recoveryCode: recoveryCodes[0] });
  assert.equal(requestsTo("/api/mfa/totp").at(-1).status, 204);
  const plain = client();
  await plain.login(email, PASSWORD);
  assert.deepEqual(plain.session.claims.amr, ["pwd"], "no second step any more");
  for (const x of [c, m, plain]) x.close();
});

test("deleteAccount(): a wrong password changes nothing; the right one deletes the account and signs out", async () => {
  const email = await registerUser(world.url, "delete");
  const c = client();
  const { sessionId } = await c.login(email, PASSWORD);

  await assert.rejects(c.deleteAccount("not the password"), code("invalid_grant"));
  assert.equal(c.signedIn, true, "still signed in");
  assert.equal(await secureStatus(c), 200);

  await c.deleteAccount(PASSWORD);
  assert.equal(requestsTo("/api/account").at(-1).status, 204);
  assert.equal(c.signedIn, false);
  assert.equal(storedTokens(c.storage), null);
  assert.deepEqual(c.events, [["tokens", sessionId], ["signedOut", "logout"]]);
  await assert.rejects(c.login(email, PASSWORD), code("invalid_grant"), "the account is gone");
  const again = await c.register(email, PASSWORD);
  assert.equal(again.email_verified, false, "the address registers again, as a new account");
  c.close();
});

test("the helpers with a DPoP-bound session send DPoP and a proof", async () => {
  const email = newEmail();
  const c = client({ dpop: new MemoryKeyStore() });
  await c.register(email, PASSWORD);
  await c.login(email, PASSWORD);
  assert.equal(c.session.tokenType, "DPoP");
  assert.equal(c.session.claims.cnf.jkt, storedTokens(c.storage).jkt);
  assert.equal((await c.me()).email, email);
  const me = requestsTo("/api/me").at(-1);
  assert.equal(me.authorization, `DPoP ${c.session.accessToken}`);
  assert.ok(me.proof, "with a proof");
  const [s] = await c.sessions();
  assert.equal(s.dpop_bound, true);
  await c.resendVerification();
  assert.equal(requestsTo("/api/email/verify/resend").at(-1).status, 202);
  c.close();
});
