// DPoP in Chromium: the key pair lives in IndexedDB, non-extractable, and
// survives a reload (the session stored in localStorage stays usable, so it
// must be the same key); tabs share it; two stores that make a key at once
// end up with one.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { noChromium, servePage, stopPage } from "../helpers/browser.mjs";
import { decodeJwt, thumbprint, verifyProof } from "../helpers/dpop.mjs";
import { sleep } from "../helpers/session.mjs";
import { PASSWORD, registerUser } from "../helpers/world.mjs";


const PAGE = `<!doctype html><meta charset="utf-8"><title>authd client DPoP test</title>
<script type="module">
  import { AuthdClient, indexedDbKeyStore, localStorageStorage } from "/client.js";
  const client = new AuthdClient({ baseUrl: "__AUTHD_URL__", storage: localStorageStorage(), autoRefresh: false, dpop: true });
  window.client = client;
  window.burst = async (n) => {
    const res = await Promise.all(Array.from({ length: n }, () => client.fetch("/api/secure")));
    return res.map((r) => r.status);
  };
  // What IndexedDB holds under the client's key (storageKey "authd").
  window.keyInfo = async () => {
    const pair = await indexedDbKeyStore().load();
    if (!pair) return null;
    let exportError = null;
    try {
      await crypto.subtle.exportKey("pkcs8", pair.privateKey);
    } catch (e) {
      exportError = e.name;
    }
    return { jwk: await crypto.subtle.exportKey("jwk", pair.publicKey), extractable: pair.privateKey.extractable, exportError };
  };
  // Two stores (two tabs) that each made a key and store it at once.
  window.race = async () => {
    const make = () => crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
    const [a, b] = await Promise.all([make(), make()]);
    const got = await Promise.all([indexedDbKeyStore("race").saveIfAbsent(a), indexedDbKeyStore("race").saveIfAbsent(b)]);
    const x = async (pair) => (await crypto.subtle.exportKey("jwk", pair.publicKey)).x;
    const stored = await indexedDbKeyStore("race").load();
    return { a: await x(a), b: await x(b), got: await Promise.all(got.map(x)), stored: await x(stored) };
  };
  await client.ready;
  window.ready = true;
</script>`;

let world, proxy, browser, site;
before(async () => {
  if (noChromium) return;
  ({ world, proxy, browser, site } = await servePage(PAGE));
});
after(() => stopPage({ world, proxy, browser, site }));

async function open(context, t) {
  const page = await context.newPage();
  page.on("pageerror", (e) => t.diagnostic(`page: ${e}`));
  await page.goto(`${site.url}/`);
  await page.waitForFunction(() => window.ready === true);
  return page;
}

const proofThumbprints = (path) =>
  proxy.state.requests.filter((r) => r.path === path && r.proof).map((r) => thumbprint(verifyProof(r.proof).header.jwk));

test("the DPoP key is non-extractable, kept in IndexedDB across a reload, and shared by tabs", { skip: noChromium }, async (t) => {
  const context = await browser.newContext();
  const page = await open(context, t);
  assert.equal(await page.evaluate(() => window.keyInfo()), null, "no key before the first proof");

  const email = await registerUser(world.url, "browser-dpop");
  await page.evaluate(([e, p]) => window.client.login(e, p), [email, PASSWORD]);
  const session = await page.evaluate(() => window.client.session);
  assert.equal(session.tokenType, "DPoP");
  const key = await page.evaluate(() => window.keyInfo());
  assert.equal(key.extractable, false);
  assert.equal(key.exportError, "InvalidAccessError", "pkcs8 export refused");
  const jkt = thumbprint(key.jwk);
  assert.equal(decodeJwt(session.accessToken).claims.cnf.jkt, jkt, "the session is bound to the stored key");
  assert.deepEqual(await page.evaluate(() => window.burst(1)), [200]);

  // Reload: a new client, the same key from IndexedDB, and the session
  // (bound to that key) still works: calls and a refresh are accepted.
  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  assert.deepEqual((await page.evaluate(() => window.keyInfo())).jwk, key.jwk);
  assert.equal(await page.evaluate(() => window.client.signedIn), true);
  proxy.resetCounts();
  assert.deepEqual(await page.evaluate(() => window.burst(2)), [200, 200]);
  await page.evaluate(() => window.client.refresh());
  assert.deepEqual(proxy.state.tokenExchanges.map((e) => e.status), [200]);
  const refreshed = await page.evaluate(() => window.client.session);
  assert.equal(decodeJwt(refreshed.accessToken).claims.cnf.jkt, jkt);
  assert.deepEqual(proofThumbprints("/api/token"), [jkt]);

  // Three tabs, one key: all need a refresh at once, none is signed out.
  const tabs = [page, await open(context, t), await open(context, t)];
  for (const tab of tabs) await tab.waitForFunction(() => window.client.signedIn);
  await sleep(Math.max(0, refreshed.accessTokenExpiresAt - Date.now()) + 1100);
  proxy.resetCounts();
  const statuses = await Promise.all(tabs.map((tab) => tab.evaluate(() => window.burst(5))));
  assert.deepEqual(statuses.flat(), Array(15).fill(200));
  assert.ok(proxy.state.tokenExchanges.every((e) => e.status === 200), "no refresh refused");
  assert.deepEqual([...new Set([...proofThumbprints("/api/token"), ...proofThumbprints("/api/secure")])], [jkt]);

  await tabs[1].evaluate(() => window.client.logout());
  for (const tab of tabs) await tab.waitForFunction(() => !window.client.signedIn);
  await context.close();
});

test("two tabs that make a key at once end up with one: the first stored", { skip: noChromium }, async (t) => {
  const context = await browser.newContext();
  const page = await open(context, t);
  const r = await page.evaluate(() => window.race());
  assert.notEqual(r.a, r.b, "two different keys were made");
  assert.ok([r.a, r.b].includes(r.stored));
  assert.deepEqual(r.got, [r.stored, r.stored], "both callers got the stored one");
  await context.close();
});
