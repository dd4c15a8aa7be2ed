//! A user's devices: list the live sessions, end one of them.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::common::clock::rfc3339;
use crate::http::ApiResult;
use crate::identity::Identity;
use crate::state::AppState;

#[derive(Serialize)]
struct SessionView {
    id: String,
    created_at: String,
    last_used_at: String,
    expires_at: String,
    device: Option<String>,
    user_agent: Option<String>,
    ip: Option<String>,
    current: bool,
}

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
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "sessions": sessions })))
}

pub async fn end(
    identity: web::ReqData<Identity>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    state.auth.end_session(*identity, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}
