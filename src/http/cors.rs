//! CORS for browsers on the origins `AUTHD_CORS_ORIGINS` lists, with
//! actix-cors: exact origins (echoed, never `*`), no cookies (authd takes
//! Bearer tokens), the request headers authd reads and the response headers
//! a client needs to read (a DPoP client needs `DPoP-Nonce` and
//! `WWW-Authenticate`). Any other origin gets no CORS header. Without
//! origins the middleware is off.

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::{Condition, Next};

/// Seconds a browser may cache a preflight's answer.
pub const MAX_AGE_SECS: usize = 3600;

/// The methods authd's routes take.
const METHODS: [Method; 4] = [Method::GET, Method::POST, Method::PUT, Method::DELETE];

/// Request headers a browser may send beyond the CORS-safelisted ones.
const ALLOWED_HEADERS: [&str; 4] = ["authorization", "content-type", "dpop", "x-request-id"];

/// Response headers a script may read beyond the safelisted ones.
const EXPOSED_HEADERS: [&str; 4] = [
    "dpop-nonce",
    "x-request-id",
    "retry-after",
    "www-authenticate",
];

/// The middleware for `origins` (checked by the settings: each an exact
/// `scheme://host[:port]`); off when there are none.
pub fn middleware(origins: &[String]) -> Condition<Cors> {
    let cors = origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods(METHODS)
        .allowed_headers(ALLOWED_HEADERS)
        .expose_headers(EXPOSED_HEADERS)
        .max_age(MAX_AGE_SECS);
    Condition::new(!origins.is_empty(), cors)
}

/// What actix-cors does differently from authd's contract, mended around
/// it: an accepted preflight is 204, not 200 (it has no body); and an
/// answer to an origin not listed carries no CORS header at all (actix-cors
/// sends its `Access-Control-Expose-Headers` to every origin). `Vary:
/// Origin` stays: the answer does depend on the origin. Mounted only with
/// origins listed, as the CORS middleware is.
pub async fn fit_to_contract(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut res = next.call(req).await?;
    let allowed = res
        .headers()
        .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN);
    if !allowed {
        res.headers_mut()
            .remove(header::ACCESS_CONTROL_EXPOSE_HEADERS);
    } else if preflight && res.status() == StatusCode::OK {
        *res.response_mut().status_mut() = StatusCode::NO_CONTENT;
    }
    Ok(res)
}

/// `AUTHD_CORS_ORIGINS`: each entry must be an origin exactly as a browser
/// sends it in `Origin` (RFC 6454: scheme, host, port if not the
/// default; no path, no trailing slash; never `*`).
pub fn parse_origins(value: &str) -> Result<Vec<String>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let exact = url::Url::parse(entry)
                .ok()
                .filter(|url| matches!(url.scheme(), "http" | "https"))
                .map(|url| url.origin().ascii_serialization());
            match exact {
                Some(origin) if origin == entry => Ok(origin),
                Some(origin) if origin != "null" => Err(format!(
                    "`{entry}` is not an origin as browsers send it: write `{origin}` (scheme, host and port only, no trailing slash)"
                )),
                _ => Err(format!(
                    "`{entry}` is not an origin: list exact origins such as https://app.example.com or http://localhost:5173 (no `*`)"
                )),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::parse_origins;

    #[test]
    fn origins_are_exact_as_browsers_send_them() {
        assert_eq!(
            parse_origins(" https://app.example.com, http://localhost:5173 ,"),
            Ok(vec![
                "https://app.example.com".to_string(),
                "http://localhost:5173".to_string()
            ])
        );
        assert_eq!(parse_origins(""), Ok(vec![]));
        for wrong in [
            "https://app.example.com/",
            "https://app.example.com:443",
            "https://App.example.com",
            "https://app.example.com/path",
        ] {
            let error = parse_origins(wrong).unwrap_err();
            assert!(error.contains("write `https://app.example.com`"), "{error}");
        }
        for wrong in ["*", "app.example.com", "ftp://app.example.com", "null"] {
            assert!(parse_origins(wrong).is_err(), "{wrong}");
        }
    }
}
