//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{web, HttpResponse};

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

/// 200 only when Redis and the database both answer within their budgets.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Both stores answer", body = Status),
        (status = 503, description = "A store does not answer (`temporarily_unavailable`)", body = crate::http::error::ErrorBody)
    ))]
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    state
        .connections
        .ping()
        .await
        .map_err(|e| ApiError::Unavailable(Box::new(e)))?;
    Ok(HttpResponse::Ok().json(Status { status: "ready" }))
}

/// Mounts liveness and readiness.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(open("/healthz", web::get().to(healthz)))
        .service(open("/readyz", web::get().to(readyz)));
}
