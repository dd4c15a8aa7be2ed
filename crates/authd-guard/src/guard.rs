//! The guard's whole decision: a verified access token (RFC 6750 §2.1
//! Bearer) whose session, if the guard checks sessions, still lives.

use std::sync::Arc;

use actix_web::http::header::{HeaderMap, AUTHORIZATION};

use crate::error::Refusal;
use crate::identity::Identity;
use crate::revocation::{Revocation, SessionCheck};
use crate::verifier::{Rejected, Verifier};

pub struct Guard<C = Revocation> {
    verifier: Arc<Verifier>,
    check: C,
}

impl<C: SessionCheck> Guard<C> {
    pub fn new(verifier: Arc<Verifier>, check: C) -> Self {
        Self { verifier, check }
    }

    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    pub fn check(&self) -> &C {
        &self.check
    }

    /// Who the bearer of `token` is, or why not. An unknown `kid` fetches
    /// remote keys again (rate-limited) and tries once more.
    pub async fn authenticate(&self, token: Option<&str>) -> Result<Identity, Refusal> {
        let token = token.ok_or(Refusal::InvalidToken { token_sent: false })?;
        let verified = match self.verifier.verify(token) {
            Err(Rejected::UnknownKid) if self.verifier.keys().refresh().await => {
                self.verifier.verify(token)
            }
            other => other,
        };
        let identity = verified.map_err(|rejected| {
            log::debug!("access token rejected: {}", rejected.as_str());
            Refusal::InvalidToken { token_sent: true }
        })?;
        match self.check.is_live(identity, token).await {
            Ok(true) => Ok(identity),
            Ok(false) => Err(Refusal::InvalidToken { token_sent: true }),
            Err(unavailable) => Err(Refusal::Unavailable(unavailable)),
        }
    }
}

/// `Authorization: Bearer <token>`, scheme case-insensitive. Any other
/// scheme, or none, counts as no token.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive_and_nothing_else_counts() {
        assert_eq!(bearer_token(&with("Bearer abc")), Some("abc"));
        assert_eq!(bearer_token(&with("bearer  abc ")), Some("abc"));
        assert_eq!(bearer_token(&with("Basic abc")), None);
        assert_eq!(bearer_token(&with("Bearer ")), None);
        assert_eq!(bearer_token(&with("Bearer")), None);
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
