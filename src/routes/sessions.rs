//! A user's devices: list the live sessions, end one of them.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use uuid::Uuid;

use super::account::rfc3339;
use crate::error::{ApiError, ApiResult};
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

/// `GET /api/sessions`: live sessions only, newest first.
pub async fn list(
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let mut sessions = state.sessions.list(identity.user_id).await?;
    sessions.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(b.id.cmp(&a.id)));
    let sessions: Vec<SessionView> = sessions
        .into_iter()
        .map(|s| SessionView {
            id: s.id.to_string(),
            created_at: rfc3339(s.created_ms / 1000),
            last_used_at: rfc3339(s.last_used_ms / 1000),
            expires_at: rfc3339(s.expires_ms / 1000),
            device: s.device,
            user_agent: s.user_agent,
            ip: s.ip,
            current: s.id == identity.session_id,
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "sessions": sessions })))
}

/// `DELETE /api/sessions/{id}`: 204 when the caller's session ended, 404 for
/// anything else (another user's, already ended, never existed, malformed),
/// so the answer reveals nothing about other users.
pub async fn end(
    identity: web::ReqData<Identity>,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let session = Uuid::parse_str(&path).map_err(|_| ApiError::NotFound)?;
    if state
        .sessions
        .revoke(identity.user_id, session, None)
        .await?
    {
        Ok(HttpResponse::NoContent().finish())
    } else {
        Err(ApiError::NotFound)
    }
}
