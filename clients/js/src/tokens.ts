import { AuthdError } from "./errors.js";
import type { JsonResponse } from "./http.js";
import { jwtJkt, jwtTimes } from "./jwt.js";
import type { StoredTokens } from "./storage.js";

/** authd's token response (login and refresh). */
export interface TokenResponse {
  access_token: string;
  /** `DPoP` when the session is bound to the client's DPoP key. */
  token_type: "Bearer" | "DPoP";
  expires_in: number;
  refresh_token: string;
  refresh_token_expires_in: number;
  session_id: string;
}

/** A session as `GET /api/sessions` lists it. */
export interface SessionInfo {
  id: string;
  created_at: string;
  last_used_at: string;
  expires_at: string;
  device: string | null;
  user_agent: string | null;
  ip: string | null;
  current: boolean;
  /** The session is bound to a DPoP key: only requests proving that key refresh or use it. */
  dpop_bound: boolean;
}

/**
 * The claims of an authd access token (docs/api.md, Access tokens), as the
 * token says them: decoded on the client, **not verified** (no signature
 * is checked here; resource servers and authd verify). Use them to show who
 * is signed in and how, never to decide what a request may do.
 */
export interface AccessTokenClaims {
  /** The user's id. */
  sub: string;
  /** The session's id. */
  sid: string;
  iss: string;
  aud: string | string[];
  jti: string;
  /** Issued at, epoch seconds (the server's clock). */
  iat: number;
  /** Expires at, epoch seconds (the server's clock). */
  exp: number;
  /** Whether the address was verified when the token was issued (a verification shows from the next refresh). */
  email_verified: boolean;
  /** How the user logged in (RFC 8176): `["pwd"]`, `["pwd", "otp", "mfa"]`, `["hwk", "mfa"]`, `["fed"]`, … */
  amr: string[];
  /** `aal1`, or `aal2` after a second factor or a passkey. */
  acr: string;
  /** A DPoP-bound session's key thumbprint. */
  cnf?: { jkt: string };
  [claim: string]: unknown;
}

/** The session a client holds (`client.session`). */
export interface Session {
  sessionId: string;
  /** The user's id: the access token's `sub` (decoded, not verified). */
  userId: string;
  /** May have expired: `getAccessToken()` refreshes it. */
  accessToken: string;
  /** When the access token expires, epoch ms on the local clock. */
  accessTokenExpiresAt: number;
  /** `DPoP`: bound to this installation's key; the token is accepted only with a proof of it (`authHeaders()`). */
  tokenType: "Bearer" | "DPoP";
  /** The access token's claims, decoded and **not verified** (see `AccessTokenClaims`). */
  claims: AccessTokenClaims;
}

function isTokenResponse(v: unknown): v is TokenResponse {
  const t = v as Partial<TokenResponse> | null;
  return (
    !!t &&
    typeof t.access_token === "string" &&
    typeof t.refresh_token === "string" &&
    typeof t.session_id === "string" &&
    typeof t.expires_in === "number" &&
    typeof t.refresh_token_expires_in === "number"
  );
}

/**
 * What to store of a token response. The access token's expiry is its `exp`
 * moved to the local clock by the measured skew, kept between half and all
 * of `expires_in` counted from when the request was sent (a wrong skew can
 * neither outlive the token nor make it look expired at once).
 */
export function toStoredTokens(res: JsonResponse<unknown>, skewMs: number): StoredTokens {
  const body = res.body;
  if (!isTokenResponse(body)) {
    throw new AuthdError({ status: res.status, code: "invalid_response", description: "not a token response" });
  }
  const times = jwtTimes(body.access_token);
  const latest = res.sentAt + body.expires_in * 1000;
  const fromExp = times ? times.exp * 1000 - skewMs : latest;
  const expiresAt = Math.min(latest, Math.max(res.sentAt + (body.expires_in * 1000) / 2, fromExp));
  const lifetime = times ? (times.exp - times.iat) * 1000 : body.expires_in * 1000;
  const tokens: StoredTokens = {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    sessionId: body.session_id,
    accessTokenExpiresAt: expiresAt,
    accessTokenLifetime: lifetime,
    refreshTokenExpiresAt: res.sentAt + body.refresh_token_expires_in * 1000,
  };
  if (body.token_type === "DPoP") {
    tokens.tokenType = "DPoP";
    const jkt = jwtJkt(body.access_token);
    if (jkt !== undefined) tokens.jkt = jkt;
  }
  return tokens;
}
