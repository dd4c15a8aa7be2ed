import type { PasskeyRequestOptionsJson } from "./passkey.js";

/** Error codes authd answers with (docs/api.md), plus the client's own. */
export type AuthdServerErrorCode =
  | "invalid_request"
  | "invalid_grant"
  | "unsupported_grant_type"
  | "invalid_token"
  | "invalid_dpop_proof"
  | "use_dpop_nonce"
  | "not_found"
  | "email_taken"
  | "payload_too_large"
  | "unsupported_media_type"
  | "email_not_verified"
  | "mfa_required"
  | "already_enrolled"
  | "insufficient_user_authentication"
  | "already_verified"
  | "account_exists"
  | "identity_in_use"
  | "last_sign_in_method"
  | "rate_limited"
  | "temporarily_unavailable";

/**
 * Errors that never came from authd: `network_error` (no answer: refused,
 * reset, lost), `timeout` (no answer within the timeout), `signed_out` (no
 * session: never signed in, logged out, or the session ended),
 * `invalid_response` (an answer that is not what docs/api.md describes).
 */
export type AuthdClientErrorCode = "network_error" | "timeout" | "signed_out" | "invalid_response";

/** Any server code, including ones this version does not know yet. */
export type AuthdErrorCode = AuthdServerErrorCode | AuthdClientErrorCode | (string & {});

/** `reason` of `invalid_grant` from `POST /api/token`. */
export type InvalidGrantReason = "reused" | "invalid";

export interface AuthdErrorInit {
  status: number;
  code: AuthdErrorCode;
  description: string;
  reason?: InvalidGrantReason | undefined;
  retryAfter?: number | undefined;
  requestId?: string | undefined;
  cause?: unknown;
}

/**
 * Every failure of the client. `status` is the HTTP status, or 0 when no
 * answer arrived (`network_error`, `timeout`) or none was sent (`signed_out`).
 */
export class AuthdError extends Error {
  override readonly name = "AuthdError";
  readonly status: number;
  readonly code: AuthdErrorCode;
  readonly description: string;
  /** `invalid_grant` from /api/token: why the refresh token was refused. */
  readonly reason: InvalidGrantReason | undefined;
  /** Seconds to wait, from `Retry-After` (429, 503). */
  readonly retryAfter: number | undefined;
  /** authd's `X-Request-Id` of the answer, for its logs. */
  readonly requestId: string | undefined;

  constructor(init: AuthdErrorInit) {
    super(`${init.code}: ${init.description}`);
    this.status = init.status;
    this.code = init.code;
    this.description = init.description;
    this.reason = init.reason;
    this.retryAfter = init.retryAfter;
    this.requestId = init.requestId;
    if (init.cause !== undefined) (this as { cause?: unknown }).cause = init.cause;
  }

  /** No answer, or an answer that says "try again": the session is intact. */
  get transient(): boolean {
    return this.status === 0 ? this.code !== "signed_out" : this.status === 429 || this.status >= 500;
  }
}

/** A second factor authd offers for the second step of a login. */
export type MfaFactor = "totp" | "webauthn" | (string & {});

/**
 * `login()` with the right password of a user with a second factor (403
 * `mfa_required`): finish with `completeMfaLogin(e.mfaToken, …)` within 5
 * minutes. `factors`: what it takes (`totp`: a code or a recovery code;
 * `webauthn`: a passkey assertion of `publicKey`, the request options as
 * authd sent them, e.g. for `passkeyAssertion(e.publicKey)`).
 */
export class MfaRequiredError extends AuthdError {
  readonly mfaToken: string;
  readonly factors: MfaFactor[];
  readonly publicKey: PasskeyRequestOptionsJson | undefined;

  constructor(init: AuthdErrorInit & { mfaToken: string; factors: MfaFactor[]; publicKey?: PasskeyRequestOptionsJson | undefined }) {
    super(init);
    this.mfaToken = init.mfaToken;
    this.factors = init.factors;
    this.publicKey = init.publicKey;
  }
}

export function isAuthdError(e: unknown): e is AuthdError {
  return e instanceof AuthdError;
}

export function signedOutError(description = "not signed in"): AuthdError {
  return new AuthdError({ status: 0, code: "signed_out", description });
}
