//! Login, refresh and logout: the routes that hand out or end sessions.

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::body;
use std::future::Future;
use std::net::IpAddr;

use crate::error::{ApiError, ApiResult, GrantFailure, StoreError};
use crate::guard::{bearer_token, verify_bearer};
use crate::identity::Identity;
use crate::sessions::{IssuedRefresh, RefreshToken, RotateOutcome, SessionMeta};
use crate::state::AppState;
use crate::throttle::Admission;
use crate::users::credentials::PasswordProblem;
use crate::users::{fingerprint, Email, Password, User};

/// RFC 6749 §5.1 plus what a mobile client needs to schedule its refresh.
#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
    refresh_token_expires_in: u64,
    session_id: String,
}

fn token_response(state: &AppState, refresh: IssuedRefresh) -> ApiResult<HttpResponse> {
    let identity = Identity {
        user_id: refresh.token.user_id,
        session_id: refresh.token.session_id,
    };
    let access = state
        .access_tokens
        .issue(identity, refresh.session_end)
        .map_err(|e| ApiError::Internal(format!("signing failed: {e}")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(TokenResponse {
            access_token: access.token,
            token_type: "Bearer",
            expires_in: access.expires_in,
            refresh_token: refresh.token.expose(),
            refresh_token_expires_in: refresh.expires_in.as_secs(),
            session_id: identity.session_id.to_string(),
        }))
}

#[derive(Deserialize)]
struct LoginRequest {
    email: String,
    password: String,
    device: Option<String>,
}

pub const MAX_DEVICE_CHARS: usize = 100;
pub const MAX_USER_AGENT_BYTES: usize = 256;

fn device_name(device: Option<String>) -> ApiResult<Option<String>> {
    let Some(device) = device
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
    else {
        return Ok(None);
    };
    if device.chars().count() > MAX_DEVICE_CHARS || device.chars().any(is_invisible) {
        return Err(ApiError::InvalidRequest(
            "device must be at most 100 characters without control characters",
        ));
    }
    Ok(Some(device))
}

/// Control characters, and the format characters that can disguise a name
/// when it is shown (bidi overrides, zero-width characters, line separators).
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// The `User-Agent`, cut to 256 bytes on a character boundary.
fn user_agent(req: &HttpRequest) -> Option<String> {
    let raw = req.headers().get(header::USER_AGENT)?.as_bytes();
    let ua = String::from_utf8_lossy(raw);
    let ua = ua.trim();
    let mut end = ua.len().min(MAX_USER_AGENT_BYTES);
    while !ua.is_char_boundary(end) {
        end -= 1;
    }
    (end > 0).then(|| ua[..end].to_string())
}

/// The password check shared by login and password change: a throttle
/// slot first (a throttled attempt costs no hashing), then Argon2 against
/// the account's hash or the dummy. `password` is `None` for one too short
/// to be anyone's. Returns the account and the hash it matched.
pub(crate) async fn check_password(
    state: &AppState,
    email: &Email,
    ip: Option<IpAddr>,
    password: Option<Password>,
    account: impl Future<Output = Result<Option<(User, String)>, StoreError>>,
) -> ApiResult<(User, String)> {
    let attempt = match state.throttle.admit(email, ip).await? {
        Admission::Allowed(attempt) => attempt,
        Admission::Throttled { retry_after_secs } => {
            return Err(ApiError::RateLimited { retry_after_secs })
        }
    };
    let checked = async {
        let (user, hash) = match account.await? {
            Some((user, hash)) => (Some(user), Some(hash)),
            None => (None, None),
        };
        let verified = match password {
            Some(password) => state.hasher.verify(password, hash.clone()).await?,
            None => false,
        };
        Ok::<_, StoreError>((user, hash, verified))
    };
    let (user, hash, verified) = match checked.await {
        Ok(checked) => checked,
        Err(e) => {
            // Not a failed login: the database or the hasher did not answer.
            if let Err(release) = state.throttle.release(attempt).await {
                log::warn!("could not release a throttle slot: {release}");
            }
            return Err(e.into());
        }
    };
    match (user, hash) {
        (Some(user), Some(hash)) if verified => {
            state.throttle.succeeded(attempt).await?;
            Ok((user, hash))
        }
        // The attempt's slot stays taken: it was a failure.
        _ => Err(ApiError::InvalidGrant { reason: None }),
    }
}

/// A password as presented for checking: too long is a bad request (never
/// hashed), too short cannot match any account.
pub(crate) fn presented_password(input: &str) -> ApiResult<Option<Password>> {
    match Password::parse(input) {
        Ok(password) => Ok(Some(password)),
        Err(PasswordProblem::TooLong) => Err(ApiError::InvalidRequest(
            "password must be at most 1024 characters",
        )),
        Err(PasswordProblem::TooShort) => Ok(None),
    }
}

pub async fn login(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<LoginRequest>(&req, &body, false)?;
    let email = Email::parse(&input.email)
        .ok_or(ApiError::InvalidRequest("email is not a valid address"))?;
    let password = presented_password(&input.password)?;
    let device = device_name(input.device)?;
    let ip = state.trusted_proxies.client_ip(&req);
    let (user, hash) = check_password(
        &state,
        &email,
        ip,
        password,
        state.users.find_credentials(&email),
    )
    .await?;
    let meta = SessionMeta {
        device,
        user_agent: user_agent(&req),
        ip,
    };
    match state
        .sessions
        .create(user.id, &meta, &fingerprint(&hash))
        .await?
    {
        Some(refresh) => token_response(&state, refresh),
        // The password changed while this login was being checked.
        None => Err(ApiError::InvalidGrant { reason: None }),
    }
}

/// JSON `{"refresh_token"}` or RFC 6749 §6 form fields.
#[derive(Deserialize)]
struct RefreshRequest {
    grant_type: Option<String>,
    refresh_token: Option<String>,
}

pub async fn refresh(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, encoding) = body::required::<RefreshRequest>(&req, &body, true)?;
    match (encoding, input.grant_type.as_deref()) {
        (_, Some("refresh_token")) | (body::Encoding::Json, None) => {}
        (body::Encoding::Form, None) => {
            return Err(ApiError::InvalidRequest("grant_type is required"))
        }
        (_, Some(_)) => return Err(ApiError::UnsupportedGrantType),
    }
    let presented = input
        .refresh_token
        .ok_or(ApiError::InvalidRequest("refresh_token is required"))?;
    let invalid = ApiError::InvalidGrant {
        reason: Some(GrantFailure::Invalid),
    };
    let Some(presented) = RefreshToken::parse(&presented) else {
        return Err(invalid);
    };
    match state.sessions.rotate(&presented).await? {
        RotateOutcome::Rotated(refresh) => token_response(&state, refresh),
        RotateOutcome::Reused => {
            log::warn!(
                "refresh token reuse: session {} of user {} revoked",
                presented.session_id,
                presented.user_id
            );
            Err(ApiError::InvalidGrant {
                reason: Some(GrantFailure::Reused),
            })
        }
        RotateOutcome::Invalid => Err(invalid),
    }
}

#[derive(Deserialize)]
struct LogoutRequest {
    refresh_token: String,
}

/// Ends the session named by the refresh token in the body or, without
/// one, by the Bearer token. 204 means a session ended or had already
/// ended (RFC 7009 §2.2): a well-formed refresh token of an unknown session
/// is a 204; one that does not parse ends the Bearer's session when a valid
/// Bearer came with it, and is a 400 otherwise, never a 204 that ended
/// nothing.
pub async fn logout(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let presented = body::optional::<LogoutRequest>(&req, &body, false)?
        .map(|(input, _)| RefreshToken::parse(&input.refresh_token));
    match presented {
        Some(Some(token)) => {
            state
                .sessions
                .revoke(token.user_id, token.session_id, Some(&token))
                .await?;
        }
        Some(None) if bearer_token(req.headers()).is_none() => {
            return Err(ApiError::InvalidRequest(
                "refresh_token is not a refresh token",
            ))
        }
        Some(None) | None => {
            let identity = verify_bearer(req.headers(), &state)?;
            state
                .sessions
                .revoke(identity.user_id, identity.session_id, None)
                .await?;
        }
    }
    Ok(no_content())
}

pub async fn logout_all(
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    state
        .sessions
        .revoke_all(identity.user_id, None, None)
        .await?;
    Ok(no_content())
}

fn no_content() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
