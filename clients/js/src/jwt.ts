/** `iat` and `exp` (seconds) of a JWT, unverified: the server checks it, we only schedule. */
export function jwtTimes(token: string): { iat: number; exp: number } | null {
  const part = token.split(".")[1];
  const atob = (globalThis as { atob?: (s: string) => string }).atob;
  if (!part || !atob) return null;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const claims: unknown = JSON.parse(atob(b64 + "===".slice((b64.length + 3) % 4)));
    const { iat, exp } = (claims ?? {}) as { iat?: unknown; exp?: unknown };
    return typeof iat === "number" && typeof exp === "number" && exp > iat ? { iat, exp } : null;
  } catch {
    return null;
  }
}
