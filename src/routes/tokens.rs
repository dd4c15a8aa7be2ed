//! Login, refresh and logout: the routes that hand out or end sessions.

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::auth::TokenPair;
use crate::http::body::{self, Encoding};
use crate::http::client::client;
use crate::http::guard::bearer_token;
use crate::http::{ApiError, ApiResult};
use crate::identity::Identity;
use crate::state::AppState;

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

fn token_response(pair: TokenPair) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(TokenResponse {
            access_token: pair.access_token,
            token_type: "Bearer",
            expires_in: pair.expires_in,
            refresh_token: pair.refresh_token,
            refresh_token_expires_in: pair.refresh_token_expires_in,
            session_id: pair.session_id.to_string(),
        })
}

#[derive(Deserialize)]
struct LoginRequest {
    email: String,
    password: String,
    device: Option<String>,
}

pub async fn login(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<LoginRequest>(&req, &body, false)?;
    let client = client(&req, &state.trusted_proxies);
    let pair = state
        .auth
        .login(
            &input.email,
            &input.password,
            input.device.as_deref(),
            &client,
        )
        .await?;
    Ok(token_response(pair))
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
        (_, Some("refresh_token")) | (Encoding::Json, None) => {}
        (Encoding::Form, None) => return Err(ApiError::InvalidRequest("grant_type is required")),
        (_, Some(_)) => return Err(ApiError::UnsupportedGrantType),
    }
    let presented = input
        .refresh_token
        .ok_or(ApiError::InvalidRequest("refresh_token is required"))?;
    Ok(token_response(state.auth.refresh(&presented).await?))
}

#[derive(Deserialize)]
struct LogoutRequest {
    refresh_token: String,
}

pub async fn logout(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let input = body::optional::<LogoutRequest>(&req, &body, false)?;
    let refresh_token = input.as_ref().map(|(i, _)| i.refresh_token.as_str());
    state
        .auth
        .logout(refresh_token, bearer_token(req.headers()))
        .await?;
    Ok(no_content())
}

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
