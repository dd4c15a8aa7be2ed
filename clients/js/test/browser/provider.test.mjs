// The web flow in Chromium, end to end: the page calls signInWithRedirect(),
// the browser follows authd's redirect to the provider (helpers/provider.mjs,
// consent at once), the provider's back to authd's callback, and authd's to
// the page with its code; the page calls exchangeCode(location.href) with
// the verifier it kept in localStorage across the navigation.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { noChromium, servePage, stopPage } from "../helpers/browser.mjs";
import { startProvider } from "../helpers/provider.mjs";
import { WEB_FLOW_PAGE as PAGE } from "../helpers/webflow.mjs";
import { freePort } from "../helpers/world.mjs";

let provider, served, port;
before(async () => {
  if (noChromium) return;
  provider = await startProvider();
  // authd (behind the proxy) on one origin, the app's page on another.
  const [port, sitePort] = [await freePort(), await freePort()];
  const origin = `http://127.0.0.1:${port}`;
  served = await servePage(PAGE, {
    port,
    sitePort,
    env: {
      AUTHD_OIDC_PROVIDERS: "corp",
      AUTHD_OIDC_CORP_ISSUER: provider.issuer,
      AUTHD_OIDC_CORP_CLIENT_IDS: "web-client",
      AUTHD_OIDC_REDIRECT_URLS: `http://127.0.0.1:${sitePort}/`,
      AUTHD_PUBLIC_URL: origin,
    },
  });
});
after(async () => {
  await stopPage(served ?? {});
  await provider?.stop();
});

test("signInWithRedirect and exchangeCode sign a browser in through the provider's page", { skip: noChromium }, async (t) => {
  const { site, browser } = served;
  provider.signsIn({ sub: `user-${crypto.randomUUID()}`, email: `${crypto.randomUUID()}@example.com`, email_verified: true });
  const page = await (await browser.newContext()).newPage();
  page.on("pageerror", (e) => t.diagnostic(`page: ${e}`));
  await page.goto(`${site.url}/`);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate((redirectTo) => window.client.signInWithRedirect({ provider: "corp", redirectTo }), `${site.url}/`);
  await page.waitForFunction(() => window.result !== undefined, null, { timeout: 15_000 });
  const result = await page.evaluate(() => window.result);
  assert.equal(result.signedIn, true, JSON.stringify(result));
  assert.deepEqual(result.amr, ["fed"]);
  assert.equal(result.identities[0].provider, "corp");
  assert.ok(page.url().startsWith(`${site.url}/?code=`), page.url());
  assert.equal(await page.evaluate(() => localStorage.getItem("authd.pkce")), null, "the verifier is spent");
  assert.equal(provider.state.tokenRequests, 1, "authd exchanged the provider's code once");
});
