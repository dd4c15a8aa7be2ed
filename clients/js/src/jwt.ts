import { fromBase64url } from "./base64url.js";

/** The claims of a JWT, unverified: the server checks it, we only read what it says. */
export function jwtClaims(token: string): Record<string, unknown> | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const bytes = fromBase64url(part);
    // UTF-8 where TextDecoder exists; else (older React Native) byte by byte, right for ASCII claims.
    const text = typeof TextDecoder === "function" ? new TextDecoder().decode(bytes) : String.fromCharCode(...new Uint8Array(bytes));
    const claims: unknown = JSON.parse(text);
    return claims && typeof claims === "object" && !Array.isArray(claims) ? (claims as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** `iat` and `exp` (seconds) of a JWT, to schedule refreshes. */
export function jwtTimes(token: string): { iat: number; exp: number } | null {
  const { iat, exp } = jwtClaims(token) ?? {};
  return typeof iat === "number" && typeof exp === "number" && exp > iat ? { iat, exp } : null;
}

/** `cnf.jkt` of a DPoP-bound access token: the thumbprint of the key it is bound to. */
export function jwtJkt(token: string): string | undefined {
  const jkt = (jwtClaims(token)?.["cnf"] as { jkt?: unknown } | undefined)?.jkt;
  return typeof jkt === "string" ? jkt : undefined;
}
