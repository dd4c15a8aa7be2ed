//! authd's JWKS, fetched over HTTP and held in memory.
//!
//! - An unknown `kid` (authd signs with a new key) fetches the set again,
//!   at most once per `min_interval`; concurrent requests wait for that one
//!   fetch instead of each sending their own.
//! - A set older than `max_age` is fetched again in the background on the
//!   next lookup, so a retired key stops verifying without a restart.
//! - Only public keys with a `kid`, signature use and an `alg` in the
//!   allowed list are kept; anything else in the document is skipped.
//! - A failed fetch keeps the keys held before.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};

use crate::verifying_key::VerifyingKey;

type KeyMap = HashMap<String, Arc<VerifyingKey>>;

#[derive(Clone)]
pub struct Jwks(Arc<Inner>);

struct Inner {
    url: String,
    client: reqwest::Client,
    allowed: Vec<Algorithm>,
    min_interval: Duration,
    max_age: Duration,
    /// Keys without an `alg` get their key type's usual one.
    infer_algorithms: bool,
    held: RwLock<Held>,
    /// Held while a fetch runs: the one fetch everybody waits for.
    fetching: tokio::sync::Mutex<Option<Instant>>,
    refreshing_in_background: AtomicBool,
}

struct Held {
    keys: Arc<KeyMap>,
    fetched_at: Option<Instant>,
}

#[derive(Debug)]
pub enum JwksError {
    Http(String),
    Document(String),
}

impl std::error::Error for JwksError {}

impl std::fmt::Display for JwksError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Http(e) => write!(f, "JWKS fetch failed: {e}"),
            Self::Document(e) => write!(f, "JWKS document unusable: {e}"),
        }
    }
}

impl Jwks {
    /// The JWKS at `url` (authd's is `<authd>/.well-known/jwks.json`),
    /// keeping keys of the `allowed` algorithms. Nothing is fetched yet:
    /// call [`Jwks::fetch`] at start-up, or let the first token do it.
    pub fn new(url: impl Into<String>, allowed: &[Algorithm]) -> Self {
        Self::with_intervals(
            url,
            allowed,
            Duration::from_secs(10),
            Duration::from_secs(300),
        )
    }

    /// `min_interval`: the least time between two fetches caused by unknown
    /// `kid`s; `max_age`: how long a set is used before it is fetched again.
    pub fn with_intervals(
        url: impl Into<String>,
        allowed: &[Algorithm],
        min_interval: Duration,
        max_age: Duration,
    ) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self(Arc::new(Inner {
            url: url.into(),
            client,
            allowed: allowed.to_vec(),
            min_interval,
            max_age,
            infer_algorithms: false,
            held: RwLock::new(Held {
                keys: Arc::new(HashMap::new()),
                fetched_at: None,
            }),
            fetching: tokio::sync::Mutex::new(None),
            refreshing_in_background: AtomicBool::new(false),
        }))
    }

    /// Keys published without an `alg` (OpenID providers may leave it out)
    /// verify with their type's usual algorithm: RSA `RS256`, EC P-256
    /// `ES256`, Ed25519 `EdDSA`, if allowed. Call before the set is shared.
    pub fn inferring_algorithms(mut self) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            inner.infer_algorithms = true;
        }
        self
    }

    pub(crate) fn algorithms(&self) -> &[Algorithm] {
        &self.0.allowed
    }

    /// The key named `kid`, if the set held now has it.
    pub fn find(&self, kid: &str) -> Option<Arc<VerifyingKey>> {
        let (keys, stale) = {
            let held = self.0.held.read().unwrap_or_else(|p| p.into_inner());
            let stale = held
                .fetched_at
                .is_some_and(|at| at.elapsed() >= self.0.max_age);
            (held.keys.clone(), stale)
        };
        if stale {
            self.refresh_in_background();
        }
        keys.get(kid).cloned()
    }

    /// How many keys are held.
    pub fn len(&self) -> usize {
        self.0
            .held
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fetches the set now, whatever the interval; the number of usable keys.
    /// Not counted against the interval of fetches for unknown `kid`s.
    pub async fn fetch(&self) -> Result<usize, JwksError> {
        let _one_at_a_time = self.0.fetching.lock().await;
        self.fetch_locked().await
    }

    /// Fetches again unless a fetch started less than `min_interval` ago;
    /// callers arriving while a fetch runs wait for it. Whether the held set
    /// was replaced.
    pub(crate) async fn refresh(&self) -> bool {
        let mut last = self.0.fetching.lock().await;
        if last.is_some_and(|at| at.elapsed() < self.0.min_interval) {
            return false;
        }
        *last = Some(Instant::now());
        match self.fetch_locked().await {
            Ok(_) => true,
            Err(e) => {
                log::warn!("{e}; keeping the keys held before");
                false
            }
        }
    }

    /// Whether a set was ever fetched.
    pub fn fetched(&self) -> bool {
        self.0
            .held
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .fetched_at
            .is_some()
    }

    fn refresh_in_background(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.0.refreshing_in_background.swap(true, Ordering::AcqRel) {
            return;
        }
        let jwks = self.clone();
        runtime.spawn(async move {
            jwks.refresh().await;
            jwks.0
                .refreshing_in_background
                .store(false, Ordering::Release);
        });
    }

    async fn fetch_locked(&self) -> Result<usize, JwksError> {
        let response = self
            .0
            .client
            .get(&self.0.url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| JwksError::Http(e.to_string()))?;
        let set: JwkSet = response
            .json()
            .await
            .map_err(|e| JwksError::Document(e.to_string()))?;
        let keys = usable_keys(&set, &self.0.allowed, self.0.infer_algorithms);
        let count = keys.len();
        let mut held = self.0.held.write().unwrap_or_else(|p| p.into_inner());
        held.keys = Arc::new(keys);
        held.fetched_at = Some(Instant::now());
        Ok(count)
    }
}

fn usable_keys(set: &JwkSet, allowed: &[Algorithm], infer: bool) -> KeyMap {
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            continue;
        };
        if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
            continue;
        }
        let algorithm = match jwk.common.key_algorithm {
            Some(named) => Algorithm::try_from(named).ok(),
            None if infer => usual_algorithm(&jwk.algorithm),
            None => None,
        };
        let Some(algorithm) = algorithm else {
            continue;
        };
        // A JWKS publishes public keys: a shared secret has no place in it.
        let symmetric = matches!(
            algorithm,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512
        );
        if symmetric || !allowed.contains(&algorithm) {
            continue;
        }
        match DecodingKey::from_jwk(jwk) {
            Ok(key) => {
                keys.insert(kid, Arc::new(VerifyingKey { algorithm, key }));
            }
            Err(e) => log::warn!("JWKS key {kid} skipped: {e}"),
        }
    }
    keys
}

/// The algorithm a key of this type is usually published for.
fn usual_algorithm(params: &AlgorithmParameters) -> Option<Algorithm> {
    match params {
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Some(Algorithm::ES256)
        }
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Some(Algorithm::EdDSA)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(json: serde_json::Value) -> JwkSet {
        serde_json::from_value(json).unwrap()
    }

    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    #[test]
    fn only_public_signing_keys_of_allowed_algorithms_are_kept() {
        let keys = usable_keys(
            &set(serde_json::json!({"keys": [
                {"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "good", "alg": "EdDSA", "use": "sig"},
                {"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "no-alg"},
                {"kty": "OKP", "crv": "Ed25519", "x": ED_X, "alg": "EdDSA"},
                {"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "enc", "alg": "EdDSA", "use": "enc"},
                {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA", "kid": "shared", "alg": "HS256"},
            ]})),
            &[Algorithm::EdDSA, Algorithm::HS256],
            false,
        );
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["good"]);
        assert_eq!(keys["good"].algorithm, Algorithm::EdDSA);
    }

    #[test]
    fn a_key_of_an_algorithm_not_allowed_is_skipped() {
        let keys = usable_keys(
            &set(serde_json::json!({"keys": [
                {"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "ed", "alg": "EdDSA"},
            ]})),
            &[Algorithm::ES256],
            false,
        );
        assert!(keys.is_empty());
    }

    #[test]
    fn inferring_gives_a_key_without_alg_its_types_usual_one() {
        let set = set(serde_json::json!({"keys": [
            {"kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "no-alg"},
        ]}));
        assert!(usable_keys(&set, &[Algorithm::EdDSA], false).is_empty());
        let keys = usable_keys(&set, &[Algorithm::EdDSA], true);
        assert_eq!(keys["no-alg"].algorithm, Algorithm::EdDSA);
        assert!(usable_keys(&set, &[Algorithm::RS256], true).is_empty());
    }

    #[tokio::test]
    async fn an_unreachable_jwks_keeps_nothing_and_says_so() {
        let jwks = Jwks::new(
            "http://127.0.0.1:9/.well-known/jwks.json",
            &[Algorithm::EdDSA],
        );
        assert!(jwks.fetch().await.is_err());
        assert!(jwks.is_empty());
        assert!(jwks.find("any").is_none());
    }
}
