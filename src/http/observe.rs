//! What every request leaves behind once answered: its metrics (count by
//! method, route pattern and status; duration) and its access log line,
//! written inside the request's task so it carries the request id. The
//! line has method, path (never the query string, which may carry
//! secrets), status and duration, also as separate fields for JSON logs.
//! `/healthz` is counted but not logged. The path is written with `"`,
//! `\`, spaces, control and non-ASCII bytes percent-encoded
//! (`loggable_path`), so the quoted field ends at the first `"` whatever a
//! raw request sent.

use std::borrow::Cow;
use std::fmt::Write as _;
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
        (
            loggable_path(req.path()).into_owned(),
            ip.unwrap_or_default(),
        )
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

/// `path` for a quoted log field: every byte that could end or blur the
/// field (`"`, `\`, space, control bytes, and any non-ASCII byte) as
/// `%XX`, as a client would have had to send it in a valid URI, so a path
/// that was already valid is written unchanged.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    let escaped = |b: u8| matches!(b, b'"' | b'\\' | b' ') || b.is_ascii_control() || !b.is_ascii();
    if !path.bytes().any(escaped) {
        return Cow::Borrowed(path);
    }
    let mut out = String::with_capacity(path.len() + 8);
    for &b in path.as_bytes() {
        if escaped(b) {
            let _ = write!(out, "%{b:02X}");
        } else {
            out.push(char::from(b));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_cannot_end_or_blur_its_quoted_field() {
        assert!(matches!(loggable_path("/api/sessions/1"), Cow::Borrowed(_)));
        assert_eq!(loggable_path("/a%22b"), "/a%22b");
        for (raw, logged) in [
            ("/a\"b", "/a%22b"),
            ("/a\\b", "/a%5Cb"),
            ("/a b", "/a%20b"),
            ("/a\nb\r\t\u{7f}", "/a%0Ab%0D%09%7F"),
            ("/é", "/%C3%A9"),
            (
                "/\" 200 1ms\nINFO forged",
                "/%22%20200%201ms%0AINFO%20forged",
            ),
        ] {
            let line = loggable_path(raw);
            assert_eq!(line, logged, "{raw:?}");
            assert!(!line.contains(['"', '\\', ' ', '\n']), "{line}");
        }
    }
}
