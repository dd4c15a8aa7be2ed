//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{web, HttpResponse};

use crate::common::error_chain;
use crate::http::mount::open;
use crate::http::state::AppState;
use crate::http::{ApiError, ApiResult};

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Status {
    /// `ok` (healthz) or `ready` (readyz).
    status: &'static str,
}

/// 200 while the process serves requests; touches no store.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Serving", body = Status)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// 200 only when Redis and the database both answer within their budgets;
/// else 503 naming the stores that do not (the cause is logged).
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Both stores answer", body = Status),
        (status = 503, description = "A store does not answer (`temporarily_unavailable`): `error_description` names it (`redis does not answer`, `database does not answer`), and `unavailable` lists them", body = crate::http::error::ErrorBody)
    ))]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let unanswered = state.connections.unanswered().await;
    if unanswered.is_empty() {
        return Ok(HttpResponse::Ok().json(Status { status: "ready" }));
    }
    for (store, cause) in &unanswered {
        log::warn!("not ready: {store} does not answer: {}", error_chain(cause));
    }
    Err(ApiError::not_ready(
        unanswered.into_iter().map(|(store, _)| store).collect(),
    ))
}

/// Mounts liveness and readiness.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(open("/healthz", web::get().to(healthz)))
        .service(open("/readyz", web::get().to(readyz)));
}
