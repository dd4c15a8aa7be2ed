// A fault-injecting HTTP proxy in front of authd. It counts requests by
// path, records every /api/token exchange, and applies faults queued per
// path (first queued, first applied), or drops a share of /api/token
// answers at random (the soak). It passes the client's Host on, as a
// reverse proxy in front of authd does, so that a DPoP proof's htu (the URL
// the client called) matches what authd sees.
import http from "node:http";

/**
 * Fault kinds:
 *  - { kind: "drop" }: forward; once authd has answered, destroy the client's socket
 *  - { kind: "reset" }: forward; send the head and part of the body, then destroy the socket
 *  - { kind: "delay", ms }: forward; hold authd's answer for ms before sending it
 *  - { kind: "hold", release: Promise }: forward; send authd's answer when release settles
 *  - { kind: "status", status, retryAfter, headers, body }: answer without forwarding (503/429 with
 *    Retry-After; `headers` and `body`, if given, for other answers, e.g. a DPoP-Nonce)
 *  - { kind: "refuse" }: destroy the socket without forwarding
 * `files`: path -> { type, body } served by the proxy itself (a test page
 * on the same origin as authd, as the browser test needs). `port`: where
 * to listen (default: any free port).
 */
export async function startProxy(target, { dropRate = 0, files = {}, port = 0 } = {}) {
  const upstream = new URL(target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const queues = new Map();
  const counts = new Map();
  const state = {
    dropRate,
    /** Every /api/token request: { presented, proof, status, issued, fault } */
    tokenExchanges: [],
    /** Every forwarded request: { method, path, authorization, proof, status, nonce } (DPoP header, DPoP-Nonce answered) */
    requests: [],
    dropped: 0,
    /** CORS preflights passed on (not in `requests` or the counts). */
    preflights: 0,
    /** Called with each exchange once authd answered (before any fault). */
    onTokenAnswer: null,
  };
  const sockets = new Set();

  const server = http.createServer(async (req, res) => {
    const path = req.url.split("?")[0];
    if (files[path]) {
      res.writeHead(200, { "content-type": files[path].type, "cache-control": "no-store" });
      return res.end(files[path].body);
    }
    if (req.method === "OPTIONS") {
      // A browser's CORS preflight (the page is on another origin): passed
      // on untouched, and neither counted nor recorded as a request.
      state.preflights++;
      for await (const _ of req);
      try {
        const answer = await forward(upstream, agent, req, Buffer.alloc(0));
        res.writeHead(answer.status, answer.headers);
        return res.end(answer.body);
      } catch (e) {
        res.writeHead(502);
        return res.end();
      }
    }
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = Buffer.concat(chunks);
    let fault = queues.get(path)?.shift();
    const isToken = path === "/api/token";
    if (!fault && isToken && state.dropRate > 0 && Math.random() < state.dropRate) fault = { kind: "drop" };
    const proof = req.headers.dpop ?? null;
    const exchange = isToken ? { presented: presentedToken(body), proof, status: 0, issued: null, fault: fault?.kind ?? null } : null;
    if (exchange) state.tokenExchanges.push(exchange);

    if (fault?.kind === "refuse") return req.socket.destroy();
    if (fault?.kind === "status") {
      res.writeHead(fault.status, {
        "content-type": "application/json",
        "retry-after": String(fault.retryAfter ?? 1),
        ...fault.headers,
      });
      if (exchange) exchange.status = fault.status;
      return res.end(
        fault.body ?? JSON.stringify({ error: fault.status === 429 ? "rate_limited" : "temporarily_unavailable", error_description: "injected" }),
      );
    }

    let answer;
    try {
      answer = await forward(upstream, agent, req, body);
    } catch (e) {
      res.writeHead(502, { "content-type": "application/json" });
      return res.end(JSON.stringify({ error: "bad_gateway", error_description: String(e) }));
    }
    state.requests.push({
      method: req.method,
      path,
      authorization: req.headers.authorization ?? null,
      proof,
      status: answer.status,
      nonce: answer.headers["dpop-nonce"] ?? null,
    });
    if (exchange) {
      exchange.status = answer.status;
      if (answer.status === 200) exchange.issued = JSON.parse(answer.body.toString()).refresh_token;
      state.onTokenAnswer?.(exchange);
    }
    if (fault?.kind === "drop") {
      state.dropped++;
      return req.socket.destroy();
    }
    if (fault?.kind === "delay") await new Promise((r) => setTimeout(r, fault.ms));
    if (fault?.kind === "hold") await fault.release;
    if (req.socket.destroyed) return;
    res.writeHead(answer.status, answer.headers);
    if (fault?.kind === "reset") {
      res.write(answer.body.subarray(0, Math.floor(answer.body.length / 2)));
      return setTimeout(() => req.socket.destroy(), 20);
    }
    res.end(answer.body);
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}`;

  return {
    url,
    state,
    /** Queues a fault for the next request to `path`. */
    fault(path, fault) {
      if (!queues.has(path)) queues.set(path, []);
      queues.get(path).push(fault);
    },
    clearFaults() {
      queues.clear();
    },
    count(path) {
      return counts.get(path) ?? 0;
    },
    resetCounts() {
      counts.clear();
      state.tokenExchanges.length = 0;
      state.requests.length = 0;
      state.dropped = 0;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      agent.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

function presentedToken(body) {
  try {
    return JSON.parse(body.toString()).refresh_token ?? null;
  } catch {
    return null;
  }
}

const HOP = new Set(["connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"]);

function forward(upstream, agent, req, body) {
  return new Promise((resolve, reject) => {
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k)) headers[k] = v;
    headers.host = req.headers.host ?? upstream.host;
    headers["content-length"] = String(body.length);
    const up = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
      (ur) => {
        const chunks = [];
        ur.on("data", (c) => chunks.push(c));
        ur.on("end", () => {
          const h = {};
          for (const [k, v] of Object.entries(ur.headers)) if (!HOP.has(k)) h[k] = v;
          const b = Buffer.concat(chunks);
          h["content-length"] = String(b.length);
          resolve({ status: ur.statusCode, headers: h, body: b });
        });
        ur.on("error", reject);
      },
    );
    up.on("error", reject);
    up.end(body);
  });
}
