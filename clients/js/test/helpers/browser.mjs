// What the Chromium tests share: where Chromium is (and a skip reason when
// it is not there), and a world where a test page on one origin (a small
// site of its own) calls authd on another, through the fault proxy, as a
// web app on its own domain would: authd allows the site's origin with
// AUTHD_CORS_ORIGINS, and the browser enforces CORS.
import { existsSync } from "node:fs";
import http from "node:http";
import { bundle } from "../../scripts/bundle.mjs";
import { startProxy } from "./proxy.mjs";
import { SHORT_TOKENS } from "./session.mjs";
import { startWorld } from "./world.mjs";

export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const noChromium =
  !existsSync(chromiumPath) &&
  `SKIPPED: no chromium executable at ${chromiumPath} (install chromium or set CHROMIUM_PATH)`;

/** Where a test page puts authd's address: `new AuthdClient({ baseUrl: AUTHD_URL })`. */
export const AUTHD_URL_MARK = "__AUTHD_URL__";

/** A site serving `files` (path -> { type, body }) on `port` (default any). */
async function startSite(files, port = 0) {
  const server = http.createServer((req, res) => {
    const file = files[req.url.split("?")[0]];
    if (!file) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { "content-type": file.type, "cache-control": "no-store" });
    res.end(file.body);
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, port: server.address().port, stop: () => new Promise((resolve) => server.close(resolve)) };
}

/** authd with short tokens (and `env`) behind the proxy (on `port`,
 * default any), a site on another origin (on `sitePort`, default any)
 * serving `page` at `/` and the bundle at `/client.js`, and a launched
 * Chromium. In `page`, `__AUTHD_URL__` becomes the proxy's address. The
 * site's origin is allowed as `http://127.0.0.1:P` and `http://localhost:P`. */
export async function servePage(page, { env = {}, port = 0, sitePort = 0 } = {}) {
  const files = {};
  const site = await startSite(files, sitePort);
  const origins = `${site.url},http://localhost:${site.port}`;
  const world = await startWorld({ env: { ...SHORT_TOKENS, AUTHD_CORS_ORIGINS: origins, ...env } });
  const proxy = await startProxy(world.url, { port });
  files["/"] = { type: "text/html", body: page.replaceAll(AUTHD_URL_MARK, proxy.url) };
  files["/client.js"] = { type: "text/javascript", body: await bundle() };
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
  return { world, proxy, browser, site };
}

export async function stopPage({ world, proxy, browser, site }) {
  await browser?.close();
  await site?.stop();
  await proxy?.stop();
  await world?.stop();
}
