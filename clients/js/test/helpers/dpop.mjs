// Reading and checking DPoP proofs and bound tokens in tests, with
// node:crypto only (nothing of the client's own code), so a test does not
// grade the client with its own arithmetic.
import { createHash, createPublicKey, verify } from "node:crypto";

/** The decoded parts of a JWT (no signature check). */
export function decodeJwt(jwt) {
  const [h, p, s] = jwt.split(".");
  const part = (x) => JSON.parse(Buffer.from(x, "base64url").toString());
  return { header: part(h), claims: part(p), signature: s, input: `${h}.${p}` };
}

/** RFC 7638 thumbprint of an EC public JWK: SHA-256 of its required members in lexicographic order. */
export function thumbprint(jwk) {
  const canonical = `{"crv":"${jwk.crv}","kty":"${jwk.kty}","x":"${jwk.x}","y":"${jwk.y}"}`;
  return createHash("sha256").update(canonical).digest("base64url");
}

/** `ath` of an access token: base64url SHA-256 (RFC 9449 §4.2). */
export function ath(accessToken) {
  return createHash("sha256").update(accessToken).digest("base64url");
}

/**
 * Checks a proof as a server would (RFC 9449 §4.3: typ, alg, public jwk
 * only, ES256 signature over the JWS input); returns its header and claims.
 */
export function verifyProof(jwt) {
  const { header, claims, signature, input } = decodeJwt(jwt);
  if (header.typ !== "dpop+jwt") throw new Error(`typ ${header.typ}`);
  if (header.alg !== "ES256") throw new Error(`alg ${header.alg}`);
  if ("d" in header.jwk) throw new Error("a private key in the proof");
  const key = createPublicKey({ key: header.jwk, format: "jwk" });
  const ok = verify("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" }, Buffer.from(signature, "base64url"));
  if (!ok) throw new Error("bad signature");
  return { header, claims };
}

/** The RFC 7638 thumbprint of the public key a key store holds. */
export async function storedThumbprint(keyStore) {
  const pair = await keyStore.load();
  return thumbprint(await crypto.subtle.exportKey("jwk", pair.publicKey));
}
