//! The guard's whole decision: a verified access token (RFC 6750 §2.1
//! Bearer, or RFC 9449 DPoP with a proof by the key it is bound to) whose
//! session, if the guard checks sessions, still lives.

use std::sync::Arc;

use actix_web::http::header::HeaderMap;

use crate::dpop::{self, unix_now, DpopPolicy, Expected, ProofError};
use crate::error::Refusal;
use crate::identity::Identity;
use crate::presented::{access_token, Presented, Scheme};
use crate::revocation::Revocation;
use crate::session_check::SessionCheck;
use crate::token_problem::TokenProblem;
use crate::verifier::{Rejected, Verifier};

pub struct Guard<C = Revocation> {
    verifier: Arc<Verifier>,
    check: C,
    dpop: DpopPolicy,
    require_mfa: bool,
}

impl<C: SessionCheck> Guard<C> {
    pub fn new(verifier: Arc<Verifier>, check: C) -> Self {
        Self {
            verifier,
            check,
            dpop: DpopPolicy::default(),
            require_mfa: false,
        }
    }

    /// `true`: a token whose `amr` has no second factor or passkey is
    /// refused with 403 `insufficient_user_authentication` (RFC 9470).
    pub fn with_required_mfa(mut self, required: bool) -> Self {
        self.require_mfa = required;
        self
    }

    /// How DPoP-bound tokens are checked (by default: proofs up to 300 s
    /// old, `jti`s remembered in this process).
    pub fn with_dpop(mut self, dpop: DpopPolicy) -> Self {
        self.dpop = dpop;
        self
    }

    pub fn dpop(&self) -> &DpopPolicy {
        &self.dpop
    }

    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    pub fn check(&self) -> &C {
        &self.check
    }

    /// Who the bearer of `token` (`Authorization: Bearer`) is, or why not.
    pub async fn authenticate(&self, token: Option<&str>) -> Result<Identity, Refusal> {
        self.authenticate_request(&Presented::bearer(token)).await
    }

    /// Who presented this request's token, or why not. A token bound to a
    /// key (`cnf.jkt`) needs the `DPoP` scheme and a proof by that key for
    /// this method and URI, with `ath` (and, with nonces, a current server
    /// nonce), used once; an unbound token needs the `Bearer` scheme.
    pub async fn authenticate_request(
        &self,
        presented: &Presented<'_>,
    ) -> Result<Identity, Refusal> {
        let token = presented
            .token
            .ok_or(Refusal::InvalidToken(TokenProblem::Missing))?;
        let identity = self.verified(token).await?;
        let proof = match (identity.key, presented.scheme) {
            (None, Scheme::Bearer) => None,
            (Some(key), Scheme::Dpop) => {
                let now = unix_now();
                let proof = self
                    .proof(presented, token, now)
                    .map_err(Refusal::InvalidDpopProof)?;
                if proof.thumbprint != key {
                    return Err(Refusal::InvalidDpopProof(ProofError::WrongKey));
                }
                // RFC 9449 §9: a proof without this server's nonce is
                // answered with one to retry with (its jti is not spent).
                if let Some(nonces) = &self.dpop.nonces {
                    if !proof
                        .nonce
                        .as_deref()
                        .is_some_and(|n| nonces.accepts(n, now))
                    {
                        return Err(Refusal::UseDpopNonce(nonces.current(now)));
                    }
                }
                Some(proof)
            }
            // A bound token as a Bearer token, or an unbound one as DPoP.
            _ => return Err(Refusal::InvalidToken(TokenProblem::WrongScheme)),
        };
        match self.check.is_live(identity, token).await {
            Ok(true) => {}
            Ok(false) => return Err(Refusal::InvalidToken(TokenProblem::SessionEnded)),
            Err(unavailable) => return Err(Refusal::Unavailable(unavailable)),
        }
        // After the session check: an ended session is a 401, whatever its
        // methods were.
        if self.require_mfa && !identity.amr.is_strong() {
            return Err(Refusal::InsufficientUserAuthentication);
        }
        if let Some(proof) = proof {
            let window = self.dpop.rules.replay_window();
            match self.dpop.replay.first_use(&proof, window).await {
                Ok(true) => {}
                Ok(false) => return Err(Refusal::InvalidDpopProof(ProofError::Replayed)),
                Err(unavailable) => return Err(Refusal::Unavailable(unavailable)),
            }
        }
        Ok(identity)
    }

    /// The request's proof, checked against it and the token (`ath`).
    fn proof(
        &self,
        presented: &Presented<'_>,
        token: &str,
        now: u64,
    ) -> Result<dpop::Proof, ProofError> {
        let proof = presented.proof.ok_or(ProofError::Missing)??;
        let uri = presented.uri().ok_or(ProofError::Uri)?;
        let expected = Expected {
            method: presented.method,
            uri: &uri,
            access_token: Some(token),
        };
        dpop::check(proof, &expected, &self.dpop.rules, now)
    }

    /// The token's identity, signature and claims checked. An unknown `kid`
    /// fetches remote keys again (rate-limited) and tries once more.
    async fn verified(&self, token: &str) -> Result<Identity, Refusal> {
        let verified = match self.verifier.verify(token) {
            Err(Rejected::UnknownKid) if self.verifier.keys().refresh().await => {
                self.verifier.verify(token)
            }
            other => other,
        };
        verified.map_err(|rejected| {
            log::debug!("access token rejected: {}", rejected.as_str());
            Refusal::InvalidToken(rejected.into())
        })
    }
}

/// `Authorization: Bearer <token>`, scheme case-insensitive. Any other
/// scheme, or none, counts as no token.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    match access_token(headers)? {
        (Scheme::Bearer, token) => Some(token),
        (Scheme::Dpop, _) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderValue, AUTHORIZATION};

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
