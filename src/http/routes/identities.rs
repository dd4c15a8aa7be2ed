//! The caller's identities at OpenID providers: list, link, unlink.

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::common::identity::Identity;
use crate::http::body;
use crate::http::mount::{guarded, Guards};
use crate::http::responses::LinkedIdentity;
use crate::http::state::AppState;
use crate::http::{ApiError, ApiResult};

#[derive(Serialize, ToSchema)]
struct IdentityList {
    identities: Vec<LinkedIdentity>,
}

/// The caller's identities, oldest first.
#[utoipa::path(get, path = "/api/identities", operation_id = "list_identities", tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, description = "The identities", body = IdentityList),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn list(
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let identities = state
        .auth
        .identities(*identity)
        .await?
        .into_iter()
        .map(LinkedIdentity::from)
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(IdentityList { identities }))
}

#[derive(Deserialize, ToSchema)]
struct IdentityLink {
    #[schema(min_length = 1)]
    provider: String,
    /// A fresh ID token of the identity to link.
    #[schema(min_length = 1)]
    id_token: String,
    /// The nonce whose SHA-256 the ID token carries.
    #[schema(min_length = 1, max_length = 512)]
    nonce: String,
}

/// Links the ID token's identity to the caller: they can sign in with it.
#[utoipa::path(post, path = "/api/identities", operation_id = "link_identity", tag = "account", security(("bearer" = [])),
    request_body(content = IdentityLink, content_type = "application/json"),
    responses(
        (status = 201, description = "Linked (or linked already)", body = LinkedIdentity),
        (status = 400, description = "`invalid_request`; `invalid_grant` for an ID token that fails a check", body = crate::http::error::ErrorBody),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        (status = 403, description = "The user has a second factor and the token's login used none of theirs (`insufficient_user_authentication`)", body = crate::http::error::ErrorBody),
        (status = 404, description = "Sign-in with providers is off (`not_found`)", body = crate::http::error::ErrorBody),
        (status = 409, description = "The identity is another user's (`identity_in_use`)", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body not JSON (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn link(
    req: HttpRequest,
    body: Bytes,
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<IdentityLink>(&req, &body, false)?;
    let linked = state
        .auth
        .link_identity(*identity, &input.provider, &input.id_token, &input.nonce)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(LinkedIdentity::from(linked)))
}

/// Unlinks one of the caller's identities.
#[utoipa::path(delete, path = "/api/identities/{id}", operation_id = "unlink_identity", tag = "account", security(("bearer" = [])),
    params(("id" = String, Path, description = "The identity's id")),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        (status = 403, description = "The user has a second factor and the token's login used none of theirs (`insufficient_user_authentication`)", body = crate::http::error::ErrorBody),
        (status = 404, description = "None of the caller's (`not_found`)", body = crate::http::error::ErrorBody),
        (status = 409, description = "The user's last way in: no password, passkey or other identity (`last_sign_in_method`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn unlink(
    path: web::Path<String>,
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let id = uuid::Uuid::parse_str(&path).map_err(|_| ApiError::NotFound)?;
    state.auth.unlink_identity(*identity, id).await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// Mounts the caller's identities.
pub fn configure(cfg: &mut web::ServiceConfig, guards: &Guards) {
    cfg.service(
        web::resource("/api/identities")
            .wrap(guards.require.clone())
            .route(web::get().to(list))
            .route(web::post().to(link)),
    )
    .service(guarded(
        &guards.require,
        "/api/identities/{id}",
        web::delete().to(unlink),
    ));
}
