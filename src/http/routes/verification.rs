//! Proving an email address: the token from the mailed link, and asking for
//! a new link.

use actix_web::guard;
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::common::identity::Identity;
use crate::http::body;
use crate::http::client::client;
use crate::http::mount::{open, Guards};
use crate::http::state::AppState;
use crate::http::{ApiError, ApiResult};

#[derive(Deserialize, ToSchema)]
struct VerifyRequest {
    /// The token from the verification link.
    #[schema(min_length = 1, max_length = 128)]
    token: String,
}

/// Marks the address verified with the token from the mailed link.
#[utoipa::path(post, path = "/api/email/verify", tag = "account",
    request_body(content = VerifyRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "The address is verified"),
        (status = 400, description = "Malformed input (`invalid_request`); an unknown, used, replaced or expired token (`invalid_grant`)", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body not JSON (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn verify(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<VerifyRequest>(&req, &body, false)?;
    state.auth.verify_email(&input.token).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, ToSchema)]
struct ResendRequest {
    /// Without a Bearer token: the address to mail a new link to (if it has
    /// an account not verified yet).
    #[schema(format = "email", max_length = 254)]
    email: String,
}

/// Mails a new verification link (the older one stops working): to the
/// caller with a Bearer token, or, without one, to the account of
/// `{"email"}` (the same answer for every address).
#[utoipa::path(post, path = "/api/email/verify/resend", tag = "account", security((), ("bearer" = [])),
    request_body(content = Option<ResendRequest>, content_type = "application/json"),
    responses(
        (status = 202, description = "A new link is mailed (by address: if the address has an account not verified yet)", body = Object),
        (status = 400, description = "No Bearer token and no valid `email` (`invalid_request`)", body = crate::http::error::ErrorBody),
        (status = 401, description = "A Bearer token that is not valid (`invalid_token`), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        (status = 409, description = "The caller's address is verified already (`already_verified`)", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body not JSON (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        (status = 429, description = "Throttled (`rate_limited`), with `Retry-After`", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn resend(
    req: HttpRequest,
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let client = client(&req, &state.trusted_proxies);
    state.auth.resend_verification(*identity, &client).await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({})))
}

/// The resend without a Bearer token: by address.
pub async fn resend_by_address(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::optional::<ResendRequest>(&req, &body, false)?.ok_or(
        ApiError::InvalidRequest("send {\"email\"}, or a Bearer access token"),
    )?;
    let client = client(&req, &state.trusted_proxies);
    state
        .auth
        .resend_verification_to(&input.email, &client)
        .await?;
    Ok(HttpResponse::Accepted().json(serde_json::json!({})))
}

/// Mounts email verification: the resend behind the guard when a Bearer
/// token comes, by address when none does.
pub fn configure(cfg: &mut web::ServiceConfig, guards: &Guards) {
    let with_token =
        guard::fn_guard(|ctx| ctx.head().headers().contains_key(header::AUTHORIZATION));
    cfg.service(open("/api/email/verify", web::post().to(verify)))
        .service(
            web::resource("/api/email/verify/resend")
                .guard(with_token)
                .wrap(guards.require.clone())
                .route(web::post().to(resend)),
        )
        .service(open(
            "/api/email/verify/resend",
            web::post().to(resend_by_address),
        ));
}
