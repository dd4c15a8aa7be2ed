// The web flow in Chromium against panva's oidc-provider (a certified
// OpenID provider, from npm): the page calls signInWithRedirect(), the
// browser goes through authd's redirect to the provider's own login and
// consent pages (filled in as a user would), the provider sends it back to
// authd's callback with a code that authd exchanges with its client secret
// and PKCE verifier, and authd sends it to the page with its own code,
// which the page trades with exchangeCode(location.href).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { noChromium, servePage, stopPage } from "../helpers/browser.mjs";
import { WEB_FLOW_PAGE } from "../helpers/webflow.mjs";
import { freePort } from "../helpers/world.mjs";

const CLIENT_ID = "authd-web";
const CLIENT_SECRET = "a-client-secret-the-provider-knows";

let provider, server, served;
before(async () => {
  if (noChromium) return;
  const { default: Provider } = await import("oidc-provider");
  const [providerPort, port, sitePort] = [await freePort(), await freePort(), await freePort()];
  const origin = `http://127.0.0.1:${port}`;
  const issuer = `http://127.0.0.1:${providerPort}`;
  provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${origin}/api/oauth/callback`],
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_post",
      },
    ],
    pkce: { required: () => true },
    claims: { openid: ["sub"], email: ["email", "email_verified"] },
    // The address in the ID token itself, as Apple and Google put it.
    conformIdTokenClaims: false,
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({ sub: id, email: `${id}@example.com`, email_verified: true }),
    }),
    features: { devInteractions: { enabled: true } },
  });
  await new Promise((resolve) => (server = provider.listen(providerPort, "127.0.0.1", resolve)));
  served = await servePage(WEB_FLOW_PAGE, {
    port,
    sitePort,
    env: {
      AUTHD_OIDC_PROVIDERS: "corp",
      AUTHD_OIDC_CORP_ISSUER: issuer,
      AUTHD_OIDC_CORP_CLIENT_IDS: CLIENT_ID,
      AUTHD_OIDC_CORP_CLIENT_SECRET: CLIENT_SECRET,
      AUTHD_OIDC_REDIRECT_URLS: `http://127.0.0.1:${sitePort}/`,
      AUTHD_PUBLIC_URL: origin,
    },
  });
});
after(async () => {
  await stopPage(served ?? {});
  await new Promise((resolve) => (server ? server.close(resolve) : resolve()));
});

test("the web flow through oidc-provider's login and consent pages signs the browser in", { skip: noChromium }, async (t) => {
  const { site, browser } = served;
  const page = await (await browser.newContext()).newPage();
  page.on("pageerror", (e) => t.diagnostic(`page: ${e}`));
  await page.goto(`${site.url}/`);
  await page.waitForFunction(() => window.ready === true);
  const login = `ada-${crypto.randomUUID().slice(0, 8)}`;
  await page.evaluate((redirectTo) => window.client.signInWithRedirect({ provider: "corp", redirectTo }), `${site.url}/`);

  // The provider's own pages: sign in, then consent.
  await page.waitForSelector("input[name=login]");
  await page.fill("input[name=login]", login);
  await page.fill("input[name=password]", "any password");
  await page.click("button[type=submit]");
  await page.waitForSelector("button[type=submit]");
  await page.click("button[type=submit]");

  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 15_000 });
  const result = await page.evaluate(() => window.result);
  assert.equal(result.signedIn, true, JSON.stringify(result));
  assert.deepEqual(result.amr, ["fed"]);
  assert.equal(result.identities.length, 1);
  assert.equal(result.identities[0].subject, login);
  assert.equal(result.identities[0].email, `${login}@example.com`);
});
