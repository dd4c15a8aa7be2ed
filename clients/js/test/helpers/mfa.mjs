// Second factors in tests, with node:crypto only (nothing of the client's
// code): RFC 6238 TOTP codes, TOTP enrolment over HTTP, and a software
// passkey (WebAuthn authenticator: "none" attestation, ES256, user verified)
// that answers what a browser's navigator.credentials would.
import { createHash, createHmac, generateKeyPairSync, randomBytes, sign } from "node:crypto";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** RFC 4648 base32 (no padding) to bytes. */
export function base32Decode(text) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, "").toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The RFC 6238 code (HMAC-SHA1, 6 digits) of a base32 secret for 30-second step `step`. */
export function totp(secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac("sha1", base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, "0");
}

/**
 * The current 30-second step, with at least 8 s of it left (waits for the
 * next one otherwise), so that a code of it is still current when authd
 * checks it.
 */
export async function freshStep() {
  const left = 30_000 - (Date.now() % 30_000);
  if (left < 8_000) await sleep(left + 200);
  return Math.floor(Date.now() / 30_000);
}

/** A code that is none of the codes of steps around `step`. */
export function wrongCode(secret, step) {
  const near = new Set([-2, -1, 0, 1, 2].map((d) => totp(secret, step + d)));
  for (let n = 0; ; n++) {
    const code = String((Number(totp(secret, step)) + 1 + n) % 1_000_000).padStart(6, "0");
    if (!near.has(code)) return code;
  }
}

/**
 * Turns TOTP on for the user of `client` (signed in), over HTTP with its
 * access token: POST /api/mfa/totp, then /confirm with the previous step's
 * code. Returns the secret, the recovery codes and the current step (whose
 * code is still unused: log in with it).
 */
export async function enrolTotp(client) {
  const res = await client.fetch("/api/mfa/totp", { method: "POST" });
  if (res.status !== 200) throw new Error(`POST /api/mfa/totp: ${res.status} ${await res.text()}`);
  const { secret, otpauth_uri } = await res.json();
  const step = await freshStep();
  const confirm = await client.fetch("/api/mfa/totp/confirm", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code: totp(secret, step - 1) }),
  });
  if (confirm.status !== 200) throw new Error(`POST /api/mfa/totp/confirm: ${confirm.status} ${await confirm.text()}`);
  const { recovery_codes } = await confirm.json();
  return { secret, otpauthUri: otpauth_uri, recoveryCodes: recovery_codes, step };
}

// ---- a minimal CBOR encoder (RFC 8949): what a "none" attestation needs ----

function head(major, n) {
  if (n < 24) return Buffer.from([(major << 5) | n]);
  if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
  if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = (major << 5) | 26;
  b.writeUInt32BE(n, 1);
  return b;
}

/** Integers, text, bytes (Buffer/Uint8Array), and maps (a Map, or an object with text keys). */
export function cbor(v) {
  if (typeof v === "number") return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === "string") return Buffer.concat([head(3, Buffer.byteLength(v)), Buffer.from(v)]);
  if (v instanceof Uint8Array) return Buffer.concat([head(2, v.length), v]);
  const entries = v instanceof Map ? [...v] : Object.entries(v);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, x]) => [cbor(k), cbor(x)])]);
}

const b64url = (b) => Buffer.from(b).toString("base64url");
/** An ArrayBuffer holding a copy of `bytes`, as WebAuthn returns them. */
const arrayBuffer = (bytes) => new Uint8Array(bytes).buffer;

/**
 * A software passkey for relying party `rpId`, answering as a browser at
 * `origin` would (authd's defaults without AUTHD_PUBLIC_URL). One
 * credential, made by `create`; `get` is navigator.credentials.get: it reads
 * the challenge and allowCredentials ids as the ArrayBuffers WebAuthn takes,
 * and returns a PublicKeyCredential look-alike with ArrayBuffer fields.
 */
export class SoftPasskey {
  constructor({ rpId = "localhost", origin = "http://localhost:8080" } = {}) {
    this.rpId = rpId;
    this.origin = origin;
    this.counter = 0;
    this.credentialId = randomBytes(32);
    this.userHandle = null;
    this.calls = [];
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    this.privateKey = privateKey;
    this.publicJwk = publicKey.export({ format: "jwk" });
  }

  authData(flags, extra = Buffer.alloc(0)) {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(this.counter);
    return Buffer.concat([createHash("sha256").update(this.rpId).digest(), Buffer.from([flags]), counter, extra]);
  }

  clientData(type, challenge) {
    return Buffer.from(JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false }));
  }

  /** Answers authd's PublicKeyCredentialCreationOptions JSON: the registration credential JSON for /register/finish. */
  create(options) {
    this.userHandle = Buffer.from(options.user.id, "base64url");
    const cose = new Map([
      [1, 2], // kty: EC2
      [3, -7], // alg: ES256
      [-1, 1], // crv: P-256
      [-2, Buffer.from(this.publicJwk.x, "base64url")],
      [-3, Buffer.from(this.publicJwk.y, "base64url")],
    ]);
    const idLen = Buffer.alloc(2);
    idLen.writeUInt16BE(this.credentialId.length);
    // UP | UV | AT; AAGUID all zero.
    const authData = this.authData(0x45, Buffer.concat([Buffer.alloc(16), idLen, this.credentialId, cbor(cose)]));
    const attestationObject = cbor({ fmt: "none", attStmt: {}, authData });
    return {
      id: b64url(this.credentialId),
      rawId: b64url(this.credentialId),
      type: "public-key",
      response: { attestationObject: b64url(attestationObject), clientDataJSON: b64url(this.clientData("webauthn.create", options.challenge)) },
      clientExtensionResults: {},
    };
  }

  /** navigator.credentials.get({ publicKey }) */
  async get({ publicKey }) {
    this.calls.push(publicKey);
    if (!(publicKey.challenge instanceof ArrayBuffer)) throw new TypeError("challenge is not an ArrayBuffer");
    const allowed = publicKey.allowCredentials ?? [];
    for (const c of allowed) if (!(c.id instanceof ArrayBuffer)) throw new TypeError("allowCredentials id is not an ArrayBuffer");
    if (allowed.length > 0 && !allowed.some((c) => Buffer.from(c.id).equals(this.credentialId))) {
      const e = new Error("no credential for this request");
      e.name = "NotAllowedError";
      throw e;
    }
    this.counter++;
    const authenticatorData = this.authData(0x05); // UP | UV
    const clientDataJSON = this.clientData("webauthn.get", b64url(Buffer.from(publicKey.challenge)));
    const signed = Buffer.concat([authenticatorData, createHash("sha256").update(clientDataJSON).digest()]);
    const signature = sign("sha256", signed, this.privateKey); // DER, as WebAuthn's ES256 signatures are
    return {
      id: b64url(this.credentialId),
      rawId: arrayBuffer(this.credentialId),
      type: "public-key",
      authenticatorAttachment: "platform",
      response: {
        authenticatorData: arrayBuffer(authenticatorData),
        clientDataJSON: arrayBuffer(clientDataJSON),
        signature: arrayBuffer(signature),
        userHandle: this.userHandle && arrayBuffer(this.userHandle),
      },
      getClientExtensionResults: () => ({}),
    };
  }
}

/** Registers `passkey` for the user of `client` (signed in) over HTTP; the finish answer's body. */
export async function registerPasskey(client, passkey, name = "test key") {
  const post = (path, body) =>
    client.fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const start = await post("/api/passkeys/register/start", { name });
  if (start.status !== 200) throw new Error(`register/start: ${start.status} ${await start.text()}`);
  const { challenge_id, publicKey } = await start.json();
  const finish = await post("/api/passkeys/register/finish", { challenge_id, credential: passkey.create(publicKey) });
  if (finish.status !== 201) throw new Error(`register/finish: ${finish.status} ${await finish.text()}`);
  return finish.json();
}
