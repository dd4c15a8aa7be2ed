// An OpenID provider for the client's tests, with node:crypto only: a
// discovery document and a JWKS over HTTP, RS256 ID tokens minted with its
// own key (Apple- and Google-shaped), and for the web flow an /authorize
// that signs in the user it was told to at once and a /token that checks
// the code, the redirect URI and the PKCE verifier. `/mint` hands out an ID
// token, for trying authd by hand (scripts/dev-provider.mjs).
import { createHash, createSign, generateKeyPairSync, randomUUID, sign as signWith } from "node:crypto";
import http from "node:http";

const b64u = (x) => Buffer.from(x).toString("base64url");

/** The lowercase hex SHA-256 of `nonce`, as a sign-in sheet is given it. */
export function hashed(nonce) {
  return createHash("sha256").update(nonce).digest("hex");
}

/** `port`: where to listen (default any free one). */
export async function startProvider(port = 0) {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = `key-${randomUUID()}`;
  const jwk = { ...publicKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
  const grants = new Map();
  const state = { user: null, tokenRequests: 0 };
  let issuer = "";

  const sign = (claims) => {
    const input = `${b64u(JSON.stringify({ alg: "RS256", kid, typ: "JWT" }))}.${b64u(JSON.stringify(claims))}`;
    const signature = createSign("RSA-SHA256").update(input).sign(privateKey).toString("base64url");
    return `${input}.${signature}`;
  };
  const claims = (aud, extra) => {
    const now = Math.floor(Date.now() / 1000);
    return { iss: issuer, aud, iat: now, exp: now + 600, ...extra };
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, issuer);
    const json = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/.well-known/openid-configuration") {
      return json(200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ["code"],
        subject_types_supported: ["public"],
        id_token_signing_alg_values_supported: ["RS256"],
      });
    }
    if (url.pathname === "/jwks") return json(200, { keys: [jwk] });
    if (url.pathname === "/mint") {
      // What a platform's sign-in sheet would hand an app (for trying authd by hand).
      const q = url.searchParams;
      const user = { sub: q.get("sub") ?? "user-1", nonce: q.get("nonce") ?? undefined };
      if (q.get("email")) Object.assign(user, { email: q.get("email"), email_verified: true });
      res.writeHead(200, { "content-type": "text/plain" });
      return res.end(sign(claims(q.get("aud") ?? "", user)));
    }
    if (url.pathname === "/authorize") {
      const q = url.searchParams;
      const code = randomUUID();
      grants.set(code, {
        clientId: q.get("client_id"),
        redirectUri: q.get("redirect_uri"),
        nonce: q.get("nonce"),
        challenge: q.get("code_challenge"),
        user: state.user,
      });
      const back = new URL(q.get("redirect_uri"));
      back.searchParams.set("code", code);
      back.searchParams.set("state", q.get("state"));
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === "/token" && req.method === "POST") {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        state.tokenRequests++;
        const f = new URLSearchParams(body);
        const grant = grants.get(f.get("code"));
        grants.delete(f.get("code"));
        const challenge = createHash("sha256").update(f.get("code_verifier") ?? "").digest("base64url");
        if (!grant || grant.redirectUri !== f.get("redirect_uri") || grant.challenge !== challenge) {
          return json(400, { error: "invalid_grant" });
        }
        json(200, { access_token: "x", token_type: "Bearer", id_token: sign(claims(grant.clientId, { nonce: grant.nonce, ...grant.user })) });
      });
      return;
    }
    json(404, { error: "not_found" });
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  issuer = `http://127.0.0.1:${server.address().port}`;
  return {
    issuer,
    state,
    /** An ID token for `aud` carrying the hash of `nonce` and `extra` claims (`sub`, `email`, …). */
    idToken: (aud, nonceHash, extra) => sign(claims(aud, { nonce: nonceHash, ...extra })),
    /** The same as `idToken`, signed on libuv's thread pool (many at once). */
    idTokenAsync: (aud, nonceHash, extra) =>
      new Promise((resolve, reject) => {
        const input = `${b64u(JSON.stringify({ alg: "RS256", kid, typ: "JWT" }))}.${b64u(JSON.stringify(claims(aud, { nonce: nonceHash, ...extra })))}`;
        signWith("sha256", Buffer.from(input), privateKey, (e, sig) => (e ? reject(e) : resolve(`${input}.${sig.toString("base64url")}`)));
      }),
    /** Who /authorize signs in: the ID token's `sub`, `email`, … */
    signsIn: (user) => (state.user = user),
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}
