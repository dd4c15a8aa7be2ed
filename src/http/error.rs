//! The JSON error contract: every failure a client can see is an `ApiError`,
//! rendered as `{"error", "error_description"}` with the contract's status
//! and headers. Library error text never reaches a response body; the cause
//! of a 503 or 500 is logged with its whole chain.

use actix_web::dev::ServiceResponse;
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use authd_guard::dpop::ProofError;
use authd_guard::TokenProblem;

use crate::auth::{AuthError, Mailed};
use crate::common::error_chain;

/// Seconds a client should wait before retrying after a 503.
const RETRY_AFTER_UNAVAILABLE: &str = "1";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidRequest(&'static str),
    /// `invalid_request` for a body of the wrong shape: the text names the
    /// field (never its value).
    #[error("{0}")]
    InvalidBody(String),
    /// `invalid_grant`: which credential or token was refused, and why.
    #[error("invalid grant: {0:?}")]
    InvalidGrant(Grant),
    #[error("unsupported grant type")]
    UnsupportedGrantType,
    #[error("invalid token: {0:?}")]
    InvalidToken(TokenProblem),
    #[error("invalid DPoP proof")]
    InvalidDpopProof(ProofError),
    /// The nonce the proof must carry, sent as `DPoP-Nonce`.
    #[error("DPoP nonce required")]
    UseDpopNonce(String),
    #[error("not found")]
    NotFound,
    /// A feature turned off: `not_found`, saying what turns it on.
    #[error("{0}")]
    Off(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("email taken")]
    EmailTaken,
    #[error("email not verified")]
    EmailNotVerified,
    #[error("already verified")]
    AlreadyVerified,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("a second factor is required")]
    MfaRequired(Box<crate::auth::MfaRequired>),
    /// `invalid_grant` saying what was wrong with a second factor.
    #[error("{0}")]
    InvalidFactor(&'static str),
    #[error("already enrolled")]
    AlreadyEnrolled,
    /// `invalid_grant` saying what was wrong with an ID token.
    #[error("{0}")]
    IdTokenRefused(&'static str),
    #[error("account exists")]
    AccountExists,
    #[error("identity in use")]
    IdentityInUse,
    #[error("last sign-in method")]
    LastSignInMethod,
    /// 409 `email_not_verified`: the provider has not verified the address.
    #[error("address not verified by the provider")]
    AddressNotVerified,
    #[error("insufficient user authentication")]
    InsufficientAuthentication,
    #[error("store unavailable")]
    Unavailable(#[source] Cause),
    /// `/readyz`: 503 `temporarily_unavailable` naming the stores that do
    /// not answer (`redis`, `database`).
    #[error("{description}")]
    NotReady {
        stores: Vec<&'static str>,
        description: String,
    },
    #[error("internal error")]
    Internal(#[source] Cause),
}

impl ApiError {
    /// `/readyz`'s answer when `stores` (`redis`, `database`) do not answer.
    pub fn not_ready(stores: Vec<&'static str>) -> Self {
        let description = match stores.as_slice() {
            [one] => format!("{one} does not answer"),
            [all @ .., last] => format!("{} and {last} do not answer", all.join(", ")),
            [] => "a store does not answer".to_string(),
        };
        Self::NotReady {
            stores,
            description,
        }
    }
}

/// What went wrong underneath a 503 or 500, for the log.
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidRequest(text) => Self::InvalidRequest(text),
            AuthError::InvalidCredentials => Self::InvalidGrant(Grant::Credentials),
            AuthError::WrongPassword => Self::InvalidGrant(Grant::CurrentPassword),
            AuthError::CredentialsChanged => Self::InvalidGrant(Grant::CredentialsChanged),
            AuthError::MailedTokenInvalid(Mailed::Reset) => Self::InvalidGrant(Grant::ResetToken),
            AuthError::MailedTokenInvalid(Mailed::Verify) => Self::InvalidGrant(Grant::VerifyToken),
            AuthError::RefreshInvalid => Self::InvalidGrant(Grant::Refresh(GrantFailure::Invalid)),
            AuthError::RefreshReused => Self::InvalidGrant(Grant::Refresh(GrantFailure::Reused)),
            AuthError::InvalidToken(problem) => Self::InvalidToken(problem),
            AuthError::InvalidDpopProof(e) => Self::InvalidDpopProof(e),
            AuthError::UseDpopNonce(nonce) => Self::UseDpopNonce(nonce),
            AuthError::NotFound => Self::NotFound,
            AuthError::Off(text) => Self::Off(text),
            AuthError::EmailTaken => Self::EmailTaken,
            AuthError::EmailNotVerified => Self::EmailNotVerified,
            AuthError::AlreadyVerified => Self::AlreadyVerified,
            AuthError::RateLimited { retry_after_secs } => Self::RateLimited { retry_after_secs },
            AuthError::InvalidFactor(text) => Self::InvalidFactor(text),
            AuthError::AlreadyEnrolled => Self::AlreadyEnrolled,
            AuthError::IdTokenRefused(text) => Self::IdTokenRefused(text),
            AuthError::AccountExists => Self::AccountExists,
            AuthError::IdentityInUse => Self::IdentityInUse,
            AuthError::LastSignInMethod => Self::LastSignInMethod,
            AuthError::AddressNotVerified => Self::AddressNotVerified,
            AuthError::ProviderUnavailable(cause) => Self::Unavailable(Box::new(cause)),
            AuthError::InsufficientAuthentication => Self::InsufficientAuthentication,
            AuthError::Store(cause) => Self::Unavailable(Box::new(cause)),
            busy @ AuthError::HashingBusy => Self::Unavailable(Box::new(busy)),
            AuthError::Internal(cause) => Self::Internal(Box::new(cause)),
        }
    }
}

/// What an `invalid_grant` refused; each says so in its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// Wrong email or password at login.
    Credentials,
    /// The current password, asked before a change or a deletion.
    CurrentPassword,
    /// The password changed while the request was checked.
    CredentialsChanged,
    /// A password reset token: unknown, used, replaced or expired.
    ResetToken,
    /// An address verification token: unknown, used, replaced or expired.
    VerifyToken,
    /// A refresh token, with the `reason` `/api/token` reports.
    Refresh(GrantFailure),
}

impl Grant {
    pub fn description(self) -> &'static str {
        match self {
            Self::Credentials => "the email or password is wrong",
            Self::CurrentPassword => "the current password is wrong",
            Self::CredentialsChanged => {
                "the password changed while this request was checked: use the new one"
            }
            Self::ResetToken => {
                "the reset token is unknown, used, replaced by a newer mail, or expired: ask for a new one at /api/password/forgot"
            }
            Self::VerifyToken => {
                "the verification token is unknown, used, replaced by a newer mail, or expired: ask for a new one at /api/email/verify/resend"
            }
            Self::Refresh(GrantFailure::Invalid) => {
                "the refresh token is unknown, expired or revoked: log in again"
            }
            Self::Refresh(GrantFailure::Reused) => {
                "the refresh token had already been used, so its session was revoked: log in again"
            }
        }
    }

    /// `reason`, on `/api/token`'s answers only.
    fn reason(self) -> Option<GrantFailure> {
        match self {
            Self::Refresh(reason) => Some(reason),
            _ => None,
        }
    }
}

/// Why a refresh token was refused; `/api/token` reports it as `reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum GrantFailure {
    Invalid,
    Reused,
}

/// Every error: a code from the table in docs/api.md and a sentence.
#[derive(Serialize, utoipa::ToSchema, utoipa::ToResponse)]
#[response(description = "An error (see `error` for which)")]
pub struct ErrorBody<'a> {
    /// `invalid_request`, `invalid_grant`, `unsupported_grant_type`,
    /// `invalid_token`, `invalid_dpop_proof`, `use_dpop_nonce`, `not_found`,
    /// `email_taken`, `email_not_verified`,
    /// `already_verified`, `mfa_required`, `already_enrolled`,
    /// `insufficient_user_authentication`, `account_exists`,
    /// `identity_in_use`, `last_sign_in_method`,
    /// `payload_too_large`, `unsupported_media_type`, `rate_limited`,
    /// `temporarily_unavailable` or `server_error`.
    error: &'a str,
    /// What to fix, in words: the field missing or of the wrong type (by
    /// name, never its value); which token or credential was refused and
    /// why (an expired access token, an ended session, a reused refresh
    /// token, a used reset link…); the store `/readyz` found not answering.
    /// The table in docs/api.md lists them.
    error_description: &'a str,
    /// With `invalid_grant` from `/api/token`: `reused` when the token had
    /// been rotated already and its session was revoked, else `invalid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<GrantFailure>,
    /// With a 503 from `/readyz`: the stores that do not answer, of
    /// `redis` and `database`.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    #[schema(value_type = Vec<String>, required = false)]
    unavailable: &'a [&'static str],
}

/// A login's 403: `mfa_required`, the second step of a login (docs/api.md),
/// or `email_not_verified` (the error body alone).
#[derive(Serialize, utoipa::ToSchema)]
pub struct MfaRequiredBody<'a> {
    /// `mfa_required` (or `email_not_verified`)
    error: &'a str,
    error_description: &'a str,
    /// With `mfa_required`: single use, for 5 minutes; send it to
    /// `/api/login/mfa`.
    #[schema(required = false)]
    mfa_token: &'a str,
    /// With `mfa_required`: what the second step takes: `totp` (a code or
    /// a recovery code), `webauthn` (a passkey assertion).
    #[schema(value_type = Vec<String>, required = false)]
    factors: &'a [&'static str],
    /// With `webauthn`: the `PublicKeyCredentialRequestOptions` for
    /// `navigator.credentials.get`.
    #[serde(rename = "publicKey", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    public_key: Option<&'a serde_json::Value>,
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) | Self::InvalidBody(_) => "invalid_request",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidToken(_) => "invalid_token",
            Self::InvalidDpopProof(_) => "invalid_dpop_proof",
            Self::UseDpopNonce(_) => "use_dpop_nonce",
            Self::NotFound | Self::Off(_) => "not_found",
            Self::MethodNotAllowed => "invalid_request",
            Self::EmailTaken => "email_taken",
            Self::EmailNotVerified => "email_not_verified",
            Self::AlreadyVerified => "already_verified",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::RateLimited { .. } => "rate_limited",
            Self::MfaRequired(_) => "mfa_required",
            Self::InvalidFactor(_) => "invalid_grant",
            Self::AlreadyEnrolled => "already_enrolled",
            Self::IdTokenRefused(_) => "invalid_grant",
            Self::AccountExists => "account_exists",
            Self::IdentityInUse => "identity_in_use",
            Self::LastSignInMethod => "last_sign_in_method",
            Self::AddressNotVerified => "email_not_verified",
            Self::InsufficientAuthentication => "insufficient_user_authentication",
            Self::Unavailable(_) | Self::NotReady { .. } => "temporarily_unavailable",
            Self::Internal(_) => "server_error",
        }
    }

    fn description(&self) -> &str {
        match self {
            Self::InvalidRequest(text) => text,
            Self::InvalidBody(text) => text,
            Self::InvalidGrant(grant) => grant.description(),
            Self::UnsupportedGrantType => "grant_type must be refresh_token or authorization_code",
            Self::InvalidToken(problem) => problem.description(),
            Self::InvalidDpopProof(e) => e.description(),
            Self::UseDpopNonce(_) => {
                "the DPoP proof must carry the server nonce given in the DPoP-Nonce header"
            }
            Self::NotFound => "no such resource",
            Self::Off(text) => text,
            Self::MethodNotAllowed => "this route does not take that method",
            Self::EmailTaken => "an account with this email already exists",
            Self::EmailNotVerified => {
                "the email address is not verified yet: follow the link mailed to it"
            }
            Self::AlreadyVerified => "the email address is already verified",
            Self::PayloadTooLarge => "the request body is larger than 16 KiB",
            Self::UnsupportedMediaType => "the body must be application/json",
            Self::RateLimited { .. } => "too many attempts; retry later",
            Self::MfaRequired(_) => {
                "the password or ID token is right; finish the login with a second factor at /api/login/mfa"
            }
            Self::InvalidFactor(text) => text,
            Self::AlreadyEnrolled => "TOTP is on already: turn it off before enrolling again",
            Self::IdTokenRefused(text) => text,
            Self::AccountExists => {
                "an account holds this address but has not verified it: log in to it and link the provider at /api/identities"
            }
            Self::IdentityInUse => "this identity is linked to another account",
            Self::LastSignInMethod => {
                "this is the account's last way in: add a password, a passkey or another provider first"
            }
            Self::AddressNotVerified => {
                "the provider has not verified this address: verify it with the provider, or sign in another way"
            }
            Self::InsufficientAuthentication => {
                authd_guard::INSUFFICIENT_AUTHENTICATION_DESCRIPTION
            }
            Self::Unavailable(_) => authd_guard::UNAVAILABLE_DESCRIPTION,
            Self::NotReady { description, .. } => description,
            Self::Internal(_) => "internal error",
        }
    }
}

impl ApiError {
    /// Logs what lies underneath a 503 or a 500 (nothing for the others).
    pub fn log_cause(&self) {
        match self {
            Self::Unavailable(cause) => log::warn!("answering 503: {}", error_chain(&**cause)),
            Self::Internal(cause) => log::error!("answering 500: {}", error_chain(&**cause)),
            _ => {}
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidRequest(_)
            | Self::InvalidBody(_)
            | Self::InvalidGrant(_)
            | Self::UnsupportedGrantType
            | Self::InvalidDpopProof(_)
            | Self::UseDpopNonce(_)
            | Self::InvalidFactor(_)
            | Self::IdTokenRefused(_) => StatusCode::BAD_REQUEST,
            Self::MfaRequired(_) | Self::InsufficientAuthentication => StatusCode::FORBIDDEN,
            Self::AlreadyEnrolled
            | Self::AccountExists
            | Self::AddressNotVerified
            | Self::IdentityInUse
            | Self::LastSignInMethod => StatusCode::CONFLICT,
            Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound | Self::Off(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::EmailTaken => StatusCode::CONFLICT,
            Self::EmailNotVerified => StatusCode::FORBIDDEN,
            Self::AlreadyVerified => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::NotReady { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        self.log_cause();
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            Self::InvalidToken(problem) => {
                res.insert_header((header::WWW_AUTHENTICATE, problem.challenge()));
            }
            Self::RateLimited { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            Self::Unavailable(_) | Self::NotReady { .. } => {
                res.insert_header((header::RETRY_AFTER, RETRY_AFTER_UNAVAILABLE));
            }
            Self::UseDpopNonce(nonce) => {
                res.insert_header(("DPoP-Nonce", nonce.as_str()));
            }
            Self::InsufficientAuthentication => {
                res.insert_header((header::WWW_AUTHENTICATE, authd_guard::STEP_UP_CHALLENGE));
            }
            _ => {}
        }
        if let Self::MfaRequired(challenge) = self {
            return res.json(MfaRequiredBody {
                error: self.code(),
                error_description: self.description(),
                mfa_token: &challenge.mfa_token,
                factors: &challenge.factors,
                public_key: challenge.public_key.as_ref(),
            });
        }
        let reason = match self {
            Self::InvalidGrant(grant) => grant.reason(),
            _ => None,
        };
        let unavailable = match self {
            Self::NotReady { stores, .. } => stores.as_slice(),
            _ => &[],
        };
        res.json(ErrorBody {
            error: self.code(),
            error_description: self.description(),
            reason,
            unavailable,
        })
    }
}

/// Rewrites error responses that actix produced itself (unknown route, wrong
/// method, payload errors) into the JSON contract. Responses that already
/// carry JSON pass through untouched.
pub fn render_framework_error<B>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // authd's own answers: JSON, and the pages' HTML.
    let rendered = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if rendered {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let error = match res.status() {
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        s if s.is_server_error() => ApiError::Internal(format!("framework error {s}").into()),
        _ => ApiError::InvalidRequest("the request is malformed"),
    };
    let (req, original) = res.into_parts();
    let mut response = error.error_response();
    // RFC 9110 §15.5.6: a 405 says which methods the route takes; and the
    // CORS headers stay, so a browser on an allowed origin can read it.
    for (name, value) in original.headers() {
        if name == header::ALLOW
            || name == header::VARY
            || name.as_str().starts_with("access-control-")
        {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

/// Shorthand for handlers.
pub type ApiResult<T> = Result<T, ApiError>;
