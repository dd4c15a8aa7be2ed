//! A signed-in user's passkeys: register (a WebAuthn ceremony in two
//! requests, which any instance may finish), list, delete. Logging in with
//! one is in `login`.

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::PasskeyInfo;
use crate::common::identity::Identity;
use crate::http::body;
use crate::http::mount::{guarded, Guards};
use crate::http::responses::Ceremony;
use crate::http::state::AppState;
use crate::http::ApiResult;

#[derive(Deserialize, ToSchema)]
struct RegistrationStart {
    /// A name to tell the passkey by (at most 100 characters).
    #[schema(max_length = 100)]
    name: Option<String>,
}

/// Starts registering a passkey.
#[utoipa::path(post, path = "/api/passkeys/register/start", tag = "passkeys", security(("bearer" = [])),
    request_body(content = Option<RegistrationStart>, content_type = "application/json"),
    responses(
        (status = 200, description = "A challenge", body = crate::http::responses::Ceremony),
        (status = 400, description = "Invalid input (`invalid_request`)", body = crate::http::error::ErrorBody),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        (status = 403, description = "The user has a second factor and the token's login did not use one (`insufficient_user_authentication`)", body = crate::http::error::ErrorBody),
        (status = 404, description = "Passkeys are off on this server (`not_found`, naming the settings that turn them on)", body = crate::http::error::ErrorBody),
        (status = 429, description = "Ten registrations started this minute (`rate_limited`), with `Retry-After`", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body not JSON (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn register_start(
    req: HttpRequest,
    body: Bytes,
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let input = body::optional::<RegistrationStart>(&req, &body, false)?;
    let name = input.as_ref().and_then(|(i, _)| i.name.as_deref());
    let (challenge_id, options) = state.auth.passkey_register_start(*identity, name).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Ceremony::new(challenge_id, &options.public_key)?))
}

#[derive(Deserialize, ToSchema)]
struct RegistrationFinish {
    #[schema(min_length = 1)]
    challenge_id: String,
    /// The authenticator's answer (`PublicKeyCredential` JSON).
    #[schema(value_type = Object)]
    credential: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
struct Passkey {
    id: String,
    name: String,
    /// Unix seconds.
    created_at: i64,
    /// Unix seconds; absent until first used.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used_at: Option<i64>,
    /// Synced between devices (a login with it says `swk`), else bound to
    /// one (`hwk`).
    synced: bool,
}

impl From<PasskeyInfo> for Passkey {
    fn from(info: PasskeyInfo) -> Self {
        Self {
            id: info.id.to_string(),
            name: info.name,
            created_at: info.created_at,
            last_used_at: info.last_used_at,
            synced: info.synced,
        }
    }
}

/// Finishes registering a passkey; from now on a password login of this
/// user asks for a second factor.
#[utoipa::path(post, path = "/api/passkeys/register/finish", tag = "passkeys", security(("bearer" = [])),
    request_body(content = RegistrationFinish, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered", body = Passkey),
        (status = 400, description = "`invalid_request`; `invalid_grant` for an unknown, expired or used `challenge_id`, a refused attestation (e.g. a wrong origin) or a passkey registered already", body = crate::http::error::ErrorBody),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        (status = 403, description = "The user has a second factor and the token's login did not use one (`insufficient_user_authentication`)", body = crate::http::error::ErrorBody),
        (status = 404, description = "Passkeys are off on this server (`not_found`, naming the settings that turn them on)", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body not JSON (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn register_finish(
    req: HttpRequest,
    body: Bytes,
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<RegistrationFinish>(&req, &body, false)?;
    let passkey = state
        .auth
        .passkey_register_finish(*identity, &input.challenge_id, input.credential)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Passkey::from(passkey)))
}

/// The caller's passkeys, oldest first.
#[utoipa::path(get, path = "/api/passkeys", operation_id = "list_passkeys", tag = "passkeys", security(("bearer" = [])),
    responses(
        (status = 200, description = "The passkeys", body = Vec<Passkey>),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn list(
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let passkeys: Vec<Passkey> = state
        .auth
        .passkeys(*identity)
        .await?
        .into_iter()
        .map(Passkey::from)
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(passkeys))
}

/// Deletes one of the caller's passkeys.
#[utoipa::path(delete, path = "/api/passkeys/{id}", operation_id = "delete_passkey", tag = "passkeys", security(("bearer" = [])),
    params(("id" = String, Path, description = "The passkey's id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        (status = 403, description = "The token's login did not use a second factor or passkey (`insufficient_user_authentication`)", body = crate::http::error::ErrorBody),
        (status = 404, description = "None of the caller's (`not_found`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn delete(
    path: web::Path<String>,
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    state.auth.delete_passkey(*identity, &path).await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// Mounts the passkeys of a signed-in user (their logins are `login`'s).
pub fn configure(cfg: &mut web::ServiceConfig, guards: &Guards) {
    let enrol = &guards.enrol;
    cfg.service(guarded(
        enrol,
        "/api/passkeys/register/start",
        web::post().to(register_start),
    ))
    .service(guarded(
        enrol,
        "/api/passkeys/register/finish",
        web::post().to(register_finish),
    ))
    .service(guarded(enrol, "/api/passkeys", web::get().to(list)))
    .service(guarded(
        &guards.require,
        "/api/passkeys/{id}",
        web::delete().to(delete),
    ));
}
