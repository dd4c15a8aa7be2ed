//! A forgotten password: ask for a reset link, then set a new password with
//! its token.

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::http::body;
use crate::http::client::client;
use crate::http::mount::open;
use crate::http::state::AppState;
use crate::http::ApiResult;

#[derive(Deserialize, ToSchema)]
struct ForgotRequest {
    #[schema(format = "email", max_length = 254)]
    email: String,
}

#[derive(Deserialize, ToSchema)]
struct ResetRequest {
    /// The token from the reset link.
    #[schema(min_length = 1, max_length = 128)]
    token: String,
    /// 8 to 1024 characters, any Unicode (normalized to NFC).
    #[schema(min_length = 8, max_length = 1024)]
    new_password: String,
}

/// Mails a password-reset link if the address has an account; the answer
/// is the same either way.
#[utoipa::path(post, path = "/api/password/forgot", tag = "account",
    request_body(content = ForgotRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted: a link is mailed if the address has an account", body = Object),
        (status = 400, description = "Malformed input or not an email address (`invalid_request`)", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body not JSON (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        (status = 429, description = "Throttled per address or client (`rate_limited`), with `Retry-After`", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn forgot(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<ForgotRequest>(&req, &body, false)?;
    let client = client(&req, &state.trusted_proxies);
    state.auth.forgot_password(&input.email, &client).await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({})))
}

/// Sets a new password with a reset token; every session of the account
/// ends.
#[utoipa::path(post, path = "/api/password/reset", tag = "account",
    request_body(content = ResetRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "The password is set; every session ended"),
        (status = 400, description = "Malformed input or a password out of bounds (`invalid_request`); an unknown, used, replaced or expired token (`invalid_grant`)", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body not JSON (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn reset(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<ResetRequest>(&req, &body, false)?;
    state
        .auth
        .reset_password(&input.token, &input.new_password)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mounts a forgotten password's two steps.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(open("/api/password/forgot", web::post().to(forgot)))
        .service(open("/api/password/reset", web::post().to(reset)));
}
