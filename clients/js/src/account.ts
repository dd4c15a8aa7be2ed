/** The account as `POST /api/register` answers it. */
export interface RegisteredUser {
  id: string;
  email: string;
  created_at: string;
  /** `false` until the mailed link is used (`verifyEmail`). */
  email_verified: boolean;
}

/** The signed-in user, as `GET /api/me` answers it. */
export interface UserInfo {
  id: string;
  /** `null` for an account a provider sign-in made without an address. */
  email: string | null;
  created_at: string;
  /** Proven by the mailed link, a password reset by mail, an operator, or the provider that made the account. */
  email_verified: boolean;
  /** The providers the user signs in with (`apple`, `google`, …). */
  providers: string[];
}

/** A pending TOTP enrolment (`POST /api/mfa/totp`): show `otpauth_uri` as a QR code, then `confirmTotp`. */
export interface TotpEnrolment {
  /** The secret in base32, for typing into an authenticator app. */
  secret: string;
  /** `otpauth://totp/…`, for a QR code. */
  otpauth_uri: string;
}

