//! A resource server's guard from configuration: where authd is, what its
//! tokens must say, and how revocation reaches this server. The settings
//! are declared once (`settings_section!`, the same mechanism as authd's):
//! `GuardSettings` and `GuardCacheSettings` (whose
//! `AUTHD_GUARD_CACHE_ENTRIES` authd's own guard reads too). docs/clients.md
//! lists them, rendered from these declarations (`GuardConfig::markdown_table`).
//!
//! Without `AUTHD_GUARD_PUBLIC_URL` a DPoP proof's `htu` is checked against
//! the request's `Host`, which the client chooses: a proof made for another
//! origin passes. `build` warns about it.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use authd_settings::{
    count, flag, list, markdown_table, path, positive_millis, positive_seconds, read_file, seconds,
    secret, settings_section, text, ConfigError, ConfigErrors, Problems, Secret, Variable, Vars,
    MIN_SECRET_BYTES,
};

use jsonwebtoken::Algorithm;

use crate::authd_redis::AuthdRedis;
use crate::dpop::{DpopPolicy, MemoryReplay, Nonces, ProofReplay};
use crate::guard::Guard;
use crate::introspection::Introspection;
use crate::jwks::Jwks;
use crate::keys::Keys;
use crate::revocation::Revocation;
use crate::verifier::{Rules, Verifier};

/// How a resource server checks revocation (`AUTHD_GUARD_REVOCATION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationMode {
    Redis,
    Introspection,
    Signature,
}

fn revocation_mode(value: &str) -> Result<RevocationMode, String> {
    match value.trim() {
        "redis" => Ok(RevocationMode::Redis),
        "introspection" => Ok(RevocationMode::Introspection),
        "signature" => Ok(RevocationMode::Signature),
        other => Err(format!(
            "`{other}` is not `redis`, `introspection` or `signature`"
        )),
    }
}

fn urls(value: &str) -> Result<Vec<String>, String> {
    let urls: Vec<String> = list(value).map(str::to_string).collect();
    if urls.is_empty() {
        return Err("names no URL".into());
    }
    Ok(urls)
}

/// An absolute `http://` or `https://` URL without query or fragment, its
/// trailing `/` dropped: the base other URLs are made under (a URL without
/// its scheme would make every JWKS fetch fail, long after startup).
fn base_url(value: &str) -> Result<String, String> {
    let url = value.trim().trim_end_matches('/');
    let host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match host {
        Some(host) if !host.is_empty() && !host.contains(['?', '#', ' ']) => Ok(url.to_string()),
        Some(_) => Err("must be an absolute URL without query or fragment, such as https://auth.example.com".into()),
        None => Err(format!(
            "`{url}` has no scheme: it must start with http:// or https:// (e.g. https://auth.example.com)"
        )),
    }
}

/// Milliseconds, 0 allowed.
fn millis(value: &str) -> Result<Duration, String> {
    count::<u64>(value).map(Duration::from_millis)
}

/// A secret shared by every instance of this server, at least 32 bytes.
fn nonce_secret(value: &str) -> Result<NonceSecret, String> {
    if value.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "needs at least {MIN_SECRET_BYTES} bytes (openssl rand -base64 32)"
        ));
    }
    Ok(NonceSecret(Secret::new(value)))
}

settings_section! {
    /// A resource server's guard (`GuardConfig::from_env`).
    pub struct GuardSettings in "authd-guard" {
        /// authd's base URL, `http://` or `https://`: the JWKS is
        /// `<url>/.well-known/jwks.json`, introspection `<url>/api/introspect`.
        /// Required.
        pub authd_url: Option<String> = "AUTHD_URL" [] => base_url;
        /// The `iss` tokens must carry (authd's `AUTHD_ISSUER`).
        pub issuer: String = "AUTHD_GUARD_ISSUER" ["authd"] => text;
        /// The `aud` tokens must carry (authd's `AUTHD_AUDIENCE`).
        pub audience: String = "AUTHD_GUARD_AUDIENCE" ["authd"] => text;
        /// `redis`, `introspection` or `signature` (no check: a revoked token
        /// stands until it expires). Required.
        pub revocation: Option<RevocationMode> = "AUTHD_GUARD_REVOCATION" [] => revocation_mode;
        /// For `redis`: authd's Redis (comma-separated seeds for a Redis Cluster).
        pub redis_urls: Option<Vec<String>> = "AUTHD_GUARD_REDIS_URL" [] => urls;
        /// For `redis`: authd's `AUTHD_REDIS_PREFIX`.
        pub redis_prefix: String = "AUTHD_GUARD_REDIS_PREFIX" ["authd:"] => text;
        /// For `redis` over `rediss://`: a PEM CA.
        pub redis_ca_file: Option<PathBuf> = "AUTHD_GUARD_REDIS_CA_FILE" [] => path;
        /// For `introspection`: one of authd's `AUTHD_INTROSPECTION_SECRETS`.
        pub introspection_secret: Option<Secret> = "AUTHD_GUARD_INTROSPECTION_SECRET" [] => secret;
        /// For `introspection`: how long one answer is reused, ms.
        pub introspection_ttl: Duration = "AUTHD_GUARD_INTROSPECTION_TTL_MS" ["500"] => millis;
        /// Budget of one Redis read or introspection call, ms; then 503.
        pub timeout: Duration = "AUTHD_GUARD_TIMEOUT_MS" ["1000"] => positive_millis;
        /// Seconds of clock difference allowed for `exp` and `nbf`.
        pub leeway: Duration = "AUTHD_GUARD_LEEWAY" ["30"] => seconds;
        /// The URL clients reach this server at (behind a proxy): a DPoP proof's
        /// `htu` must be it plus the request's path. Unset: the listener's scheme
        /// and the request's `Host`, which the client chooses (a startup warning
        /// says so).
        pub public_url: Option<String> = "AUTHD_GUARD_PUBLIC_URL" [] => base_url;
        /// `true`: tokens whose `amr` lacks a second factor or a passkey get 403
        /// `insufficient_user_authentication` (RFC 9470); in code,
        /// `Guard::with_required_mfa` on the guard of one scope.
        pub require_mfa: bool = "AUTHD_GUARD_REQUIRE_MFA" ["false"] => flag;
        /// Seconds a DPoP proof is accepted after its `iat` (and up to 5 s ahead);
        /// each proof once: in authd's Redis with `redis`, else in this process.
        pub dpop_max_age: Duration = "AUTHD_GUARD_DPOP_MAX_AGE" ["300"] => positive_seconds;
        /// At least 32 bytes, the same on every instance of this server: DPoP
        /// proofs must carry a nonce made from it (RFC 9449 §9); a proof without
        /// a current one is 401 `use_dpop_nonce` with a `DPoP-Nonce` to retry with.
        pub dpop_nonce_secret: Option<NonceSecret> = "AUTHD_GUARD_DPOP_NONCE_SECRET" [] => nonce_secret;
    }
}

settings_section! {
    /// The verified-token cache of a guard: a resource server's, and
    /// authd's own (which reads this same declaration).
    pub struct GuardCacheSettings in "access tokens at the guard" {
        /// Access tokens the guard remembers as verified, each until it expires,
        /// so a token its client reuses is not verified cryptographically again
        /// (keyed by the token's SHA-256: a changed byte is another token); and,
        /// with session checks in Redis, sessions whose liveness it remembers while
        /// Redis tracks them for it. 0 turns both off.
        pub cache_entries: usize = "AUTHD_GUARD_CACHE_ENTRIES" ["100000"] => count;
    }
}

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
pub struct NonceSecret(pub Secret);

impl fmt::Debug for NonceSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NonceSecret(..)")
    }
}

impl GuardConfig {
    /// authd at `authd_url` with its default issuer and audience (`authd`),
    /// checking revocation as `revocation` says.
    pub fn for_authd(authd_url: &str, revocation: RevocationConfig) -> Self {
        let defaults = Vars::new(std::iter::empty());
        let (settings, cache) = match (
            GuardSettings::read(&defaults),
            GuardCacheSettings::read(&defaults),
        ) {
            (Ok(settings), Ok(cache)) => (settings, cache),
            _ => unreachable!("every guard setting with a default parses it"),
        };
        Self::from_settings(authd_url, revocation, settings, cache)
    }

    /// The configuration `settings` describe, for authd at `authd_url`.
    fn from_settings(
        authd_url: &str,
        revocation: RevocationConfig,
        settings: GuardSettings,
        cache: GuardCacheSettings,
    ) -> Self {
        Self {
            jwks_url: format!("{}/.well-known/jwks.json", authd_url.trim_end_matches('/')),
            algorithms: vec![Algorithm::EdDSA, Algorithm::ES256, Algorithm::RS256],
            rules: Rules {
                issuer: settings.issuer,
                audience: settings.audience,
                leeway: settings.leeway,
                cache_entries: cache.cache_entries,
            },
            revocation,
            timeout: settings.timeout,
            public_url: settings.public_url,
            dpop_max_age: settings.dpop_max_age,
            require_mfa: settings.require_mfa,
            dpop_nonce_secret: settings.dpop_nonce_secret,
        }
    }

    /// Every variable the guard reads, in the order of docs/clients.md.
    pub fn variables() -> impl Iterator<Item = &'static Variable> {
        GuardSettings::VARIABLES
            .iter()
            .chain(GuardCacheSettings::VARIABLES)
    }

    /// docs/clients.md's table of the guard's settings.
    pub fn markdown_table() -> String {
        markdown_table(Self::variables())
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

    /// From the process environment (`GuardSettings`, `GuardCacheSettings`):
    /// every setting that is wrong is reported, not only the first.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::from_vars(std::env::vars())
    }

    /// As `from_env`, from any list of variables.
    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(
        vars: I,
    ) -> Result<Self, ConfigErrors> {
        let vars = Vars::new(vars);
        let mut problems = Problems::default();
        let settings = problems.take(GuardSettings::read(&vars));
        let cache = problems.take(GuardCacheSettings::read(&vars));
        let (Some(settings), Some(cache)) = (settings, cache) else {
            return Err(problems.into_errors());
        };
        let required = |name: &str| ConfigError::new(name, "is required but not set");
        let authd_url = problems.take(
            settings
                .authd_url
                .clone()
                .ok_or_else(|| required("AUTHD_URL")),
        );
        let mode = problems.take(
            settings
                .revocation
                .ok_or_else(|| required("AUTHD_GUARD_REVOCATION")),
        );
        let (Some(authd_url), Some(mode)) = (authd_url, mode) else {
            return Err(problems.into_errors());
        };
        let base = authd_url.trim_end_matches('/');
        let revocation = match mode {
            RevocationMode::Signature => RevocationConfig::SignatureOnly,
            RevocationMode::Redis => RevocationConfig::Redis {
                urls: settings
                    .redis_urls
                    .clone()
                    .ok_or_else(|| required("AUTHD_GUARD_REDIS_URL"))?,
                prefix: settings.redis_prefix.clone(),
                ca_pem: read_file(
                    "AUTHD_GUARD_REDIS_CA_FILE",
                    settings.redis_ca_file.as_deref(),
                )?,
            },
            RevocationMode::Introspection => RevocationConfig::Introspection {
                url: format!("{base}/api/introspect"),
                secret: settings
                    .introspection_secret
                    .clone()
                    .ok_or_else(|| required("AUTHD_GUARD_INTROSPECTION_SECRET"))?
                    .expose()
                    .to_string(),
                ttl: settings.introspection_ttl,
            },
        };
        Ok(Self::from_settings(base, revocation, settings, cache))
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
                .map_err(|e| ConfigError::new("AUTHD_GUARD_REDIS_URL", e.to_string()))?;
                let sessions = Arc::new(sessions);
                replay = sessions.clone();
                Revocation::Redis(sessions)
            }
            RevocationConfig::Introspection { url, secret, ttl } => {
                let introspection =
                    Introspection::new(url, secret, ttl, self.timeout, self.rules.cache_entries)
                        .map_err(|e| {
                            ConfigError::new(
                                "AUTHD_GUARD_INTROSPECTION_SECRET",
                                format!("the introspection client: {e}"),
                            )
                        })?;
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
                .map(|secret| Arc::new(Nonces::from_secret(secret.0.expose().as_bytes()))),
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

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
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
        let err =
            |pairs: &[(&str, &str)]| GuardConfig::from_vars(vars(pairs)).unwrap_err().to_string();
        assert!(err(&[("AUTHD_URL", "http://a")]).contains("AUTHD_GUARD_REVOCATION"));
        // Every error at once, one a line.
        let all = err(&[]);
        assert_eq!(all.lines().count(), 2, "{all}");
        assert!(all.contains("AUTHD_URL") && all.contains("AUTHD_GUARD_REVOCATION"));
        let all = err(&[
            ("AUTHD_GUARD_TIMEOUT_MS", "soon"),
            ("AUTHD_GUARD_CACHE_ENTRIES", "many"),
        ]);
        assert_eq!(all.lines().count(), 2, "{all}");
        assert!(
            all.contains("AUTHD_GUARD_TIMEOUT_MS") && all.contains("AUTHD_GUARD_CACHE_ENTRIES")
        );
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
    fn urls_must_name_their_scheme() {
        let signature = ("AUTHD_GUARD_REVOCATION", "signature");
        for (name, value) in [
            ("AUTHD_URL", "127.0.0.1:8080"),
            ("AUTHD_URL", "auth.example.com"),
            ("AUTHD_URL", "ftp://auth.example.com"),
            ("AUTHD_URL", "https://"),
            ("AUTHD_GUARD_PUBLIC_URL", "api.example.com"),
        ] {
            let mut pairs = vec![("AUTHD_URL", "http://a"), signature];
            pairs.retain(|(n, _)| *n != name);
            pairs.push((name, value));
            let errors = GuardConfig::from_vars(vars(&pairs)).unwrap_err();
            assert_eq!(errors.len(), 1, "{errors}");
            let e = errors.first().unwrap();
            assert_eq!(e.variable, name, "{value}");
            assert!(e.reason.contains("https://"), "{e}");
        }
        let config = GuardConfig::from_vars(vars(&[
            ("AUTHD_URL", " https://auth.example.com/ "),
            signature,
        ]))
        .unwrap();
        assert_eq!(
            config.jwks_url,
            "https://auth.example.com/.well-known/jwks.json"
        );
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
            .to_string()
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
    fn the_defaults_are_the_declarations_and_docs_are_rendered_from_them() {
        let config = GuardConfig::for_authd("http://a", RevocationConfig::SignatureOnly);
        assert_eq!(config.rules.cache_entries, 100_000);
        assert_eq!(config.timeout, Duration::from_secs(1));
        assert_eq!(config.dpop_max_age, Duration::from_secs(300));
        let table = GuardConfig::markdown_table();
        for var in GuardConfig::variables() {
            assert!(table.contains(&format!("| `{}` |", var.name)), "{table}");
        }
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
