// Sign-in with a provider against the real authd and a provider on
// loopback (helpers/provider.mjs): a native ID token with createNonce(),
// the web flow with signInWithRedirect() and exchangeCode() (PKCE verifier
// kept in the client's storage), and identities listed, linked, unlinked.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { AuthdClient, AuthdError, MemoryStorage, createNonce } from "../dist/index.js";
import { decodeJwt } from "./helpers/dpop.mjs";
import { hashed, startProvider } from "./helpers/provider.mjs";
import { signedIn } from "./helpers/session.mjs";
import { startWorld } from "./helpers/world.mjs";

const APP = "com.example.app";
const WEB = "https://app.example.com/auth/callback";
let provider;
let world;

before(async () => {
  provider = await startProvider();
  world = await startWorld({
    env: {
      AUTHD_OIDC_PROVIDERS: "corp",
      AUTHD_OIDC_CORP_ISSUER: provider.issuer,
      AUTHD_OIDC_CORP_CLIENT_IDS: APP,
      AUTHD_OIDC_REDIRECT_URLS: WEB,
      AUTHD_PUBLIC_URL: "https://auth.example.com",
    },
  });
});
after(async () => {
  await world?.stop();
  await provider?.stop();
});

const client = () => new AuthdClient({ baseUrl: world.url, storage: new MemoryStorage(), autoRefresh: false });
const sub = () => `user-${crypto.randomUUID()}`;

test("createNonce gives a nonce and the lowercase hex SHA-256 a sign-in sheet takes", async () => {
  const { nonce, hashedNonce } = await createNonce();
  assert.match(nonce, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(hashedNonce, hashed(nonce));
  assert.notEqual((await createNonce()).nonce, nonce);
});

test("signInWithIdToken signs in with the sheet's ID token; the nonce works once", async () => {
  const c = client();
  const { nonce, hashedNonce } = await createNonce();
  const idToken = provider.idToken(APP, hashedNonce, { sub: sub(), email: `${crypto.randomUUID()}@example.com`, email_verified: true });
  const { sessionId } = await c.signInWithIdToken({ provider: "corp", idToken, nonce, device: "iPhone" });
  assert.equal(c.session.sessionId, sessionId);
  assert.deepEqual(decodeJwt(await c.getAccessToken()).claims.amr, ["fed"]);
  const identities = await c.identities();
  assert.equal(identities.length, 1);
  assert.equal(identities[0].provider, "corp");

  const again = client();
  await assert.rejects(again.signInWithIdToken({ provider: "corp", idToken, nonce }), (e) => e instanceof AuthdError && e.code === "invalid_grant");
  assert.equal(again.signedIn, false);
});

test("the web flow: signInWithRedirect sends to authd, exchangeCode trades the code with the kept verifier", async () => {
  const storage = new MemoryStorage();
  const c = new AuthdClient({ baseUrl: world.url, storage, autoRefresh: false });
  provider.signsIn({ sub: sub(), email: `${crypto.randomUUID()}@example.com`, email_verified: true });
  const url = await c.signInWithRedirect({ provider: "corp", redirectTo: WEB, navigate: false });
  const sent = new URL(url).searchParams;
  assert.equal(sent.get("code_challenge_method"), "S256");
  assert.ok(storage.getItem("authd.pkce"), "the verifier is kept");

  // The browser's part: authd → provider (consent at once) → authd's callback → the app.
  const toProvider = await fetch(url, { redirect: "manual" });
  assert.equal(toProvider.status, 302);
  const toCallback = await fetch(toProvider.headers.get("location"), { redirect: "manual" });
  const callback = new URL(toCallback.headers.get("location"));
  const toApp = await fetch(`${world.url}${callback.pathname}${callback.search}`, { redirect: "manual" });
  const back = toApp.headers.get("location");
  assert.ok(back.startsWith(`${WEB}?code=`), back);

  await c.exchangeCode(back);
  assert.equal(c.signedIn, true);
  assert.equal(storage.getItem("authd.pkce"), null, "the verifier is spent");
  assert.deepEqual(decodeJwt(await c.getAccessToken()).claims.amr, ["fed"]);
  // The same URL again: nothing pending here any more.
  await assert.rejects(client().exchangeCode(back), (e) => e instanceof AuthdError && e.code === "invalid_request");
});

test("exchangeCode throws the error the web flow came back with", async () => {
  const c = client();
  await c.signInWithRedirect({ provider: "corp", redirectTo: WEB, navigate: false });
  await assert.rejects(c.exchangeCode(`${WEB}?error=access_denied`), (e) => e instanceof AuthdError && e.code === "access_denied");
  assert.equal(c.signedIn, false);
});

test("a password user links a provider, signs in with it, and unlinks it", async () => {
  const { client: c } = await signedIn(world.url, world.url);
  const { nonce, hashedNonce } = await createNonce();
  const who = sub();
  const linked = await c.linkIdentity({ provider: "corp", idToken: provider.idToken(APP, hashedNonce, { sub: who }), nonce });
  assert.equal(linked.subject, who);

  const viaProvider = client();
  const second = await createNonce();
  await viaProvider.signInWithIdToken({ provider: "corp", idToken: provider.idToken(APP, second.hashedNonce, { sub: who }), nonce: second.nonce });
  assert.equal(decodeJwt(await viaProvider.getAccessToken()).claims.sub, decodeJwt(await c.getAccessToken()).claims.sub);

  await c.unlinkIdentity(linked.id);
  assert.deepEqual(await c.identities(), []);
});

test("a provider's only identity is the last way in: unlinking it is refused", async () => {
  const c = client();
  const { nonce, hashedNonce } = await createNonce();
  await c.signInWithIdToken({ provider: "corp", idToken: provider.idToken(APP, hashedNonce, { sub: sub() }), nonce });
  const [only] = await c.identities();
  await assert.rejects(c.unlinkIdentity(only.id), (e) => e instanceof AuthdError && e.code === "last_sign_in_method" && e.status === 409);
});
