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

/// What a request presents, as plain values borrowed from it: nothing here
/// is an HTTP framework's type, so the rules that take it (authd's `auth`)
/// know no HTTP.
pub struct Presented<'a> {
    pub token: Option<&'a str>,
    pub scheme: Scheme,
    /// The `DPoP` header: none, one, or an error (several, or not text).
    pub proof: Option<Result<&'a str, ProofError>>,
    pub method: &'a str,
    /// Where the request went, for the URI a proof names: kept as parts, so
    /// a Bearer request builds no URL.
    pub target: Option<Target<'a>>,
}

/// The parts of a request's URI that `htu` is compared with.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub path: &'a str,
    /// The `Host` header, else the URI's authority.
    pub host: Option<&'a str>,
    /// The listener takes TLS (`https`).
    pub secure: bool,
    /// The URL clients reach the service at, if configured: it replaces
    /// the scheme and host.
    pub public_base: Option<&'a str>,
}

impl<'a> Presented<'a> {
    /// A Bearer token alone, as older callers present it.
    pub fn bearer(token: Option<&'a str>) -> Self {
        Self {
            token,
            scheme: Scheme::Bearer,
            proof: None,
            method: "GET",
            target: None,
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
            target: Some(Target::of(req, public_base)),
        }
    }

    /// The request's URI as `htu` is compared (see `dpop::normalise_uri`).
    pub fn uri(&self) -> Option<String> {
        self.target?.uri()
    }
}

impl<'a> Target<'a> {
    pub fn of(req: &'a HttpRequest, public_base: Option<&'a str>) -> Self {
        let host = match req.headers().get(HOST) {
            Some(host) => host.to_str().ok(),
            None => req.uri().authority().map(|a| a.as_str()),
        };
        Self {
            path: req.path(),
            host,
            secure: req.app_config().secure(),
            public_base,
        }
    }

    /// `public_base` plus the path, or, without one, the listener's scheme,
    /// the host and the path; normalised as `htu` is compared.
    pub fn uri(&self) -> Option<String> {
        let path = self.path;
        let full = match self.public_base {
            Some(base) => format!("{}{path}", base.trim_end_matches('/')),
            None => {
                let scheme = if self.secure { "https" } else { "http" };
                format!("{scheme}://{}{path}", self.host?)
            }
        };
        normalise_uri(&full)
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
            Target::of(&req, None).uri().as_deref(),
            Some("http://auth.example/api/token")
        );
        assert_eq!(
            Target::of(&req, Some("https://id.example.com/auth/"))
                .uri()
                .as_deref(),
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
