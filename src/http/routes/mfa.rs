//! TOTP as a second factor: enrol, confirm with a first code (the answer
//! holds the recovery codes), turn off with a code or a recovery code.

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::SecondFactor;
use crate::common::identity::Identity;
use crate::http::body;
use crate::http::client::client;
use crate::http::mount::{guarded, Guards};
use crate::http::state::AppState;
use crate::http::{ApiError, ApiResult};

#[derive(Serialize, ToSchema)]
struct TotpEnrolment {
    /// Base32, for typing into an authenticator app.
    secret: String,
    /// `otpauth://totp/…` (SHA-1, 6 digits, 30 s), for a QR code.
    otpauth_uri: String,
}

/// Starts a TOTP enrolment: a new secret, shown once (a second call
/// replaces a pending one). TOTP is on only once a code confirms it.
#[utoipa::path(post, path = "/api/mfa/totp", tag = "second factors", security(("bearer" = [])),
    responses(
        (status = 200, description = "A pending enrolment", body = TotpEnrolment),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        (status = 403, description = "The user has a second factor and the token's login did not use one (`insufficient_user_authentication`)", body = crate::http::error::ErrorBody),
        (status = 409, description = "TOTP is on already (`already_enrolled`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn enrol(
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let started = state.auth.enrol_totp(*identity).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(TotpEnrolment {
            secret: started.secret,
            otpauth_uri: started.otpauth_uri,
        }))
}

#[derive(Deserialize, ToSchema)]
struct TotpConfirmation {
    /// The app's current code.
    #[schema(pattern = "^[0-9]{6}$")]
    code: String,
}

#[derive(Serialize, ToSchema)]
struct RecoveryCodes {
    /// Ten single-use codes, shown once: each replaces a TOTP code once.
    recovery_codes: Vec<String>,
}

/// Confirms the pending enrolment with a first code: TOTP is on from now.
#[utoipa::path(post, path = "/api/mfa/totp/confirm", tag = "second factors", security(("bearer" = [])),
    request_body(content = TotpConfirmation, content_type = "application/json"),
    responses(
        (status = 200, description = "TOTP is on", body = RecoveryCodes),
        (status = 400, description = "`invalid_request`; `invalid_grant` for a wrong or used code, or no pending enrolment", body = crate::http::error::ErrorBody),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        (status = 403, description = "The user has a second factor and the token's login did not use one (`insufficient_user_authentication`)", body = crate::http::error::ErrorBody),
        (status = 409, description = "TOTP is on already (`already_enrolled`)", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body not JSON (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        (status = 429, description = "Throttled (`rate_limited`): wrong codes count as wrong passwords", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn confirm(
    req: HttpRequest,
    body: Bytes,
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<TotpConfirmation>(&req, &body, false)?;
    let client = client(&req, &state.trusted_proxies);
    let recovery_codes = state
        .auth
        .confirm_totp(*identity, &input.code, &client)
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(RecoveryCodes { recovery_codes }))
}

#[derive(Deserialize, ToSchema)]
struct TotpRemoval {
    /// A current code…
    #[schema(pattern = "^[0-9]{6}$")]
    code: Option<String>,
    /// …or a recovery code.
    #[schema(max_length = 64)]
    recovery_code: Option<String>,
}

/// Turns TOTP off (and drops its recovery codes), proven by a code or a
/// recovery code; a notice is mailed.
#[utoipa::path(delete, path = "/api/mfa/totp", operation_id = "disable_totp", tag = "second factors", security(("bearer" = [])),
    request_body(content = TotpRemoval, content_type = "application/json"),
    responses(
        (status = 204, description = "TOTP is off"),
        (status = 400, description = "`invalid_request`; `invalid_grant` for a wrong or used code, or TOTP not on", body = crate::http::error::ErrorBody),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body not JSON (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        (status = 403, description = "The user has a second factor and the token's login used none of theirs (`insufficient_user_authentication`, RFC 9470 step-up)", body = crate::http::error::ErrorBody),
        (status = 429, description = "Throttled (`rate_limited`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn disable(
    req: HttpRequest,
    body: Bytes,
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<TotpRemoval>(&req, &body, false)?;
    let answer = match (input.code, input.recovery_code) {
        (Some(code), None) => SecondFactor::Code(code),
        (None, Some(code)) => SecondFactor::RecoveryCode(code),
        _ => {
            return Err(ApiError::InvalidRequest(
                "send exactly one of code and recovery_code",
            ))
        }
    };
    let client = client(&req, &state.trusted_proxies);
    state.auth.disable_totp(*identity, answer, &client).await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// Mounts TOTP's resources, behind the enrolment guard.
pub fn configure(cfg: &mut web::ServiceConfig, guards: &Guards) {
    cfg.service(
        web::resource("/api/mfa/totp")
            .wrap(guards.enrol.clone())
            .route(web::post().to(enrol))
            .route(web::delete().to(disable)),
    )
    .service(guarded(
        &guards.enrol,
        "/api/mfa/totp/confirm",
        web::post().to(confirm),
    ));
}
