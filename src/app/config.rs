//! Settings: every `AUTHD_*` variable of the contract, read with envy, checked
//! once at startup. A bad value stops the process with one line naming the
//! variable and the reason.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

pub use crate::common::Secret;
use crate::http::client_ip::TrustedProxies;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum JwtAlgorithm {
    EdDSA,
    ES256,
    RS256,
    HS256,
}

impl JwtAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::HS256 => "HS256",
        }
    }
}

impl std::str::FromStr for JwtAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "EdDSA" => Ok(Self::EdDSA),
            "ES256" => Ok(Self::ES256),
            "RS256" => Ok(Self::RS256),
            "HS256" => Ok(Self::HS256),
            other => Err(format!(
                "unknown algorithm `{other}`: expected EdDSA, ES256, RS256 or HS256"
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessTokenCheck {
    /// Signature, claims, and a live session in Redis.
    Session,
    /// Signature and claims only: no I/O on the guarded path.
    Signature,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The raw environment, exactly as the contract names it, every value as
/// text: numbers are parsed in `Settings::check`, which names the variable
/// in its error (envy's own messages are English prose, not an interface).
#[derive(Deserialize)]
#[serde(default)]
struct Raw {
    bind: String,
    redis_url: Secret,
    redis_prefix: String,
    database_url: Secret,
    env: String,
    issuer: String,
    audience: String,
    jwt_algorithm: String,
    jwt_private_key_file: Option<String>,
    jwt_secret: Option<Secret>,
    jwt_verify_key_files: Option<String>,
    jwt_leeway: String,
    access_token_ttl: String,
    refresh_token_ttl: String,
    session_max_age: String,
    refresh_reuse_grace: String,
    access_token_check: String,
    login_max_failures: String,
    login_lockout: String,
    login_max_failures_per_ip: String,
    register_max_per_ip: String,
    max_sessions_per_user: String,
    guard_cache_entries: String,
    redis_min_replicas: String,
    trusted_proxies: String,
    public_url: Option<String>,
    introspection_secrets: Option<Secret>,
    metrics_bind: Option<String>,
    redis_ca_file: Option<String>,
    log_format: String,
    redis_timeout_ms: String,
    database_timeout_ms: String,
}

/// The contract's defaults, in one place.
impl Default for Raw {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            redis_url: Secret::new("redis://127.0.0.1:6379"),
            redis_prefix: "authd:".into(),
            database_url: Secret::new("sqlite://authd.db"),
            env: "development".into(),
            issuer: "authd".into(),
            audience: "authd".into(),
            jwt_algorithm: "EdDSA".into(),
            jwt_private_key_file: None,
            jwt_secret: None,
            jwt_verify_key_files: None,
            jwt_leeway: "30".into(),
            access_token_ttl: "900".into(),
            refresh_token_ttl: "2592000".into(),
            session_max_age: "7776000".into(),
            refresh_reuse_grace: "10".into(),
            access_token_check: "session".into(),
            login_max_failures: "5".into(),
            login_lockout: "300".into(),
            login_max_failures_per_ip: "50".into(),
            register_max_per_ip: "20".into(),
            max_sessions_per_user: "100".into(),
            guard_cache_entries: "100000".into(),
            redis_min_replicas: "0".into(),
            trusted_proxies: String::new(),
            public_url: None,
            introspection_secrets: None,
            metrics_bind: None,
            redis_ca_file: None,
            log_format: "text".into(),
            redis_timeout_ms: "1000".into(),
            database_timeout_ms: "2000".into(),
        }
    }
}

/// The numeric settings, parsed.
struct Numbers {
    jwt_leeway: u64,
    access_token_ttl: u64,
    refresh_token_ttl: u64,
    session_max_age: u64,
    refresh_reuse_grace: u64,
    login_max_failures: u32,
    login_lockout: u64,
    login_max_failures_per_ip: u32,
    register_max_per_ip: u32,
    max_sessions_per_user: u32,
    guard_cache_entries: usize,
    redis_min_replicas: u32,
    redis_timeout_ms: u64,
    database_timeout_ms: u64,
}

impl Numbers {
    fn parse(raw: &Raw) -> Result<Self, ConfigError> {
        Ok(Self {
            jwt_leeway: number("AUTHD_JWT_LEEWAY", &raw.jwt_leeway)?,
            access_token_ttl: number("AUTHD_ACCESS_TOKEN_TTL", &raw.access_token_ttl)?,
            refresh_token_ttl: number("AUTHD_REFRESH_TOKEN_TTL", &raw.refresh_token_ttl)?,
            session_max_age: number("AUTHD_SESSION_MAX_AGE", &raw.session_max_age)?,
            refresh_reuse_grace: number("AUTHD_REFRESH_REUSE_GRACE", &raw.refresh_reuse_grace)?,
            login_max_failures: number("AUTHD_LOGIN_MAX_FAILURES", &raw.login_max_failures)?,
            login_lockout: number("AUTHD_LOGIN_LOCKOUT", &raw.login_lockout)?,
            login_max_failures_per_ip: number(
                "AUTHD_LOGIN_MAX_FAILURES_PER_IP",
                &raw.login_max_failures_per_ip,
            )?,
            register_max_per_ip: number("AUTHD_REGISTER_MAX_PER_IP", &raw.register_max_per_ip)?,
            max_sessions_per_user: number(
                "AUTHD_MAX_SESSIONS_PER_USER",
                &raw.max_sessions_per_user,
            )?,
            guard_cache_entries: number("AUTHD_GUARD_CACHE_ENTRIES", &raw.guard_cache_entries)?,
            redis_min_replicas: number("AUTHD_REDIS_MIN_REPLICAS", &raw.redis_min_replicas)?,
            redis_timeout_ms: number("AUTHD_REDIS_TIMEOUT_MS", &raw.redis_timeout_ms)?,
            database_timeout_ms: number("AUTHD_DATABASE_TIMEOUT_MS", &raw.database_timeout_ms)?,
        })
    }
}

/// A whole number setting, or an error naming the variable.
fn number<T: std::str::FromStr>(variable: &str, value: &str) -> Result<T, ConfigError> {
    value.trim().parse().map_err(|_| {
        bad(
            variable,
            format!("`{value}` is not a whole number in range"),
        )
    })
}

/// Where the signing key comes from.
#[derive(Clone, Debug)]
pub enum SigningKeySource {
    /// A PKCS#8 PEM file (EdDSA, ES256, RS256).
    PemFile(PathBuf),
    /// The HS256 shared secret.
    Secret(Secret),
    /// Nothing configured: development generates a key that dies with the process.
    Ephemeral,
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub bind: SocketAddr,
    pub redis_url: Secret,
    pub redis_prefix: String,
    pub database_url: Secret,
    pub environment: Environment,
    pub issuer: String,
    pub audience: String,
    pub jwt_algorithm: JwtAlgorithm,
    pub signing_key: SigningKeySource,
    pub verify_key_files: Vec<PathBuf>,
    pub jwt_leeway: Duration,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub session_max_age: Duration,
    pub refresh_reuse_grace: Duration,
    pub access_token_check: AccessTokenCheck,
    pub login_max_failures: u32,
    pub login_lockout: Duration,
    pub login_max_failures_per_ip: u32,
    pub register_max_per_ip: u32,
    pub max_sessions_per_user: u32,
    pub guard_cache_entries: usize,
    /// Replicas that must acknowledge every change of session state
    /// (`WAIT`) before authd answers; 0: none.
    pub redis_min_replicas: u32,
    pub trusted_proxies: TrustedProxies,
    /// Where clients reach authd (RFC 8414 metadata), without a trailing
    /// `/`; unset: `http://` and the address authd listens on.
    pub public_url: Option<String>,
    /// Bearer secrets of resource servers allowed to introspect; none turns
    /// `/api/introspect` off.
    pub introspection_secrets: Vec<Secret>,
    pub log_format: LogFormat,
    /// Serve `/metrics` on this address only (404 on the main one).
    pub metrics_bind: Option<SocketAddr>,
    /// PEM of the CA that signed the Redis servers' certificates
    /// (`rediss://`); none: the system roots.
    pub redis_ca_file: Option<PathBuf>,
    pub redis_timeout: Duration,
    pub database_timeout: Duration,
}

/// A setting (or what it points at: a key file, a database, a listen
/// address) that keeps authd from starting, named for the operator.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct ConfigError {
    pub variable: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(variable: &str, reason: impl Into<String>) -> Self {
        Self {
            variable: variable.to_string(),
            reason: reason.into(),
        }
    }
}

fn bad(variable: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::new(variable, reason)
}

/// Secrets that appear in documentation and examples; production refuses them.
const KNOWN_DEFAULT_SECRETS: &[&str] = &[
    "change-me-to-at-least-32-random-bytes!!",
    "changeme",
    "change-me",
    "secret",
];

pub const MIN_HS256_SECRET_BYTES: usize = 32;
/// Random secrets of 32 bytes or more have far more; `aaaa…` or `abcd…`
/// repeated have fewer.
pub const MIN_HS256_DISTINCT_BYTES: usize = 12;

/// Production refuses a private key file that group or others may read, as
/// ssh does. (A file that cannot be read at all is reported when the key
/// is loaded.)
fn refuse_shared_key_file(path: &std::path::Path) -> Result<(), ConfigError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(bad(
                    "AUTHD_JWT_PRIVATE_KEY_FILE",
                    format!(
                        "{} is readable by group or others (mode {mode:o}); make it private to the authd user: `chmod 600 {}`",
                        path.display(),
                        path.display()
                    ),
                ));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

impl Settings {
    /// Reads `AUTHD_*` from the process environment (after `.env`, loaded by main).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads settings from any list of variables; tests pass their own.
    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(
        vars: I,
    ) -> Result<Self, ConfigError> {
        // Empty values mean "unset", as in most .env files.
        let vars = vars
            .into_iter()
            .filter(|(k, v)| k.starts_with("AUTHD_") && !v.is_empty());
        let raw: Raw = envy::prefixed("AUTHD_")
            .from_iter(vars)
            .map_err(envy_error)?;
        Self::check(raw)
    }

    fn check(raw: Raw) -> Result<Self, ConfigError> {
        let n = Numbers::parse(&raw)?;
        let bind = raw.bind.parse::<SocketAddr>().map_err(|_| {
            bad(
                "AUTHD_BIND",
                format!("`{}` is not an address like 127.0.0.1:8080", raw.bind),
            )
        })?;
        let environment = match raw.env.as_str() {
            "development" => Environment::Development,
            "production" => Environment::Production,
            other => {
                return Err(bad(
                    "AUTHD_ENV",
                    format!("`{other}` is neither `development` nor `production`"),
                ))
            }
        };
        let jwt_algorithm = raw
            .jwt_algorithm
            .parse::<JwtAlgorithm>()
            .map_err(|e| bad("AUTHD_JWT_ALGORITHM", e))?;
        let access_token_check = match raw.access_token_check.as_str() {
            "session" => AccessTokenCheck::Session,
            "signature" => AccessTokenCheck::Signature,
            other => {
                return Err(bad(
                    "AUTHD_ACCESS_TOKEN_CHECK",
                    format!("`{other}` is neither `session` nor `signature`"),
                ))
            }
        };
        if raw.redis_prefix.contains(['{', '}']) {
            return Err(bad(
                "AUTHD_REDIS_PREFIX",
                "must not contain `{` or `}`: authd adds its own hash tags for Redis Cluster",
            ));
        }
        for (name, value) in [
            ("AUTHD_ACCESS_TOKEN_TTL", n.access_token_ttl),
            ("AUTHD_REFRESH_TOKEN_TTL", n.refresh_token_ttl),
            ("AUTHD_SESSION_MAX_AGE", n.session_max_age),
            ("AUTHD_LOGIN_LOCKOUT", n.login_lockout),
            ("AUTHD_REDIS_TIMEOUT_MS", n.redis_timeout_ms),
            ("AUTHD_DATABASE_TIMEOUT_MS", n.database_timeout_ms),
        ] {
            if value == 0 {
                return Err(bad(name, "must be greater than 0"));
            }
        }
        // Lifetimes beyond ten years are typos, and would overflow the
        // millisecond arithmetic of tokens and Redis expiries.
        const TEN_YEARS: u64 = 10 * 365 * 24 * 3600;
        for (name, value) in [
            ("AUTHD_ACCESS_TOKEN_TTL", n.access_token_ttl),
            ("AUTHD_REFRESH_TOKEN_TTL", n.refresh_token_ttl),
            ("AUTHD_SESSION_MAX_AGE", n.session_max_age),
            ("AUTHD_REFRESH_REUSE_GRACE", n.refresh_reuse_grace),
            ("AUTHD_JWT_LEEWAY", n.jwt_leeway),
            ("AUTHD_LOGIN_LOCKOUT", n.login_lockout),
            ("AUTHD_REDIS_TIMEOUT_MS", n.redis_timeout_ms / 1000),
            ("AUTHD_DATABASE_TIMEOUT_MS", n.database_timeout_ms / 1000),
        ] {
            if value > TEN_YEARS {
                return Err(bad(name, "is more than ten years"));
            }
        }
        for (name, value) in [
            ("AUTHD_REGISTER_MAX_PER_IP", n.register_max_per_ip),
            ("AUTHD_MAX_SESSIONS_PER_USER", n.max_sessions_per_user),
        ] {
            if value == 0 {
                return Err(bad(name, "must be greater than 0"));
            }
        }
        if n.login_max_failures == 0 {
            return Err(bad("AUTHD_LOGIN_MAX_FAILURES", "must be greater than 0"));
        }
        if n.login_max_failures_per_ip == 0 {
            return Err(bad(
                "AUTHD_LOGIN_MAX_FAILURES_PER_IP",
                "must be greater than 0",
            ));
        }
        let trusted_proxies = TrustedProxies::parse(
            &split_list(&raw.trusted_proxies)
                .map(str::to_string)
                .collect::<Vec<_>>(),
        )
        .map_err(|e| bad("AUTHD_TRUSTED_PROXIES", e))?;
        let public_url = match raw.public_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => {
                let url = url.trim_end_matches('/');
                let rest = url
                    .strip_prefix("https://")
                    .or_else(|| url.strip_prefix("http://"));
                if rest.is_none_or(|host| host.is_empty() || host.contains(['?', '#', ' '])) {
                    return Err(bad(
                        "AUTHD_PUBLIC_URL",
                        "must be an absolute http:// or https:// URL without query or fragment",
                    ));
                }
                Some(url.to_string())
            }
        };
        let introspection_secrets: Vec<Secret> = raw
            .introspection_secrets
            .as_ref()
            .map(|all| split_list(all.expose()).map(Secret::new).collect())
            .unwrap_or_default();
        if let Some(short) = introspection_secrets
            .iter()
            .position(|s| s.expose().len() < MIN_HS256_SECRET_BYTES)
        {
            return Err(bad(
                "AUTHD_INTROSPECTION_SECRETS",
                format!(
                    "secret #{} is shorter than {MIN_HS256_SECRET_BYTES} bytes (e.g. `openssl rand -base64 48`)",
                    short + 1
                ),
            ));
        }
        let metrics_bind = match raw.metrics_bind.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(addr) => Some(addr.parse::<SocketAddr>().map_err(|_| {
                bad(
                    "AUTHD_METRICS_BIND",
                    "must be an address and port, such as 127.0.0.1:9100",
                )
            })?),
        };
        let log_format = match raw.log_format.trim().to_ascii_lowercase().as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            _ => return Err(bad("AUTHD_LOG_FORMAT", "must be `text` or `json`")),
        };
        if raw.redis_url.expose().trim().is_empty() {
            return Err(bad("AUTHD_REDIS_URL", "is empty"));
        }

        let signing_key = match (jwt_algorithm, raw.jwt_private_key_file, raw.jwt_secret) {
            (JwtAlgorithm::HS256, Some(_), _) => {
                return Err(bad(
                    "AUTHD_JWT_PRIVATE_KEY_FILE",
                    "HS256 signs with AUTHD_JWT_SECRET, not a key file",
                ))
            }
            (JwtAlgorithm::HS256, None, Some(secret)) => {
                if secret.expose().len() < MIN_HS256_SECRET_BYTES {
                    return Err(bad(
                        "AUTHD_JWT_SECRET",
                        format!(
                            "is {} bytes; HS256 needs at least {MIN_HS256_SECRET_BYTES} random bytes (e.g. `openssl rand -base64 48`)",
                            secret.expose().len()
                        ),
                    ));
                }
                if environment == Environment::Production
                    && KNOWN_DEFAULT_SECRETS.contains(&secret.expose())
                {
                    return Err(bad(
                        "AUTHD_JWT_SECRET",
                        "is a published example value; set a fresh random secret (e.g. `openssl rand -base64 48`)",
                    ));
                }
                if environment == Environment::Production {
                    let distinct = secret
                        .expose()
                        .bytes()
                        .collect::<std::collections::HashSet<u8>>()
                        .len();
                    if distinct < MIN_HS256_DISTINCT_BYTES {
                        return Err(bad(
                            "AUTHD_JWT_SECRET",
                            format!(
                                "has only {distinct} distinct bytes, a repeated or patterned string; set a random secret (e.g. `openssl rand -base64 48`)"
                            ),
                        ));
                    }
                }
                SigningKeySource::Secret(secret)
            }
            (_, _, Some(_)) => {
                return Err(bad(
                    "AUTHD_JWT_SECRET",
                    format!(
                        "is only used with HS256, but AUTHD_JWT_ALGORITHM is {}; use AUTHD_JWT_PRIVATE_KEY_FILE",
                        jwt_algorithm.as_str()
                    ),
                ))
            }
            (_, Some(path), None) => {
                let path = PathBuf::from(path);
                if environment == Environment::Production {
                    refuse_shared_key_file(&path)?;
                }
                SigningKeySource::PemFile(path)
            }
            (_, None, None) => SigningKeySource::Ephemeral,
        };
        if matches!(signing_key, SigningKeySource::Ephemeral)
            && environment == Environment::Production
        {
            let (variable, how) = if jwt_algorithm == JwtAlgorithm::HS256 {
                (
                    "AUTHD_JWT_SECRET",
                    "set a random secret of at least 32 bytes",
                )
            } else {
                (
                    "AUTHD_JWT_PRIVATE_KEY_FILE",
                    "create one with `authd keygen > key.pem` and point this variable at it",
                )
            };
            return Err(bad(
                variable,
                format!("production needs a signing key that outlives the process: {how}"),
            ));
        }

        let verify_key_files = split_list(raw.jwt_verify_key_files.as_deref().unwrap_or(""))
            .map(PathBuf::from)
            .collect::<Vec<_>>();
        if jwt_algorithm == JwtAlgorithm::HS256 && !verify_key_files.is_empty() {
            return Err(bad(
                "AUTHD_JWT_VERIFY_KEY_FILES",
                "holds PEM keys, which HS256 cannot use",
            ));
        }

        Ok(Settings {
            bind,
            redis_url: raw.redis_url,
            redis_prefix: raw.redis_prefix,
            database_url: raw.database_url,
            environment,
            issuer: raw.issuer,
            audience: raw.audience,
            jwt_algorithm,
            signing_key,
            verify_key_files,
            jwt_leeway: Duration::from_secs(n.jwt_leeway),
            access_token_ttl: Duration::from_secs(n.access_token_ttl),
            refresh_token_ttl: Duration::from_secs(n.refresh_token_ttl),
            session_max_age: Duration::from_secs(n.session_max_age),
            refresh_reuse_grace: Duration::from_secs(n.refresh_reuse_grace),
            access_token_check,
            login_max_failures: n.login_max_failures,
            login_lockout: Duration::from_secs(n.login_lockout),
            login_max_failures_per_ip: n.login_max_failures_per_ip,
            register_max_per_ip: n.register_max_per_ip,
            max_sessions_per_user: n.max_sessions_per_user,
            guard_cache_entries: n.guard_cache_entries,
            redis_min_replicas: n.redis_min_replicas,
            trusted_proxies,
            public_url,
            introspection_secrets,
            log_format,
            metrics_bind,
            redis_ca_file: raw
                .redis_ca_file
                .as_deref()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
            redis_timeout: Duration::from_millis(n.redis_timeout_ms),
            database_timeout: Duration::from_millis(n.database_timeout_ms),
        })
    }
}

fn split_list(s: &str) -> impl Iterator<Item = &str> {
    s.split(',').map(str::trim).filter(|p| !p.is_empty())
}

/// envy fails only on a value it cannot read as text.
fn envy_error(e: envy::Error) -> ConfigError {
    match e {
        envy::Error::MissingValue(field) => bad(
            &format!("AUTHD_{}", field.to_uppercase()),
            "is required but not set",
        ),
        envy::Error::Custom(msg) => bad("AUTHD_*", msg),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_follow_the_contract() {
        let s = Settings::from_vars(vars(&[])).unwrap();
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.redis_prefix, "authd:");
        assert_eq!(s.jwt_algorithm, JwtAlgorithm::EdDSA);
        assert_eq!(s.access_token_ttl, Duration::from_secs(900));
        assert_eq!(s.refresh_token_ttl, Duration::from_secs(2_592_000));
        assert_eq!(s.session_max_age, Duration::from_secs(7_776_000));
        assert_eq!(s.refresh_reuse_grace, Duration::from_secs(10));
        assert_eq!(s.jwt_leeway, Duration::from_secs(30));
        assert_eq!(s.access_token_check, AccessTokenCheck::Session);
        assert_eq!(s.login_max_failures, 5);
        assert_eq!(s.redis_timeout, Duration::from_millis(1000));
        assert_eq!(s.database_timeout, Duration::from_millis(2000));
        assert!(matches!(s.signing_key, SigningKeySource::Ephemeral));
    }

    #[test]
    fn a_malformed_number_names_the_variable() {
        let e = Settings::from_vars(vars(&[("AUTHD_ACCESS_TOKEN_TTL", "fifteen")])).unwrap_err();
        assert_eq!(e.variable, "AUTHD_ACCESS_TOKEN_TTL");
        assert!(!e.reason.contains("fifteen") || e.reason.contains("number"));
    }

    #[test]
    fn a_short_hs256_secret_is_refused_and_not_echoed() {
        let e = Settings::from_vars(vars(&[
            ("AUTHD_JWT_ALGORITHM", "HS256"),
            ("AUTHD_JWT_SECRET", "too-short-secret"),
        ]))
        .unwrap_err();
        assert_eq!(e.variable, "AUTHD_JWT_SECRET");
        assert!(!e.to_string().contains("too-short-secret"));
    }

    #[test]
    fn production_needs_a_key() {
        let e = Settings::from_vars(vars(&[("AUTHD_ENV", "production")])).unwrap_err();
        assert_eq!(e.variable, "AUTHD_JWT_PRIVATE_KEY_FILE");
        assert!(e.reason.contains("authd keygen"));
    }

    #[test]
    fn production_refuses_a_published_secret() {
        let e = Settings::from_vars(vars(&[
            ("AUTHD_ENV", "production"),
            ("AUTHD_JWT_ALGORITHM", "HS256"),
            ("AUTHD_JWT_SECRET", KNOWN_DEFAULT_SECRETS[0]),
        ]))
        .unwrap_err();
        assert_eq!(e.variable, "AUTHD_JWT_SECRET");
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Settings::from_vars(vars(&[
            ("AUTHD_JWT_ALGORITHM", "HS256"),
            ("AUTHD_JWT_SECRET", "0123456789abcdef0123456789abcdef-x"),
            ("AUTHD_DATABASE_URL", "postgres://u:hunter2@db/authd"),
        ]))
        .unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("0123456789abcdef"));
        assert!(!debug.contains("hunter2"));
    }

    #[test]
    fn absurd_lifetimes_are_refused() {
        let e = Settings::from_vars(vars(&[("AUTHD_SESSION_MAX_AGE", "18446744073709551615")]))
            .unwrap_err();
        assert_eq!(e.variable, "AUTHD_SESSION_MAX_AGE");
    }

    #[test]
    fn malformed_trusted_proxies_are_refused() {
        let ok = Settings::from_vars(vars(&[(
            "AUTHD_TRUSTED_PROXIES",
            "10.0.0.0/8, ::1,192.168.1.7",
        )]));
        assert!(ok.is_ok());
        let e = Settings::from_vars(vars(&[("AUTHD_TRUSTED_PROXIES", "10.0.0.0/40")])).unwrap_err();
        assert_eq!(e.variable, "AUTHD_TRUSTED_PROXIES");
    }

    #[test]
    fn a_prefix_with_braces_is_refused() {
        let e = Settings::from_vars(vars(&[("AUTHD_REDIS_PREFIX", "x{y}")])).unwrap_err();
        assert_eq!(e.variable, "AUTHD_REDIS_PREFIX");
    }

    #[test]
    fn production_refuses_a_patterned_hs256_secret() {
        for patterned in ["a".repeat(48), "abcd".repeat(12), "0123456789".repeat(4)] {
            let e = Settings::from_vars(vars(&[
                ("AUTHD_ENV", "production"),
                ("AUTHD_JWT_ALGORITHM", "HS256"),
                ("AUTHD_JWT_SECRET", &patterned),
            ]))
            .unwrap_err();
            assert_eq!(e.variable, "AUTHD_JWT_SECRET");
            assert!(e.reason.contains("openssl rand"), "{e}");
            assert!(!e.to_string().contains(&patterned));
        }
        let random = "kQ9v2Lx7ZpT4mW8rB1nC6yH3sD5fG0jA+e/uI=";
        assert!(Settings::from_vars(vars(&[
            ("AUTHD_ENV", "production"),
            ("AUTHD_JWT_ALGORITHM", "HS256"),
            ("AUTHD_JWT_SECRET", random),
        ]))
        .is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn production_refuses_a_key_file_others_may_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        std::fs::write(&path, "not checked here").unwrap();
        let file = path.to_str().unwrap();
        for (mode, refused) in [
            (0o644, true),
            (0o640, true),
            (0o604, true),
            (0o600, false),
            (0o400, false),
        ] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let result = Settings::from_vars(vars(&[
                ("AUTHD_ENV", "production"),
                ("AUTHD_JWT_PRIVATE_KEY_FILE", file),
            ]));
            match result {
                Err(e) if refused => {
                    assert_eq!(e.variable, "AUTHD_JWT_PRIVATE_KEY_FILE");
                    assert!(e.reason.contains("chmod 600"), "{e}");
                }
                Ok(_) if !refused => {}
                other => panic!("mode {mode:o}: {:?}", other.map(|_| ())),
            }
        }
        // Development does not insist.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(Settings::from_vars(vars(&[("AUTHD_JWT_PRIVATE_KEY_FILE", file)])).is_ok());
    }

    #[test]
    fn new_limits_have_their_defaults_and_refuse_zero() {
        let s = Settings::from_vars(vars(&[])).unwrap();
        assert_eq!(s.max_sessions_per_user, 100);
        assert_eq!(s.register_max_per_ip, 20);
        for name in ["AUTHD_MAX_SESSIONS_PER_USER", "AUTHD_REGISTER_MAX_PER_IP"] {
            let e = Settings::from_vars(vars(&[(name, "0")])).unwrap_err();
            assert_eq!(e.variable, name);
            let e = Settings::from_vars(vars(&[(name, "many")])).unwrap_err();
            assert_eq!(e.variable, name);
        }
    }

    #[test]
    fn operations_settings_have_their_defaults_and_refuse_nonsense() {
        let s = Settings::from_vars(vars(&[])).unwrap();
        assert_eq!(s.public_url, None);
        assert!(s.introspection_secrets.is_empty());
        assert_eq!(s.log_format, LogFormat::Text);
        let s = Settings::from_vars(vars(&[
            ("AUTHD_PUBLIC_URL", "https://auth.example.com/"),
            ("AUTHD_LOG_FORMAT", "JSON"),
            (
                "AUTHD_INTROSPECTION_SECRETS",
                "0123456789abcdef0123456789abcdef, fedcba9876543210fedcba9876543210x",
            ),
        ]))
        .unwrap();
        assert_eq!(s.public_url.as_deref(), Some("https://auth.example.com"));
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.introspection_secrets.len(), 2);
        assert!(!format!("{s:?}").contains("0123456789abcdef"));
        for (name, value) in [
            ("AUTHD_PUBLIC_URL", "auth.example.com"),
            ("AUTHD_PUBLIC_URL", "https://"),
            ("AUTHD_PUBLIC_URL", "https://a.example?x=1"),
            ("AUTHD_INTROSPECTION_SECRETS", "tooshortsecret"),
            ("AUTHD_LOG_FORMAT", "xml"),
            ("AUTHD_METRICS_BIND", "9100"),
        ] {
            let e = Settings::from_vars(vars(&[(name, value)])).unwrap_err();
            assert_eq!(e.variable, name, "{value}");
            assert!(
                !e.reason.contains("tooshortsecret"),
                "no secret in the message"
            );
        }
    }
}
