//! What the rules answer when they say no, or cannot say: one typed error
//! for every outcome a caller must tell apart, keeping the cause of a
//! failure for the log (never for the client).

use authd_guard::dpop::ProofError;
use authd_guard::TokenProblem;

use crate::connections::StoreError;
use crate::users::HashError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Input that breaks a rule of the contract (the text says which).
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// Wrong email or password at login (or a disabled account: the same
    /// answer).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The current password, asked again before a password change or an
    /// account's deletion, is wrong.
    #[error("wrong current password")]
    WrongPassword,
    /// The password changed while this login or change was being checked.
    #[error("the password changed meanwhile")]
    CredentialsChanged,
    /// A mailed token that is unknown, spent, replaced by a newer mail, or
    /// expired.
    #[error("{0:?} token invalid")]
    MailedTokenInvalid(Mailed),
    /// A refresh token that is unknown, expired, revoked or forged.
    #[error("refresh token invalid")]
    RefreshInvalid,
    /// A refresh token that had been replaced: its session is now revoked.
    #[error("refresh token reused")]
    RefreshReused,
    /// No valid access token: none sent, or what was wrong with it.
    #[error("invalid access token: {0:?}")]
    InvalidToken(TokenProblem),
    /// A DPoP proof missing, invalid, replayed, or by another key than
    /// the session's (RFC 9449 `invalid_dpop_proof`).
    #[error("invalid DPoP proof: {}", .0.description())]
    InvalidDpopProof(ProofError),
    /// `AUTHD_DPOP_NONCE` and the proof lacks this window's nonce: retry
    /// with the one given (RFC 9449 §8 `use_dpop_nonce`).
    #[error("DPoP nonce required")]
    UseDpopNonce(String),
    #[error("not found")]
    NotFound,
    /// A feature this server has off: 404 `not_found`, the text saying
    /// which settings turn it on.
    #[error("{0}")]
    Off(&'static str),
    #[error("email taken")]
    EmailTaken,
    /// The right password, but `AUTHD_REQUIRE_VERIFIED_EMAIL` and the
    /// address is not verified.
    #[error("email not verified")]
    EmailNotVerified,
    /// A verification mail asked for an address already verified.
    #[error("email already verified")]
    AlreadyVerified,
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// A second factor, `mfa_token` or ceremony that is wrong, used or
    /// expired (`invalid_grant`; the text says which).
    #[error("{0}")]
    InvalidFactor(&'static str),
    /// An ID token that fails a check (`invalid_grant`; the text says which).
    #[error("{0}")]
    IdTokenRefused(&'static str),
    /// A provider's new identity whose verified address is an account's
    /// that has not verified it (409 `account_exists`).
    #[error("account exists")]
    AccountExists,
    /// A provider's new identity with an address the provider has not
    /// verified (409 `email_not_verified`).
    #[error("the provider has not verified the address")]
    AddressNotVerified,
    /// The identity is linked to another user (409 `identity_in_use`).
    #[error("identity in use")]
    IdentityInUse,
    /// Unlinking would leave the user no way in (409 `last_sign_in_method`).
    #[error("last sign-in method")]
    LastSignInMethod,
    /// The OpenID provider could not be reached when a key was needed.
    #[error("OpenID provider unavailable")]
    ProviderUnavailable(#[source] crate::federation::ProviderUnavailable),
    /// Changing the factors of a user who has one needs a token from a
    /// login with a second factor or a passkey (403
    /// `insufficient_user_authentication`, RFC 9470).
    #[error("a login with a second factor is required")]
    InsufficientAuthentication,
    /// TOTP is on already (409 `already_enrolled`).
    #[error("already enrolled")]
    AlreadyEnrolled,
    /// Redis or the database did not answer: retry shortly.
    #[error("store unavailable")]
    Store(#[from] StoreError),
    /// Every password hashing slot stayed busy: retry shortly.
    #[error("password hashing is saturated")]
    HashingBusy,
    /// A fault in authd itself.
    #[error("internal error")]
    Internal(#[source] InternalError),
}

/// Which mail a token came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mailed {
    /// A password reset (`/api/password/reset`).
    Reset,
    /// An address verification (`/api/email/verify`).
    Verify,
}

#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    #[error("password hashing failed")]
    Hashing(#[source] HashError),
    #[error("signing an access token failed")]
    Signing(#[source] jsonwebtoken::errors::Error),
    #[error("a background task died")]
    Task(#[source] tokio::task::JoinError),
    #[error("a background task died before it answered")]
    TaskGone,
    #[error("a TOTP secret could not be sealed or opened")]
    Sealing(#[source] crate::common::sealing::SealError),
    #[error("second-factor state could not be (de)serialised")]
    Serialise(#[source] serde_json::Error),
    #[error("WebAuthn: {0}")]
    Webauthn(String),
}

impl From<HashError> for AuthError {
    fn from(e: HashError) -> Self {
        match e {
            HashError::Busy => Self::HashingBusy,
            other => Self::Internal(InternalError::Hashing(other)),
        }
    }
}
