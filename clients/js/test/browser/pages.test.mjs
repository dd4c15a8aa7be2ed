// authd's own pages behind the mailed links, in Chromium: the link from a
// real mail opens a page, the person presses the button (or types the new
// password twice), and the page says what happened. The page's inline style
// is allowed by its hash, so the strict Content-Security-Policy refuses
// nothing. With AUTHD_SCREENSHOTS_DIR set, each page is saved there as PNG
// (docs/pages/ holds the ones the README shows).
import assert from "node:assert/strict";
import path from "node:path";
import { after, before, test } from "node:test";
import { chromiumPath, noChromium } from "../helpers/browser.mjs";
import { startSmtpCatcher } from "../helpers/smtp.mjs";
import { PASSWORD, registerUser, startWorld } from "../helpers/world.mjs";

const NEW_PASSWORD = "a new long passphrase";
const shots = process.env.AUTHD_SCREENSHOTS_DIR;

let catcher, world, browser;
before(async () => {
  if (noChromium) return;
  catcher = await startSmtpCatcher();
  world = await startWorld({ env: { AUTHD_SMTP_URL: catcher.url, AUTHD_PAGES_TITLE: "Acme Notes" } });
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
});
after(async () => {
  await browser?.close();
  await world?.stop();
  await catcher?.stop();
});

/** The whole link of the mail to `email` for `route`, as the mail reader shows it. */
async function mailedLink(email, route, since) {
  const pattern = new RegExp(`https?://[^\\s"<>]+?/${route}\\?token=[A-Za-z0-9_-]+`);
  const mail = await catcher.waitFor(email, pattern, { since });
  return mail.text.match(pattern)[0];
}

/** A tab that records what the Content-Security-Policy refused (console errors). */
async function tab(t) {
  const page = await (await browser.newContext({ viewport: { width: 520, height: 560 } })).newPage();
  const errors = [];
  page.on("console", (m) => m.type() === "error" && /Content.Security.Policy/i.test(m.text()) && errors.push(m.text()));
  page.on("pageerror", (e) => t.diagnostic(`page: ${e}`));
  return { page, errors };
}

async function shoot(page, name) {
  if (shots) await page.screenshot({ path: path.join(shots, `${name}.png`) });
}

async function verifiedPerMe(email, password) {
  const login = await fetch(`${world.url}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  assert.equal(login.status, 200, await login.clone().text());
  const { access_token } = await login.json();
  const me = await fetch(`${world.url}/api/me`, { headers: { authorization: `Bearer ${access_token}` } });
  return (await me.json()).email_verified;
}

test("the verification link opens a page; its button verifies the address", { skip: noChromium }, async (t) => {
  const email = await registerUser(world.url, "pages");
  const link = await mailedLink(email, "verify-email", 0);
  const { page, errors } = await tab(t);

  const opened = await page.goto(link);
  assert.equal(opened.status(), 200);
  assert.equal(await page.locator("h1").textContent(), "Verify your email address");
  assert.equal(await page.locator(".product").textContent(), "Acme Notes");
  // The inline style applies: its hash is in the policy.
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).maxWidth), "448px");
  await shoot(page, "verify-email");
  // Opening the link spent nothing (as a mail scanner's visit must not).
  assert.equal(await verifiedPerMe(email, PASSWORD), false);

  await page.getByRole("button", { name: "Verify my address" }).click();
  await page.waitForSelector("text=Email address verified");
  assert.equal(new URL(page.url()).search, "", "the token left the address bar for the form body");
  await shoot(page, "verify-email-done");
  assert.equal(await verifiedPerMe(email, PASSWORD), true);

  // Back and press again: the token is spent, and the page says what to do.
  await page.goto(link);
  await page.getByRole("button", { name: "Verify my address" }).click();
  await page.waitForSelector("text=This link does not work");
  assert.match(await page.locator("main").textContent(), /new verification mail/);
  assert.deepEqual(errors, [], "the policy refused nothing");
});

test("the reset link asks for the new password twice, then sets it", { skip: noChromium }, async (t) => {
  const email = await registerUser(world.url, "pages");
  const since = catcher.messages.length;
  const forgot = await fetch(`${world.url}/api/password/forgot`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email }),
  });
  assert.equal(forgot.status, 202);
  const link = await mailedLink(email, "reset-password", since);
  const { page, errors } = await tab(t);

  assert.equal((await page.goto(link)).status(), 200);
  assert.equal(await page.locator("h1").textContent(), "Choose a new password");
  // Labelled inputs: found by their labels, as a screen reader finds them.
  await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("New password again").fill(NEW_PASSWORD);
  await shoot(page, "reset-password");

  // First, two that differ: the form comes back saying so.
  await page.getByLabel("New password again").fill(`${NEW_PASSWORD}!`);
  await page.getByRole("button", { name: "Set the new password" }).click();
  await page.waitForSelector("[role=alert]");
  assert.match(await page.locator("[role=alert]").textContent(), /two passwords differ/);
  await shoot(page, "reset-password-differ");

  await page.getByLabel("New password", { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel("New password again").fill(NEW_PASSWORD);
  await page.getByRole("button", { name: "Set the new password" }).click();
  await page.waitForSelector("text=Password changed");
  await shoot(page, "reset-password-done");

  const login = (password) =>
    fetch(`${world.url}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email, password }),
    }).then((r) => r.status);
  assert.equal(await login(NEW_PASSWORD), 200);
  assert.equal(await login(PASSWORD), 400);
  assert.deepEqual(errors, [], "the policy refused nothing");
});
