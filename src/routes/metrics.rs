//! `GET /metrics`: the Prometheus text exposition of `telemetry`.

use actix_web::http::header;
use actix_web::HttpResponse;

use crate::telemetry;

pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(telemetry::render())
}
