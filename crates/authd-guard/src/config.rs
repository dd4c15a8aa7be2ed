//! A resource server's guard from configuration: where authd is, what its
//! tokens must say, and how revocation reaches this server.
//!
//! `GuardConfig::from_env()` reads:
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `AUTHD_URL` | (required) | authd's base URL; the JWKS is `<url>/.well-known/jwks.json`, introspection `<url>/api/introspect` |
//! | `AUTHD_GUARD_ISSUER` | `authd` | the `iss` tokens must carry (authd's `AUTHD_ISSUER`) |
//! | `AUTHD_GUARD_AUDIENCE` | `authd` | the `aud` tokens must carry (authd's `AUTHD_AUDIENCE`) |
//! | `AUTHD_GUARD_REVOCATION` | (required) | `redis`, `introspection` or `signature` (no check: a revoked token stands until it expires) |
//! | `AUTHD_GUARD_REDIS_URL` | | for `redis`: authd's Redis (comma-separated seeds for a cluster) |
//! | `AUTHD_GUARD_REDIS_PREFIX` | `authd:` | for `redis`: authd's `AUTHD_REDIS_PREFIX` |
//! | `AUTHD_GUARD_REDIS_CA_FILE` | | for `rediss://`: a PEM CA |
//! | `AUTHD_GUARD_INTROSPECTION_SECRET` | | for `introspection`: one of authd's `AUTHD_INTROSPECTION_SECRETS` |
//! | `AUTHD_GUARD_INTROSPECTION_TTL_MS` | `500` | for `introspection`: how long an answer is reused |
//! | `AUTHD_GUARD_TIMEOUT_MS` | `1000` | budget of one Redis read or introspection call, then 503 |
//! | `AUTHD_GUARD_CACHE_ENTRIES` | `100000` | verified tokens and session answers kept in memory |
//! | `AUTHD_GUARD_LEEWAY` | `30` | seconds of clock difference allowed for `exp` and `nbf` |
//! | `AUTHD_GUARD_PUBLIC_URL` | | the URL clients reach this server at (behind a proxy): a DPoP proof's `htu` must be it plus the path; unset: the request's `Host` |
//! | `AUTHD_GUARD_REQUIRE_MFA` | `false` | `true`: tokens whose `amr` lacks a second factor or a passkey get 403 `insufficient_user_authentication` (RFC 9470) |
//! | `AUTHD_GUARD_DPOP_MAX_AGE` | `300` | seconds a DPoP proof is accepted after its `iat` (and 5 s ahead); each proof once: in authd's Redis with `redis`, else in this process |
//! | `AUTHD_GUARD_DPOP_NONCE_SECRET` | | a secret of at least 32 bytes that every instance of this server shares: DPoP proofs must then carry a nonce made from it (RFC 9449 §9); one without is answered 401 `use_dpop_nonce` with a `DPoP-Nonce` |
//!
//! Without `AUTHD_GUARD_PUBLIC_URL` a DPoP proof's `htu` is checked against
//! the request's `Host`, which the client chooses: a proof made for another
//! origin passes. `build` warns about it.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::authd_redis::AuthdRedis;
use crate::dpop::{DpopPolicy, MemoryReplay, Nonces, ProofReplay};
use crate::guard::Guard;
use crate::introspection::Introspection;
use crate::jwks::Jwks;
use crate::keys::Keys;
use crate::revocation::Revocation;
use crate::verifier::{Rules, Verifier};

/// How revocation reaches the resource server.
#[derive(Clone)]
pub enum RevocationConfig {
    SignatureOnly,
    Redis {
        /// One URL, or a cluster's seeds.
        urls: Vec<String>,
        prefix: String,
        ca_pem: Option<Vec<u8>>,
    },
    Introspection {
        url: String,
        secret: String,
        ttl: Duration,
    },
}

impl fmt::Debug for RevocationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // URLs may hold passwords and the secret is one: names only.
        match self {
            Self::SignatureOnly => f.write_str("SignatureOnly"),
            Self::Redis { prefix, .. } => write!(f, "Redis {{ prefix: {prefix:?}, .. }}"),
            Self::Introspection { ttl, .. } => write!(f, "Introspection {{ ttl: {ttl:?}, .. }}"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct GuardConfig {
    pub jwks_url: String,
    /// Algorithms accepted from the JWKS (asymmetric only).
    pub algorithms: Vec<Algorithm>,
    pub rules: Rules,
    pub revocation: RevocationConfig,
    pub timeout: Duration,
    /// The URL clients reach this server at (`htu` base), if not `Host`.
    pub public_url: Option<String>,
    /// How old a DPoP proof may be.
    pub dpop_max_age: Duration,
    /// Refuse tokens without a second factor (RFC 9470).
    pub require_mfa: bool,
    /// DPoP proofs must carry a nonce from this secret (RFC 9449 §9).
    pub dpop_nonce_secret: Option<NonceSecret>,
}

/// `AUTHD_GUARD_DPOP_NONCE_SECRET`: never printed.
#[derive(Clone)]
pub struct NonceSecret(pub String);

impl fmt::Debug for NonceSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NonceSecret(..)")
    }
}

/// The shortest `AUTHD_GUARD_DPOP_NONCE_SECRET` taken.
const MIN_NONCE_SECRET_BYTES: usize = 32;

#[derive(Debug)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl GuardConfig {
    /// authd at `authd_url` with its default issuer and audience (`authd`),
    /// checking revocation as `revocation` says.
    pub fn for_authd(authd_url: &str, revocation: RevocationConfig) -> Self {
        Self {
            jwks_url: format!("{}/.well-known/jwks.json", authd_url.trim_end_matches('/')),
            algorithms: vec![Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256],
            rules: Rules {
                issuer: "authd".into(),
                audience: "authd".into(),
                leeway: Duration::from_secs(30),
                cache_entries: 100_000,
            },
            revocation,
            timeout: Duration::from_secs(1),
            public_url: None,
            dpop_max_age: Duration::from_secs(300),
            require_mfa: false,
            dpop_nonce_secret: None,
        }
    }

    /// What an operator should hear at startup: a DPoP-bound token can
    /// reach any guard, and without a public URL its proofs' `htu` is
    /// checked against the client-chosen `Host`.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.public_url.is_none() {
            warnings.push(
                "AUTHD_GUARD_PUBLIC_URL is unset: a DPoP proof's htu is checked against the request's Host header, which the client chooses, so a proof made for another origin is accepted; set it to the URL clients reach this server at".to_string(),
            );
        }
        warnings
    }

    /// From the variables in the module docs.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// As `from_env`, reading variables through `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let required =
            |name: &str| var(name).ok_or_else(|| ConfigError(format!("{name} is required")));
        let number = |name: &str, default: u64| -> Result<u64, ConfigError> {
            var(name).map_or(Ok(default), |v| {
                v.parse()
                    .map_err(|_| ConfigError(format!("{name}: `{v}` is not a whole number")))
            })
        };
        let authd_url = required("AUTHD_URL")?;
        let base = authd_url.trim_end_matches('/');
        let revocation = match required("AUTHD_GUARD_REVOCATION")?.as_str() {
            "signature" => RevocationConfig::SignatureOnly,
            "redis" => RevocationConfig::Redis {
                urls: required("AUTHD_GUARD_REDIS_URL")?
                    .split(',')
                    .map(|u| u.trim().to_string())
                    .filter(|u| !u.is_empty())
                    .collect(),
                prefix: var("AUTHD_GUARD_REDIS_PREFIX").unwrap_or_else(|| "authd:".into()),
                ca_pem: match var("AUTHD_GUARD_REDIS_CA_FILE") {
                    Some(path) => Some(std::fs::read(&path).map_err(|e| {
                        ConfigError(format!("AUTHD_GUARD_REDIS_CA_FILE: {path}: {e}"))
                    })?),
                    None => None,
                },
            },
            "introspection" => RevocationConfig::Introspection {
                url: format!("{base}/api/introspect"),
                secret: required("AUTHD_GUARD_INTROSPECTION_SECRET")?,
                ttl: Duration::from_millis(number("AUTHD_GUARD_INTROSPECTION_TTL_MS", 500)?),
            },
            other => {
                return Err(ConfigError(format!(
                "AUTHD_GUARD_REVOCATION: `{other}` is not `redis`, `introspection` or `signature`"
            )))
            }
        };
        let mut config = Self::for_authd(base, revocation);
        if let Some(issuer) = var("AUTHD_GUARD_ISSUER") {
            config.rules.issuer = issuer;
        }
        if let Some(audience) = var("AUTHD_GUARD_AUDIENCE") {
            config.rules.audience = audience;
        }
        config.rules.leeway = Duration::from_secs(number("AUTHD_GUARD_LEEWAY", 30)?);
        config.rules.cache_entries = number("AUTHD_GUARD_CACHE_ENTRIES", 100_000)? as usize;
        config.timeout = Duration::from_millis(number("AUTHD_GUARD_TIMEOUT_MS", 1000)?.max(1));
        config.public_url = var("AUTHD_GUARD_PUBLIC_URL");
        config.dpop_max_age = Duration::from_secs(number("AUTHD_GUARD_DPOP_MAX_AGE", 300)?.max(1));
        config.require_mfa = match var("AUTHD_GUARD_REQUIRE_MFA").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(ConfigError(format!(
                    "AUTHD_GUARD_REQUIRE_MFA: `{other}` is neither `true` nor `false`"
                )))
            }
        };
        config.dpop_nonce_secret = match var("AUTHD_GUARD_DPOP_NONCE_SECRET") {
            Some(secret) if secret.len() < MIN_NONCE_SECRET_BYTES => {
                return Err(ConfigError(format!(
                    "AUTHD_GUARD_DPOP_NONCE_SECRET: needs at least {MIN_NONCE_SECRET_BYTES} bytes (openssl rand -base64 32)"
                )))
            }
            secret => secret.map(NonceSecret),
        };
        Ok(config)
    }

    /// The guard. Fetches the JWKS once (a failure is logged: the first
    /// token fetches again); connects the revocation check. Call inside a
    /// Tokio runtime (actix's `main` is one).
    pub async fn build(self) -> Result<Arc<Guard>, ConfigError> {
        for warning in self.warnings() {
            log::warn!("{warning}");
        }
        let jwks = Jwks::new(&self.jwks_url, &self.algorithms);
        if let Err(e) = jwks.fetch().await {
            log::warn!("{e}; the first token will fetch the keys again");
        }
        let mut replay: Arc<dyn ProofReplay> =
            Arc::new(MemoryReplay::new(self.rules.cache_entries.max(1)));
        let check = match self.revocation {
            RevocationConfig::SignatureOnly => Revocation::SignatureOnly,
            RevocationConfig::Redis {
                urls,
                prefix,
                ca_pem,
            } => {
                let nodes: Vec<&str> = urls.iter().map(String::as_str).collect();
                let sessions = AuthdRedis::connect(
                    &nodes,
                    &prefix,
                    ca_pem.as_deref(),
                    self.timeout,
                    self.rules.cache_entries,
                )
                .map_err(|e| ConfigError(format!("AUTHD_GUARD_REDIS_URL: {e}")))?;
                let sessions = Arc::new(sessions);
                replay = sessions.clone();
                Revocation::Redis(sessions)
            }
            RevocationConfig::Introspection { url, secret, ttl } => {
                let introspection =
                    Introspection::new(url, secret, ttl, self.timeout, self.rules.cache_entries)
                        .map_err(|e| ConfigError(format!("introspection client: {e}")))?;
                Revocation::Introspection(introspection)
            }
        };
        let verifier = Verifier::new(Keys::Remote(jwks), self.rules);
        let dpop = DpopPolicy {
            rules: crate::dpop::ProofRules {
                max_age: self.dpop_max_age,
                future_skew: Duration::from_secs(5),
            },
            public_base: self.public_url,
            replay,
            nonces: self
                .dpop_nonce_secret
                .map(|secret| Arc::new(Nonces::from_secret(secret.0.as_bytes()))),
        };
        Ok(Arc::new(
            Guard::new(Arc::new(verifier), check)
                .with_dpop(dpop)
                .with_required_mfa(self.require_mfa),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn redis_revocation_from_variables() {
        let config = GuardConfig::from_vars(vars(&[
            ("AUTHD_URL", "https://auth.example.com/"),
            ("AUTHD_GUARD_REVOCATION", "redis"),
            ("AUTHD_GUARD_REDIS_URL", "redis://a:6379, redis://b:6379"),
            ("AUTHD_GUARD_AUDIENCE", "orders"),
        ]))
        .unwrap();
        assert_eq!(
            config.jwks_url,
            "https://auth.example.com/.well-known/jwks.json"
        );
        assert_eq!(config.rules.audience, "orders");
        assert_eq!(config.rules.issuer, "authd");
        match config.revocation {
            RevocationConfig::Redis { urls, prefix, .. } => {
                assert_eq!(urls, vec!["redis://a:6379", "redis://b:6379"]);
                assert_eq!(prefix, "authd:");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_revocation_mode_must_be_chosen_and_its_settings_given() {
        let err = |pairs: &[(&str, &str)]| GuardConfig::from_vars(vars(pairs)).unwrap_err().0;
        assert!(err(&[("AUTHD_URL", "http://a")]).contains("AUTHD_GUARD_REVOCATION"));
        assert!(err(&[
            ("AUTHD_URL", "http://a"),
            ("AUTHD_GUARD_REVOCATION", "maybe")
        ])
        .contains("`maybe`"));
        assert!(err(&[
            ("AUTHD_URL", "http://a"),
            ("AUTHD_GUARD_REVOCATION", "introspection")
        ])
        .contains("AUTHD_GUARD_INTROSPECTION_SECRET"));
    }

    #[test]
    fn a_guard_without_a_public_url_is_warned_about_and_nonces_need_a_long_secret() {
        let base = [
            ("AUTHD_URL", "http://a"),
            ("AUTHD_GUARD_REVOCATION", "signature"),
        ];
        let config = GuardConfig::from_vars(vars(&base)).unwrap();
        let warnings = config.warnings();
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("AUTHD_GUARD_PUBLIC_URL"),
            "{warnings:?}"
        );
        assert!(warnings[0].contains("Host"), "{warnings:?}");
        let mut with_url = base.to_vec();
        with_url.push(("AUTHD_GUARD_PUBLIC_URL", "https://api.example.com"));
        assert!(GuardConfig::from_vars(vars(&with_url))
            .unwrap()
            .warnings()
            .is_empty());
        let mut short = base.to_vec();
        short.push(("AUTHD_GUARD_DPOP_NONCE_SECRET", "too short"));
        assert!(GuardConfig::from_vars(vars(&short))
            .unwrap_err()
            .0
            .contains("AUTHD_GUARD_DPOP_NONCE_SECRET"));
        let mut long = base.to_vec();
        long.push((
            "AUTHD_GUARD_DPOP_NONCE_SECRET",
            "a-nonce-secret-of-at-least-32-bytes!!",
        ));
        let config = GuardConfig::from_vars(vars(&long)).unwrap();
        assert!(config.dpop_nonce_secret.is_some());
        assert!(!format!("{config:?}").contains("a-nonce-secret"));
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let config = GuardConfig::from_vars(vars(&[
            ("AUTHD_URL", "http://a"),
            ("AUTHD_GUARD_REVOCATION", "introspection"),
            ("AUTHD_GUARD_INTROSPECTION_SECRET", "very-secret-value"),
        ]))
        .unwrap();
        assert!(!format!("{config:?}").contains("very-secret-value"));
        let config = GuardConfig::from_vars(vars(&[
            ("AUTHD_URL", "http://a"),
            ("AUTHD_GUARD_REVOCATION", "redis"),
            ("AUTHD_GUARD_REDIS_URL", "redis://:hunter2@r:6379"),
        ]))
        .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
