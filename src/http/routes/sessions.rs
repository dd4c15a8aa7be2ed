//! A user's devices: list the live sessions, end one of them.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::common::clock::rfc3339;
use crate::common::identity::Identity;
use crate::http::mount::{guarded, Guards};
use crate::http::state::AppState;
use crate::http::ApiResult;

#[derive(Serialize, ToSchema)]
struct SessionList {
    sessions: Vec<SessionView>,
}

/// Times are RFC 3339; `current` marks the caller's own session;
/// `dpop_bound`: only requests proving the session's DPoP key refresh it.
#[derive(Serialize, ToSchema)]
struct SessionView {
    id: String,
    created_at: String,
    last_used_at: String,
    expires_at: String,
    device: Option<String>,
    user_agent: Option<String>,
    ip: Option<String>,
    current: bool,
    dpop_bound: bool,
}

/// The caller's live sessions.
#[utoipa::path(get, path = "/api/sessions", operation_id = "list_sessions", tag = "sessions", security(("bearer" = [])),
    responses(
        (status = 200, description = "The sessions", body = SessionList),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn list(
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let sessions: Vec<SessionView> = state
        .auth
        .sessions(*identity)
        .await?
        .into_iter()
        .map(|s| SessionView {
            id: s.info.id.to_string(),
            created_at: rfc3339(s.info.created_ms / 1000),
            last_used_at: rfc3339(s.info.last_used_ms / 1000),
            expires_at: rfc3339(s.info.expires_ms / 1000),
            device: s.info.device,
            user_agent: s.info.user_agent,
            ip: s.info.ip,
            current: s.current,
            dpop_bound: s.info.dpop_bound,
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(SessionList { sessions }))
}

/// Ends one of the caller's sessions.
#[utoipa::path(delete, path = "/api/sessions/{id}", tag = "sessions", security(("bearer" = [])),
    params(("id" = String, Path, description = "A session id (UUID)")),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        (status = 404, description = "Not found (`not_found`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn end(
    identity: web::ReqData<Identity>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    state.auth.end_session(*identity, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mounts the caller's device sessions.
pub fn configure(cfg: &mut web::ServiceConfig, guards: &Guards) {
    cfg.service(guarded(
        &guards.require,
        "/api/sessions",
        web::get().to(list),
    ))
    .service(guarded(
        &guards.require,
        "/api/sessions/{id}",
        web::delete().to(end),
    ));
}
