#!/usr/bin/env node
// Soak: 50 app instances (own client, user and memory storage), 4 API-call
// loops each through the client's fetch wrapper, 2-second access tokens,
// behind a proxy that drops a share of refresh answers after authd handled
// them. Prints JSON; exits 1 if anyone was signed out (or, without drops,
// if any token was spent twice).
//
//   node bench/soak.mjs [seconds=120] [--drop=0.05] [--instances=50] [--concurrency=4] [--bin=PATH]
import { AuthdClient, MemoryStorage } from "../dist/index.js";
import { startProxy } from "../test/helpers/proxy.mjs";
import { PASSWORD, authdBinary, registerUser, startWorld } from "../test/helpers/world.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? dflt;
const seconds = Number(args.find((a) => /^\d+(\.\d+)?$/.test(a)) ?? 120);
const dropRate = Number(opt("drop", "0.05"));
const instances = Number(opt("instances", "50"));
const concurrency = Number(opt("concurrency", "4"));
const bin = opt("bin", authdBinary());

const world = await startWorld({ bin, env: { AUTHD_ACCESS_TOKEN_TTL: "2", AUTHD_JWT_LEEWAY: "0" } });
const proxy = await startProxy(world.url, { dropRate: 0 });
const apps = [];
let calls = 0;
const failures = new Map();
try {
  for (let i = 0; i < instances; i++) {
    const client = new AuthdClient({ baseUrl: proxy.url, storage: new MemoryStorage(), timeoutMs: 5000 });
    const app = { client, signedOut: 0, sessionId: null };
    client.on("signedOut", () => app.signedOut++);
    await client.login(await registerUser(world.url, `soak${i}`), PASSWORD);
    app.sessionId = client.session.sessionId;
    apps.push(app);
  }
  proxy.resetCounts();
  proxy.state.dropRate = dropRate;
  const started = Date.now();
  const until = started + seconds * 1000;
  const loop = async (app) => {
    while (Date.now() < until && app.client.signedIn) {
      try {
        const res = await app.client.fetch("/api/secure");
        await res.arrayBuffer();
        calls++;
        if (res.status !== 200) failures.set(`http_${res.status}`, (failures.get(`http_${res.status}`) ?? 0) + 1);
      } catch (e) {
        calls++;
        const code = e?.code ?? String(e);
        failures.set(code, (failures.get(code) ?? 0) + 1);
      }
    }
  };
  await Promise.all(apps.flatMap((app) => Array.from({ length: concurrency }, () => loop(app))));
  const elapsed = (Date.now() - started) / 1000;

  const ex = proxy.state.tokenExchanges;
  const spent = new Map();
  for (const e of ex) spent.set(e.presented, (spent.get(e.presented) ?? 0) + 1);
  const duplicates = [...spent.values()].reduce((n, c) => n + c - 1, 0);
  const perInstance = ex.length / instances;
  const report = {
    seconds: elapsed,
    instances,
    concurrency,
    drop_rate: dropRate,
    users_signed_out: apps.filter((a) => a.signedOut > 0 || !a.client.signedIn).length,
    sessions_changed: apps.filter((a) => a.client.session?.sessionId !== a.sessionId).length,
    refresh_requests: ex.length,
    refreshes_per_instance: Number(perInstance.toFixed(2)),
    // exp is in whole seconds, so a 2-second token has 1 to 2 s left when it
    // arrives; it is refreshed 0.5 s before: about one refresh a second.
    mean_refresh_interval_s: Number((elapsed / perInstance).toFixed(3)),
    // 1 when every token is spent once; drops add their retries.
    refreshes_per_token: Number((ex.length / spent.size).toFixed(4)),
    dropped_responses: proxy.state.dropped,
    tokens_spent_more_than_once: duplicates,
    refused_refreshes: ex.filter((e) => e.status !== 200).length,
    api_calls: calls,
    api_call_failures: [...failures.values()].reduce((a, b) => a + b, 0),
    api_call_failures_by_code: Object.fromEntries(failures),
  };
  console.log(JSON.stringify(report, null, 2));
  const bad = report.users_signed_out > 0 || report.sessions_changed > 0 || (dropRate === 0 && duplicates > 0);
  process.exitCode = bad ? 1 : 0;
} finally {
  for (const a of apps) a.client.close();
  await proxy.stop();
  await world.stop();
}
