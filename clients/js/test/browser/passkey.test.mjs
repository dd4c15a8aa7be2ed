// Passkeys in Chromium with a virtual authenticator (DevTools WebAuthn
// domain): a passkey registered by the page, then loginWithPasskey and a
// passkey as the second step of a password login, both through the real
// navigator.credentials; and the client's JSON of a real
// PublicKeyCredential equals the browser's own toJSON().
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { noChromium, servePage, stopPage } from "../helpers/browser.mjs";
import { decodeJwt, thumbprint, verifyProof } from "../helpers/dpop.mjs";
import { PASSWORD, freePort, registerUser } from "../helpers/world.mjs";

const PAGE = `<!doctype html><meta charset="utf-8"><title>authd client passkey test</title>
<script type="module">
  import { AuthdClient, MfaRequiredError, localStorageStorage, passkeyAssertion, passkeyCredentialJson } from "/client.js";
  const client = new AuthdClient({ baseUrl: "__AUTHD_URL__", storage: localStorageStorage(), autoRefresh: false, dpop: true });
  window.client = client;
  const post = (path, body) => client.fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  // Registration (the client has no helper for it): the browser's own JSON parsing and serialisation.
  window.register = async () => {
    const start = await (await post("/api/passkeys/register/start", { name: "virtual" })).json();
    const created = await navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(start.publicKey) });
    const res = await post("/api/passkeys/register/finish", { challenge_id: start.challenge_id, credential: created.toJSON() });
    return { status: res.status, body: await res.json() };
  };
  window.loginWithPasskey = async (email) => (await client.loginWithPasskey({ email, device: "browser" }), client.session);
  window.passwordThenPasskey = async (email, password) => {
    try {
      await client.login(email, password);
      return { error: "no mfa_required" };
    } catch (e) {
      if (!(e instanceof MfaRequiredError)) return { error: String(e) };
      await client.completeMfaLogin(e.mfaToken, { credential: await passkeyAssertion(e.publicKey) });
      return { factors: e.factors, session: client.session };
    }
  };
  // One real assertion, serialised by the client and by the browser (challenge from a passkey login start).
  window.compareJson = async (email) => {
    const start = await (await fetch("__AUTHD_URL__/api/login/passkey/start", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email }) })).json();
    let native;
    const ours = await passkeyAssertion(start.publicKey, { get: async (o) => (native = await navigator.credentials.get(o)) });
    return { ours, again: passkeyCredentialJson(native), browser: native.toJSON() };
  };
  await client.ready;
  window.ready = true;
</script>`;

let world, proxy, browser, site, origin;
before(async () => {
  if (noChromium) return;
  // A secure context (the page's site, on another origin than authd) whose
  // origin authd accepts for its relying party "localhost".
  const sitePort = await freePort();
  origin = `http://localhost:${sitePort}`;
  ({ world, proxy, browser, site } = await servePage(PAGE, { sitePort, env: { AUTHD_WEBAUTHN_RP_ID: "localhost", AUTHD_WEBAUTHN_ORIGINS: origin } }));
});
after(() => stopPage({ world, proxy, browser, site }));

/** A page at `origin` with a virtual platform authenticator that verifies its user. */
async function openWithAuthenticator(t) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (e) => t.diagnostic(`page: ${e}`));
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      ctap2Version: "ctap2_1",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => window.ready === true);
  return { context, page, cdp, authenticatorId };
}

test("a passkey in Chromium: loginWithPasskey and the second step through navigator.credentials, DPoP-bound", { skip: noChromium }, async (t) => {
  const { context, page, cdp, authenticatorId } = await openWithAuthenticator(t);
  const email = await registerUser(world.url, "browser-passkey");
  await page.evaluate(([e, p]) => window.client.login(e, p), [email, PASSWORD]);
  const reg = await page.evaluate(() => window.register());
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
  assert.equal(credentials.length, 1);
  await page.evaluate(() => window.client.logout());

  // A passkey alone.
  proxy.resetCounts();
  const s1 = await page.evaluate((e) => window.loginWithPasskey(e), email);
  const c1 = decodeJwt(s1.accessToken).claims;
  assert.deepEqual([c1.amr.at(-1), c1.acr, s1.tokenType], ["mfa", "aal2", "DPoP"]);
  assert.ok(["hwk", "swk"].includes(c1.amr[0]), String(c1.amr));
  const finish = proxy.state.requests.find((r) => r.path === "/api/login/passkey/finish");
  assert.equal(finish.status, 200);
  assert.equal(c1.cnf.jkt, thumbprint(verifyProof(finish.proof).header.jwk), "bound to the key of the proof at finish");

  // The password, then the passkey.
  await page.evaluate(() => window.client.logout());
  const r = await page.evaluate(([e, p]) => window.passwordThenPasskey(e, p), [email, PASSWORD]);
  assert.equal(r.error, undefined, r.error);
  assert.deepEqual(r.factors, ["webauthn"]);
  const c2 = decodeJwt(r.session.accessToken).claims;
  assert.deepEqual([c2.amr[0], c2.amr.at(-1), c2.acr, r.session.tokenType], ["pwd", "mfa", "aal2", "DPoP"]);
  assert.equal(await page.evaluate(async () => (await window.client.fetch("/api/secure")).status), 200);

  // The client's JSON of a real credential is what the browser's toJSON() says.
  const { ours, again, browser: native } = await page.evaluate((e) => window.compareJson(e), email);
  assert.deepEqual(again, ours);
  assert.deepEqual(ours.response, {
    authenticatorData: native.response.authenticatorData,
    clientDataJSON: native.response.clientDataJSON,
    signature: native.response.signature,
    userHandle: native.response.userHandle ?? null,
  });
  assert.deepEqual([ours.id, ours.rawId, ours.type, ours.clientExtensionResults], [native.id, native.rawId, native.type, native.clientExtensionResults]);
  assert.equal(ours.authenticatorAttachment, native.authenticatorAttachment ?? undefined);
  assert.doesNotMatch(JSON.stringify(ours), /[=+/]/);
  await context.close();
});
