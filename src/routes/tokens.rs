//! Login, refresh and logout: the routes that hand out or end sessions.

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use super::body;
use crate::error::{ApiError, ApiResult, GrantFailure};
use crate::guard::verify_bearer;
use crate::identity::Identity;
use crate::sessions::{IssuedRefresh, RefreshToken, RotateOutcome};
use crate::state::AppState;
use crate::users::{Email, Password};

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
        .issue(identity)
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
}

pub async fn login(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<LoginRequest>(&req, &body, false)?;
    let email = Email::parse(&input.email)
        .ok_or(ApiError::InvalidRequest("email is not a valid address"))?;
    let password = match Password::parse(&input.password) {
        Ok(password) => password,
        // Too long: refused before any hashing. Too short: cannot be any
        // account's password, so it is simply wrong.
        Err(crate::users::credentials::PasswordProblem::TooLong) => {
            return Err(ApiError::InvalidRequest(
                "password must be at most 1024 characters",
            ))
        }
        Err(crate::users::credentials::PasswordProblem::TooShort) => {
            return Err(ApiError::InvalidGrant { reason: None })
        }
    };
    let found = state.users.find_credentials(&email).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), Some(hash)),
        None => (None, None),
    };
    let verified = state.hasher.verify(password, hash).await?;
    let user = match user {
        Some(user) if verified => user,
        _ => return Err(ApiError::InvalidGrant { reason: None }),
    };
    let refresh = state.sessions.create(user.id).await?;
    token_response(&state, refresh)
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
/// one, by the Bearer token. Always 204 for a well-formed request, whether
/// or not the session still existed (RFC 7009 §2.2 spirit).
pub async fn logout(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    match body::optional::<LogoutRequest>(&req, &body, false)? {
        Some((input, _)) => {
            if let Some(token) = RefreshToken::parse(&input.refresh_token) {
                state
                    .sessions
                    .revoke(token.user_id, token.session_id, Some(&token))
                    .await?;
            }
        }
        None => {
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
    state.sessions.revoke_all(identity.user_id, None).await?;
    Ok(no_content())
}

fn no_content() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
