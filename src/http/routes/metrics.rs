//! `GET /metrics`: the Prometheus text exposition of `telemetry`.

use actix_web::http::header;
use actix_web::HttpResponse;

use crate::common::telemetry;
use actix_web::web;

use crate::http::mount::open;

/// Prometheus metrics (text exposition format); 404 here when
/// `AUTHD_METRICS_BIND` moves them to their own address.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, description = "The metrics", body = String, content_type = "text/plain"),
        (status = 404, description = "Served on `AUTHD_METRICS_BIND` instead (`not_found`)", body = crate::http::error::ErrorBody)
    ))]
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(telemetry::render())
}

/// Mounts `/metrics` (on the main listener, or alone on
/// `AUTHD_METRICS_BIND`'s).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(open("/metrics", web::get().to(metrics)));
}
