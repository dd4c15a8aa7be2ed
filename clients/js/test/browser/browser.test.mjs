// Five tabs of one browser (shared localStorage and BroadcastChannel), one
// login, then every tab needs a refresh at once: nobody is signed out, all
// tabs end on the same tokens, at most one refresh request per tab.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { noChromium, servePage, stopPage } from "../helpers/browser.mjs";
import { sleep } from "../helpers/session.mjs";
import { PASSWORD, registerUser } from "../helpers/world.mjs";

const TABS = 5;

const PAGE = `<!doctype html><meta charset="utf-8"><title>authd client test</title>
<script type="module">
  import { AuthdClient, localStorageStorage } from "/client.js";
  const client = new AuthdClient({ baseUrl: "__AUTHD_URL__", storage: localStorageStorage(), autoRefresh: false });
  window.signedOut = [];
  client.on("signedOut", (e) => window.signedOut.push(e));
  window.client = client;
  window.burst = async (n) => {
    const res = await Promise.all(Array.from({ length: n }, () => client.fetch("/api/secure")));
    return res.map((r) => r.status);
  };
  window.state = async () => ({
    signedIn: client.signedIn,
    sessionId: client.session?.sessionId ?? null,
    accessToken: client.session?.accessToken ?? null,
    stored: JSON.parse(localStorage.getItem("authd.tokens")),
    signedOut: window.signedOut,
  });
  await client.ready;
  window.ready = true;
</script>`;

let world, proxy, browser, site;
before(async () => {
  if (noChromium) return;
  ({ world, proxy, browser, site } = await servePage(PAGE));
});
after(() => stopPage({ world, proxy, browser, site }));

test(`${TABS} tabs refresh at once: no sign-out, one set of tokens`, { skip: noChromium }, async (t) => {
  const context = await browser.newContext();
  const tabs = [];
  for (let i = 0; i < TABS; i++) {
    const page = await context.newPage();
    page.on("pageerror", (e) => t.diagnostic(`tab ${i}: ${e}`));
    await page.goto(`${site.url}/`);
    await page.waitForFunction(() => window.ready === true);
    tabs.push(page);
  }

  const email = await registerUser(world.url, "browser");
  await tabs[0].evaluate(([e, p]) => window.client.login(e, p), [email, PASSWORD]);
  // The other tabs learn of the login over BroadcastChannel.
  for (const tab of tabs) await tab.waitForFunction(() => window.client.signedIn);

  const counts = [];
  for (let round = 0; round < 3; round++) {
    const expiresAt = await tabs[0].evaluate(() => window.client.session.accessTokenExpiresAt);
    await sleep(Math.max(0, expiresAt - Date.now()) + 1100);
    proxy.resetCounts();

    const statuses = await Promise.all(tabs.map((tab) => tab.evaluate(() => window.burst(10))));
    assert.deepEqual(statuses.flat(), Array(TABS * 10).fill(200), `round ${round}: every call succeeded`);

    const refreshes = proxy.count("/api/token");
    counts.push(refreshes);
    assert.ok(refreshes >= 1 && refreshes <= TABS, `round ${round}: ${refreshes} refresh requests for ${TABS} tabs`);
    const ex = proxy.state.tokenExchanges;
    assert.ok(ex.every((e) => e.status === 200), "no refresh was refused");
    assert.equal(new Set(ex.map((e) => e.presented)).size, 1, "every tab spent the same token");
    assert.equal(new Set(ex.map((e) => e.issued)).size, 1, "and got the same successor");

    // Tabs whose answers crossed settle on one set of tokens, over BroadcastChannel.
    let states;
    for (let i = 0; i < 50; i++) {
      states = await Promise.all(tabs.map((tab) => tab.evaluate(() => window.state())));
      if (states.every((s) => s.accessToken === states[0].accessToken)) break;
      await sleep(20);
    }
    const issued = ex[0].issued;
    for (const s of states) {
      assert.equal(s.signedIn, true);
      assert.deepEqual(s.signedOut, []);
      assert.equal(s.sessionId, ex[0].sessionId ?? s.stored.sessionId);
      assert.equal(s.stored.refreshToken, issued, "storage holds the successor");
      assert.equal(s.accessToken, states[0].accessToken, "every tab holds the same tokens");
    }
    // The access token every tab holds came with that successor.
    const accepted = await tabs[0].evaluate(() => window.burst(1));
    assert.deepEqual(accepted, [200]);
  }
  t.diagnostic(`refresh requests per round for ${TABS} tabs (10 calls each): ${counts.join(", ")}`);
  console.log(`browser: refresh requests per round for ${TABS} tabs: ${counts.join(", ")}`);

  // Logging out in one tab signs every tab out, once each.
  await tabs[2].evaluate(() => window.client.logout());
  for (const tab of tabs) await tab.waitForFunction(() => !window.client.signedIn);
  const ends = await Promise.all(tabs.map((tab) => tab.evaluate(() => window.signedOut.length)));
  assert.deepEqual(ends, Array(TABS).fill(1));
  await context.close();
});
