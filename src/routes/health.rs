//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{web, HttpResponse};

use crate::http::{ApiError, ApiResult};
use crate::state::AppState;

/// 200 while the process serves requests; touches no store.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// 200 only when Redis and the database both answer within their budgets.
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state
        .connections
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(Box::new(e)))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready" })))
}
