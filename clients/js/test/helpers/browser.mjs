// What the Chromium tests share: where Chromium is (and a skip reason when
// it is not there), and a world serving a test page with the client bundle
// through the fault proxy, with a browser to open it in.
import { existsSync } from "node:fs";
import { bundle } from "../../scripts/bundle.mjs";
import { startProxy } from "./proxy.mjs";
import { SHORT_TOKENS } from "./session.mjs";
import { startWorld } from "./world.mjs";

export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const noChromium =
  !existsSync(chromiumPath) &&
  `SKIPPED: no chromium executable at ${chromiumPath} (install chromium or set CHROMIUM_PATH)`;

/** authd with short tokens (and `env`), a proxy serving `page` at `/` and
 * the bundle at `/client.js` (on `port`, default any), and a launched Chromium. */
export async function servePage(page, { env = {}, port = 0 } = {}) {
  const world = await startWorld({ env: { ...SHORT_TOKENS, ...env } });
  const proxy = await startProxy(world.url, {
    port,
    files: {
      "/": { type: "text/html", body: page },
      "/client.js": { type: "text/javascript", body: await bundle() },
    },
  });
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
  return { world, proxy, browser };
}

export async function stopPage({ world, proxy, browser }) {
  await browser?.close();
  await proxy?.stop();
  await world?.stop();
}
