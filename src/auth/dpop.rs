//! DPoP (RFC 9449) at authd's own endpoints: a request's proof checked as
//! the guard crate checks it (`authd_guard::dpop`), its `jti` used once
//! across every instance (`sessions::ProofLog`), and, with
//! `AUTHD_DPOP_NONCE`, a server nonce in it, here and at the guard
//! (`authd_guard::dpop::Nonces`, under a key derived from the signing key,
//! so any instance with that key accepts another's).

use std::sync::Arc;
use std::time::Duration;

use authd_guard::dpop::{self, Expected, Nonces, Proof, ProofError, ProofRules};
use authd_guard::TokenProblem;
use authd_guard::{DpopPolicy, Identity, Presented, Scheme};

use super::{Auth, AuthError};
use crate::common::clock::unix_now;
use crate::sessions::ProofLog;

/// How far ahead of authd's clock a proof's `iat` may be.
pub const FUTURE_SKEW: Duration = Duration::from_secs(5);

/// DPoP as configured.
pub struct Dpop {
    pub rules: ProofRules,
    /// `AUTHD_PUBLIC_URL`: `htu` is it plus the path (else the `Host`).
    pub public_base: Option<String>,
    /// `AUTHD_DPOP_REQUIRED`: login and refresh need a proof.
    pub required: bool,
    /// `AUTHD_DPOP_NONCE`: proofs must carry a nonce authd made (here
    /// and at the guard).
    pub nonces: Option<Arc<Nonces>>,
    pub log: ProofLog,
}

impl Auth {
    /// The base `htu` is compared against, for the HTTP layer.
    pub fn dpop_public_base(&self) -> Option<&str> {
        self.dpop.public_base.as_deref()
    }

    /// The nonce to send in `DPoP-Nonce`, when nonces are on.
    pub fn dpop_nonce(&self) -> Option<String> {
        self.dpop.nonces.as_ref().map(|n| n.current(unix_now()))
    }

    /// How authd's own guard checks DPoP-bound tokens: the same rules,
    /// `jti`s in Redis.
    pub(super) fn dpop_policy(&self) -> DpopPolicy {
        DpopPolicy {
            rules: self.dpop.rules,
            public_base: self.dpop.public_base.clone(),
            replay: Arc::new(self.dpop.log.clone()),
            nonces: self.dpop.nonces.clone(),
        }
    }

    /// The request's DPoP proof, checked and its `jti` spent; `None` when
    /// it sent none. `required`: a proof must come (login and refresh with
    /// `AUTHD_DPOP_REQUIRED`). `access_token`: the token the proof's `ath`
    /// must hash.
    pub(super) async fn proof(
        &self,
        presented: &Presented<'_>,
        access_token: Option<&str>,
        required: bool,
    ) -> Result<Option<Proof>, AuthError> {
        let Some(proof) = presented.proof else {
            return if required {
                Err(AuthError::InvalidDpopProof(ProofError::Missing))
            } else {
                Ok(None)
            };
        };
        let proof = proof.map_err(AuthError::InvalidDpopProof)?;
        let uri = presented
            .uri()
            .ok_or(AuthError::InvalidDpopProof(ProofError::Uri))?;
        let expected = Expected {
            method: presented.method,
            uri: &uri,
            access_token,
        };
        let now = unix_now();
        let proof = dpop::check(proof, &expected, &self.dpop.rules, now)
            .map_err(AuthError::InvalidDpopProof)?;
        if let Some(nonces) = &self.dpop.nonces {
            if !proof
                .nonce
                .as_deref()
                .is_some_and(|n| nonces.accepts(n, now))
            {
                return Err(AuthError::UseDpopNonce(nonces.current(now)));
            }
        }
        let window = self.dpop.rules.replay_window();
        if !self.dpop.log.first_use(&proof, window).await? {
            return Err(AuthError::InvalidDpopProof(ProofError::Replayed));
        }
        Ok(Some(proof))
    }

    /// An access token presented outside the guard (logout, revocation):
    /// bound to a key, it needs the `DPoP` scheme and a proof by that key
    /// (with `ath`); unbound, the `Bearer` scheme.
    pub(super) async fn check_binding(
        &self,
        identity: Identity,
        scheme: Scheme,
        token: &str,
        presented: &Presented<'_>,
    ) -> Result<(), AuthError> {
        match (identity.key, scheme) {
            (None, Scheme::Bearer) => Ok(()),
            (Some(key), Scheme::Dpop) => {
                let proof = self
                    .proof(presented, Some(token), true)
                    .await?
                    .ok_or(AuthError::InvalidDpopProof(ProofError::Missing))?;
                if proof.thumbprint == key {
                    Ok(())
                } else {
                    Err(AuthError::InvalidDpopProof(ProofError::WrongKey))
                }
            }
            _ => Err(AuthError::InvalidToken(TokenProblem::WrongScheme)),
        }
    }
}

/// A refresh of a bound session that proved no key, or another one.
pub(super) fn wrong_key(proof: Option<&Proof>) -> AuthError {
    AuthError::InvalidDpopProof(match proof {
        None => ProofError::Missing,
        Some(_) => ProofError::WrongKey,
    })
}
