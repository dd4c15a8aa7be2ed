//! Login, refresh and logout: the routes that hand out or end sessions.

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::TokenPair;
use crate::common::identity::Identity;
use crate::http::body::{self, Encoding};
use crate::http::client::client;
use crate::http::state::AppState;
use crate::http::{ApiError, ApiResult};
use authd_guard::Presented;

/// RFC 6749 §5.1 plus what a mobile client needs to schedule its refresh.
#[derive(Serialize, ToSchema)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
    refresh_token_expires_in: u64,
    session_id: String,
}

fn token_response(pair: TokenPair, state: &AppState) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    // The nonce the next proof needs, so a client seldom meets
    // `use_dpop_nonce` (RFC 9449 §8.2).
    if let Some(nonce) = state.auth.dpop_nonce() {
        res.insert_header(("DPoP-Nonce", nonce));
    }
    res.json(TokenResponse {
        access_token: pair.access_token,
        token_type: if pair.dpop_bound { "DPoP" } else { "Bearer" },
        expires_in: pair.expires_in,
        refresh_token: pair.refresh_token,
        refresh_token_expires_in: pair.refresh_token_expires_in,
        session_id: pair.session_id.to_string(),
    })
}

#[derive(Deserialize, ToSchema)]
struct LoginRequest {
    #[schema(format = "email", max_length = 254)]
    email: String,
    #[schema(min_length = 8, max_length = 1024)]
    password: String,
    /// A name for the device (at most 100 characters), shown in the
    /// session list.
    #[schema(max_length = 100)]
    device: Option<String>,
}

/// Logs in: a session, its first refresh token and an access token.
#[utoipa::path(post, path = "/api/login", tag = "tokens",
    params(("DPoP" = Option<String>, Header, description = "An RFC 9449 proof (docs/api.md, DPoP): binds the session to its key, or proves the key a bound session needs")),
    request_body(content = LoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, description = "Invalid input, or wrong email or password (`invalid_request`, `invalid_grant`); a bad DPoP proof (`invalid_dpop_proof`) or one without the server nonce (`use_dpop_nonce`, with `DPoP-Nonce`)", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body neither JSON nor (where allowed) form-encoded (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        (status = 429, description = "Throttled (`rate_limited`), with `Retry-After`", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn login(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<LoginRequest>(&req, &body, false)?;
    let client = client(&req, &state.trusted_proxies);
    let presented = Presented::from_request(&req, state.auth.dpop_public_base());
    let pair = state
        .auth
        .login(
            &input.email,
            &input.password,
            input.device.as_deref(),
            &client,
            &presented,
        )
        .await?;
    Ok(token_response(pair, &state))
}

/// JSON `{"refresh_token"}` or RFC 6749 §6 form fields.
#[derive(Deserialize, ToSchema)]
struct RefreshRequest {
    /// Form encoding only, and then required: `refresh_token`.
    #[schema(pattern = "^refresh_token$")]
    grant_type: Option<String>,
    /// Required: the refresh token the last response returned.
    #[schema(min_length = 107, max_length = 107, pattern = "^[A-Za-z0-9_-]+$")]
    refresh_token: Option<String>,
}

/// Rotates a refresh token: a new refresh token and access token.
#[utoipa::path(post, path = "/api/token", tag = "tokens",
    params(("DPoP" = Option<String>, Header, description = "An RFC 9449 proof (docs/api.md, DPoP): binds the session to its key, or proves the key a bound session needs")),
    request_body(content(
        (RefreshRequest = "application/json"),
        (RefreshRequest = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 200, description = "Rotated", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type`, or `invalid_grant` with `reason`; `invalid_dpop_proof` (a bad proof, or a bound session without a proof by its key: nothing changes) or `use_dpop_nonce`", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body neither JSON nor (where allowed) form-encoded (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn refresh(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, encoding) = body::required::<RefreshRequest>(&req, &body, true)?;
    match (encoding, input.grant_type.as_deref()) {
        (_, Some("refresh_token")) | (Encoding::Json, None) => {}
        (Encoding::Form, None) => return Err(ApiError::InvalidRequest("grant_type is required")),
        (_, Some(_)) => return Err(ApiError::UnsupportedGrantType),
    }
    let presented = input
        .refresh_token
        .ok_or(ApiError::InvalidRequest("refresh_token is required"))?;
    let request = Presented::from_request(&req, state.auth.dpop_public_base());
    Ok(token_response(
        state.auth.refresh(&presented, &request).await?,
        &state,
    ))
}

#[derive(Deserialize, ToSchema)]
struct LogoutRequest {
    #[schema(min_length = 1)]
    refresh_token: String,
}

/// Ends the session of the refresh token in the body or, without one, the
/// Bearer's. Idempotent.
#[utoipa::path(post, path = "/api/logout", tag = "tokens", security((), ("bearer" = [])),
    params(("DPoP" = Option<String>, Header, description = "An RFC 9449 proof (docs/api.md, DPoP): binds the session to its key, or proves the key a bound session needs")),
    request_body(content = Option<LogoutRequest>, content_type = "application/json"),
    responses(
        (status = 204, description = "Ended, or already ended"),
        (status = 400, description = "Malformed or invalid input (`invalid_request`); a bad DPoP proof, or a bound session without a proof by its key (`invalid_dpop_proof`, nothing ends), or `use_dpop_nonce`", body = crate::http::error::ErrorBody),
        (status = 401, description = "No valid access token (`invalid_token`), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body neither JSON nor (where allowed) form-encoded (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn logout(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let input = body::optional::<LogoutRequest>(&req, &body, false)?;
    let refresh_token = input.as_ref().map(|(i, _)| i.refresh_token.as_str());
    let presented = Presented::from_request(&req, state.auth.dpop_public_base());
    state.auth.logout(refresh_token, &presented).await?;
    Ok(no_content())
}

/// Ends every session of the caller.
#[utoipa::path(post, path = "/api/logout-all", tag = "tokens", security(("bearer" = [])),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "No valid access token (`invalid_token`), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn logout_all(
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    state.auth.logout_all(*identity).await?;
    Ok(no_content())
}

fn no_content() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
