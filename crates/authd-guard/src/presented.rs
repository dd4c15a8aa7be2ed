//! What a request presents to the guard: its access token, the scheme it
//! came in (RFC 6750 `Bearer`, RFC 9449 `DPoP`), its DPoP proof, and the
//! method and URI the proof must name.

use actix_web::http::header::{HeaderMap, AUTHORIZATION, HOST};
use actix_web::HttpRequest;

use crate::dpop::{normalise_uri, ProofError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    Dpop,
}

pub struct Presented<'a> {
    pub token: Option<&'a str>,
    pub scheme: Scheme,
    /// The `DPoP` header: none, one, or an error (several, or not text).
    pub proof: Option<Result<&'a str, ProofError>>,
    pub method: &'a str,
    /// The request, for its URI: built only when a proof is checked, so a
    /// Bearer request parses no URL.
    request: Option<&'a HttpRequest>,
    public_base: Option<&'a str>,
}

impl<'a> Presented<'a> {
    /// A Bearer token alone, as older callers present it.
    pub fn bearer(token: Option<&'a str>) -> Self {
        Self {
            token,
            scheme: Scheme::Bearer,
            proof: None,
            method: "GET",
            request: None,
            public_base: None,
        }
    }

    pub fn from_request(req: &'a HttpRequest, public_base: Option<&'a str>) -> Self {
        let (scheme, token) = match access_token(req.headers()) {
            Some((scheme, token)) => (scheme, Some(token)),
            None => (Scheme::Bearer, None),
        };
        Self {
            token,
            scheme,
            proof: proof_header(req.headers()),
            method: req.method().as_str(),
            request: Some(req),
            public_base,
        }
    }

    /// The request's URI as `htu` is compared (see `dpop::normalise_uri`).
    pub fn uri(&self) -> Option<String> {
        request_uri(self.request?, self.public_base)
    }
}

/// `Authorization: Bearer <token>` or `DPoP <token>`, scheme
/// case-insensitive. Any other scheme, or none, counts as no token.
pub fn access_token(headers: &HeaderMap) -> Option<(Scheme, &str)> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return None;
    };
    let token = token.trim();
    (!token.is_empty()).then_some((scheme, token))
}

/// The `DPoP` header (§4.1: exactly one).
pub fn proof_header(headers: &HeaderMap) -> Option<Result<&str, ProofError>> {
    let mut values = headers.get_all("dpop");
    let first = values.next()?;
    if values.next().is_some() {
        return Some(Err(ProofError::Multiple));
    }
    Some(first.to_str().map_err(|_| ProofError::Malformed))
}

/// The request's URI for `htu`: `public_base` plus the path, or, without
/// one, the listener's scheme, the `Host` header and the path.
pub fn request_uri(req: &HttpRequest, public_base: Option<&str>) -> Option<String> {
    let path = req.path();
    let full = match public_base {
        Some(base) => format!("{}{path}", base.trim_end_matches('/')),
        None => {
            let host = match req.headers().get(HOST) {
                Some(host) => host.to_str().ok()?.to_string(),
                None => req.uri().authority()?.to_string(),
            };
            let scheme = if req.app_config().secure() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}{path}")
        }
    };
    normalise_uri(&full)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;
    use actix_web::test::TestRequest;

    #[test]
    fn bearer_and_dpop_schemes_are_told_apart_and_nothing_else_counts() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            access_token(&headers).map(|(s, t)| (s, t.to_string()))
        };
        assert_eq!(with("Bearer abc"), Some((Scheme::Bearer, "abc".into())));
        assert_eq!(with("dpop  abc "), Some((Scheme::Dpop, "abc".into())));
        assert_eq!(with("Basic abc"), None);
        assert_eq!(with("DPoP "), None);
    }

    #[test]
    fn the_uri_is_the_public_base_and_path_or_the_host_and_path() {
        let req = TestRequest::post()
            .uri("/api/token?x=1")
            .insert_header((HOST, "Auth.Example:80"))
            .to_http_request();
        assert_eq!(
            request_uri(&req, None).as_deref(),
            Some("http://auth.example/api/token")
        );
        assert_eq!(
            request_uri(&req, Some("https://id.example.com/auth/")).as_deref(),
            Some("https://id.example.com/auth/api/token")
        );
    }

    #[test]
    fn two_proof_headers_are_refused() {
        let req = TestRequest::get()
            .append_header(("DPoP", "a"))
            .append_header(("DPoP", "b"))
            .to_http_request();
        assert_eq!(
            proof_header(req.headers()).map(|p| p.map(str::to_string)),
            Some(Err(ProofError::Multiple))
        );
    }
}
