//! The access log: one line per request (not for `/healthz`), written after
//! the response, inside the request's task so it carries the request id.
//! Method, path (never the query string, which may carry secrets), route
//! pattern, status and duration, also as separate fields for JSON logs.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::Error;

pub const TARGET: &str = "authd::access";

pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.path() == "/healthz" || !log::log_enabled!(target: TARGET, log::Level::Info) {
        return next.call(req).await;
    }
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.path().to_string();
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let status = res.status().as_u16();
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    log::info!(
        target: TARGET,
        ip = ip.as_str(),
        method = method.as_str(),
        route = route.as_str(),
        status = status,
        duration_ms = duration_ms;
        "{ip} \"{method} {path}\" {status} {duration_ms:.3}ms"
    );
    Ok(res)
}
