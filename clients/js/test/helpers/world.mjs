// A private redis-server and authd on free ports, for one test file or the
// soak; stop() kills both and removes their directory.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, readFileSync, openSync, existsSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PASSWORD = "correct horse battery staple 1";
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");

/** AUTHD_BIN, else $CARGO_TARGET_DIR (or target/, under the repository root)/debug/authd. */
export function authdBinary() {
  if (process.env.AUTHD_BIN) return path.resolve(process.env.AUTHD_BIN);
  return path.resolve(repoRoot, process.env.CARGO_TARGET_DIR ?? "target", "debug", "authd");
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, check, child, logFile, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) break;
    if (await check().catch(() => false)) return;
    await sleep(100);
  }
  const log = logFile && existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-4000) : "";
  throw new Error(`${what} did not start (exit code ${child.exitCode})\n${log}`);
}

function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.on("connect", () => (s.destroy(), resolve(true)));
    s.on("error", () => resolve(false));
  });
}

function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill("SIGKILL"), 3000);
    child.once("exit", () => (clearTimeout(t), resolve()));
    child.kill("SIGTERM");
  });
}

/**
 * Starts redis-server and authd. `env`: extra AUTHD_* settings, e.g.
 * { AUTHD_ACCESS_TOKEN_TTL: "2" }. `bin`: the authd binary.
 */
export async function startWorld({ env = {}, bin = authdBinary() } = {}) {
  if (!existsSync(bin)) throw new Error(`no authd binary at ${bin}: set AUTHD_BIN or CARGO_TARGET_DIR`);
  const dir = mkdtempSync(path.join(tmpdir(), "authd-js-"));
  const children = [];
  const stop = async () => {
    await Promise.all(children.reverse().map(stopChild));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const rport = await freePort();
    const redis = spawn("redis-server", ["--port", String(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir], {
      stdio: "ignore",
    });
    children.push(redis);
    await waitFor("redis-server", () => canConnect(rport), redis);

    const port = await freePort();
    const logFile = path.join(dir, "authd.log");
    const log = openSync(logFile, "a");
    const authd = spawn(bin, [], {
      stdio: ["ignore", log, log],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME ?? dir,
        AUTHD_BIND: `127.0.0.1:${port}`,
        AUTHD_REDIS_URL: `redis://127.0.0.1:${rport}`,
        AUTHD_DATABASE_URL: `sqlite://${path.join(dir, "authd.db")}`,
        AUTHD_LOGIN_MAX_FAILURES_PER_IP: "100000",
        AUTHD_REGISTER_MAX_PER_IP: "100000",
        RUST_LOG: "warn",
        ...env,
      },
    });
    children.push(authd);
    const url = `http://127.0.0.1:${port}`;
    await waitFor("authd", async () => (await fetch(`${url}/healthz`)).ok, authd, logFile);
    return { url, port, dir, logFile, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

let counter = 0;
/** Registers a fresh user directly at authd; returns its email. */
export async function registerUser(url, prefix = "user") {
  const email = `${prefix}-${process.pid}-${Date.now()}-${counter++}@example.com`;
  const res = await fetch(`${url}/api/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email, password: PASSWORD }),
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${await res.text()}`);
  return email;
}
