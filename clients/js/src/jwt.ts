/** The claims of a JWT, unverified: the server checks it, we only read what it says. */
export function jwtClaims(token: string): Record<string, unknown> | null {
  const part = token.split(".")[1];
  const atob = (globalThis as { atob?: (s: string) => string }).atob;
  if (!part || !atob) return null;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const claims: unknown = JSON.parse(atob(b64 + "===".slice((b64.length + 3) % 4)));
    return claims && typeof claims === "object" ? (claims as Record<string, unknown>) : null;
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
