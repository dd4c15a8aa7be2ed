//! The keys a verifier trusts, by `kid`: a fixed set (authd's own keys), or
//! authd's JWKS fetched over HTTP ([`Jwks`]). Each key carries the one
//! algorithm it verifies (RFC 8725 §3.1: a token's `alg` must match it).

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey};

use crate::jwks::Jwks;
use crate::verifying_key::VerifyingKey;

pub enum Keys {
    Fixed(HashMap<String, Arc<VerifyingKey>>),
    Remote(Jwks),
}

impl Keys {
    /// A fixed set: `(kid, algorithm, key)`.
    pub fn fixed(keys: impl IntoIterator<Item = (String, Algorithm, DecodingKey)>) -> Self {
        Self::Fixed(
            keys.into_iter()
                .map(|(kid, algorithm, key)| (kid, Arc::new(VerifyingKey { algorithm, key })))
                .collect(),
        )
    }

    pub fn find(&self, kid: &str) -> Option<Arc<VerifyingKey>> {
        match self {
            Self::Fixed(keys) => keys.get(kid).cloned(),
            Self::Remote(jwks) => jwks.find(kid),
        }
    }

    /// The algorithms any key here can verify.
    pub(crate) fn algorithms(&self) -> Vec<Algorithm> {
        match self {
            Self::Fixed(keys) => {
                let mut algs: Vec<Algorithm> = Vec::new();
                for key in keys.values() {
                    if !algs.contains(&key.algorithm) {
                        algs.push(key.algorithm);
                    }
                }
                algs
            }
            Self::Remote(jwks) => jwks.algorithms().to_vec(),
        }
    }

    /// After an unknown `kid`: fetch the remote set again (rate-limited).
    /// Whether a fetch brought a new set. A fixed set never changes.
    pub(crate) async fn refresh(&self) -> bool {
        match self {
            Self::Fixed(_) => false,
            Self::Remote(jwks) => jwks.refresh().await,
        }
    }
}
