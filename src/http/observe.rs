//! What every request leaves behind once answered: its metrics (count by
//! method, route pattern and status; duration) and its access log line,
//! written inside the request's task so it carries the request id. The
//! line has method, path (never the query string, which may carry
//! secrets), status and duration, also as separate fields for JSON logs.
//! `/healthz` is counted but not logged.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::Error;

use crate::common::telemetry;

pub const ACCESS_LOG: &str = "authd::access";

pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let log_it =
        req.path() != "/healthz" && log::log_enabled!(target: ACCESS_LOG, log::Level::Info);
    let path_and_ip = log_it.then(|| {
        let ip = req.peer_addr().map(|a| a.ip().to_string());
        (req.path().to_string(), ip.unwrap_or_default())
    });
    let res = next.call(req).await?;
    let took = started.elapsed();
    let route = res.request().match_pattern();
    let route = route.as_deref().unwrap_or(telemetry::UNMATCHED_ROUTE);
    let status = res.status().as_u16();
    telemetry::http_request(method.as_str(), route, status, took);
    if let Some((path, ip)) = path_and_ip {
        let duration_ms = took.as_secs_f64() * 1000.0;
        log::info!(
            target: ACCESS_LOG,
            ip = ip.as_str(),
            method = method.as_str(),
            route = route,
            status = status,
            duration_ms = duration_ms;
            "{ip} \"{method} {path}\" {status} {duration_ms:.3}ms"
        );
    }
    Ok(res)
}
