//! Settings: every `AUTHD_*` variable, each declared once by the component
//! it configures (`settings_section!`), read and checked once at startup.
//! Bad values stop the process with one line each naming the variable and
//! the reason, every one of them at once. The help text, `.env.example` and the README's table are
//! rendered here from the same declarations.

use std::net::SocketAddr;

use authd_guard::GuardCacheSettings;

use crate::auth::{AccountRules, AuthSettings, DpopRules, TokenRules};
use crate::common::settings::{
    address, env_example_lines, environment, help_lines, list, markdown_table, text, Problems,
    Variable, Vars,
};
pub use crate::common::settings::{ConfigError, ConfigErrors, Environment};
use crate::connections::{DatabaseSettings, RedisSettings};
use crate::factors::FactorSettings;
use crate::federation::{FederationSettings, ProviderSettings};
use crate::http::client_ip::TrustedProxies;
use crate::http::cors::parse_origins;
use crate::jwt::{JwtSettings, SigningKeySource};
use crate::mail::MailSettings;
use crate::sessions::SessionSettings;
use crate::settings_section;
use crate::throttle::ThrottleSettings;
use crate::users::HashingSettings;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

fn log_format(value: &str) -> Result<LogFormat, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err("must be `text` or `json`".into()),
    }
}

fn public_url(value: &str) -> Result<String, String> {
    let url = value.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    if rest.is_none_or(|host| host.is_empty() || host.contains(['?', '#', ' '])) {
        return Err("must be an absolute http:// or https:// URL without query or fragment".into());
    }
    Ok(url.to_string())
}

fn proxies(value: &str) -> Result<TrustedProxies, String> {
    TrustedProxies::parse(&list(value).map(str::to_string).collect::<Vec<_>>())
}

settings_section! {
    /// Where authd listens, for whom, and how it reports.
    pub struct ServerSettings in "server" {
        /// Listen address; port 0 picks a free port (the chosen address is logged).
        pub bind: SocketAddr = "AUTHD_BIND" ["127.0.0.1:8080"] => address;
        /// `development` or `production`. Production refuses to start without a
        /// real signing key, with a short, published or patterned HS256 secret
        /// (fewer than 12 distinct bytes), with a private key file that group
        /// or others may read (`chmod 600` it, as for ssh), without
        /// `AUTHD_SMTP_URL`, or without an `https://` `AUTHD_PUBLIC_URL`.
        pub environment: Environment = "AUTHD_ENV" ["development"] => environment;
        /// The URL clients reach authd at; the endpoints in
        /// `/.well-known/oauth-authorization-server` are under it, and it is that
        /// document's `issuer` (RFC 8414). Unset: `http://` and the address authd
        /// listens on, and `AUTHD_ISSUER` as the issuer. Production refuses to
        /// start without an `https://` one, and authd warns at startup when it
        /// differs from `AUTHD_ISSUER`.
        pub public_url: Option<String> = "AUTHD_PUBLIC_URL" [] => public_url;
        /// Comma-separated IPs/CIDRs (v4, v6) of your proxies; behind them the
        /// client is the right-most `X-Forwarded-For` entry that is not itself a
        /// trusted proxy.
        pub trusted_proxies: TrustedProxies = "AUTHD_TRUSTED_PROXIES" [""] => proxies;
        /// Log lines as `text`, or `json`: one JSON object a line (`timestamp`,
        /// `level`, `target`, `message`, `request_id`; access lines add `method`,
        /// `route`, `status`, `duration_ms`), for log shippers.
        pub log_format: LogFormat = "AUTHD_LOG_FORMAT" ["text"] => log_format;
        /// Serve Prometheus `GET /metrics` on this address only (e.g.
        /// `127.0.0.1:9100`); the main address then answers 404 for it. Unset:
        /// `/metrics` on the main address, which production warns about at
        /// startup (its login counters show an attacker how their guessing goes).
        pub metrics_bind: Option<SocketAddr> = "AUTHD_METRICS_BIND" [] => address;
        /// Comma-separated origins of web apps allowed to call authd from a
        /// browser (CORS), each exact as browsers send it:
        /// `https://app.example.com`, `http://localhost:5173`; never `*`. Empty:
        /// no CORS headers, so only same-origin pages and non-browser clients.
        pub cors_origins: Vec<String> = "AUTHD_CORS_ORIGINS" [""] => parse_origins;
        /// The product's name on authd's own pages (behind the mailed links).
        pub pages_title: String = "AUTHD_PAGES_TITLE" ["authd"] => text;
    }
}

/// Every setting, by section; each component is built from its own.
#[derive(Clone, Debug)]
pub struct Settings {
    pub server: ServerSettings,
    pub redis: RedisSettings,
    pub database: DatabaseSettings,
    pub jwt: JwtSettings,
    pub sessions: SessionSettings,
    pub auth: AuthSettings,
    pub throttle: ThrottleSettings,
    pub hashing: HashingSettings,
    pub mail: MailSettings,
    pub factors: FactorSettings,
    pub federation: FederationSettings,
    /// Each provider `AUTHD_OIDC_PROVIDERS` lists, from its own variables.
    pub providers: Vec<ProviderSettings>,
    /// `AUTHD_GUARD_CACHE_ENTRIES`, declared by the guard crate (resource
    /// servers read the same one).
    pub guard_cache: GuardCacheSettings,
    /// `AUTHD_*` variables that are set and that no setting declares (a
    /// typo is otherwise silently ignored): warned about at startup.
    pub undeclared: Vec<String>,
}

/// `AUTHD_*` names that are not authd's settings and are expected around
/// it: a resource server's guard (`AUTHD_URL`, `AUTHD_GUARD_*`), and the
/// test suite's and CI's own.
fn belongs_elsewhere(name: &str) -> bool {
    (name.starts_with("AUTHD_GUARD_") && name != "AUTHD_GUARD_CACHE_ENTRIES")
        || name.starts_with("AUTHD_TEST_")
        || matches!(name, "AUTHD_URL" | "AUTHD_BIN" | "AUTHD_UPDATE_DOCS")
}

/// How many single-character edits turn `a` into `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

impl Settings {
    /// Every variable, in the order of `--help`, `.env.example` and the README.
    pub fn variables() -> impl Iterator<Item = &'static Variable> {
        [
            ServerSettings::VARIABLES,
            RedisSettings::VARIABLES,
            DatabaseSettings::VARIABLES,
            JwtSettings::VARIABLES,
            GuardCacheSettings::VARIABLES,
            TokenRules::VARIABLES,
            DpopRules::VARIABLES,
            SessionSettings::VARIABLES,
            AccountRules::VARIABLES,
            ThrottleSettings::VARIABLES,
            HashingSettings::VARIABLES,
            MailSettings::VARIABLES,
            FactorSettings::VARIABLES,
            FederationSettings::VARIABLES,
        ]
        .into_iter()
        .flatten()
    }

    /// Reads `AUTHD_*` from the process environment (after `.env`, loaded by main).
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::from_vars(std::env::vars())
    }

    /// Reads settings from any list of variables; tests pass their own.
    /// Every setting that is wrong is reported at once, each naming its
    /// variable: the sections that parse are still checked as a whole.
    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(
        vars: I,
    ) -> Result<Self, ConfigErrors> {
        let vars = Vars::new(vars);
        let mut problems = Problems::default();
        let server = problems.take(ServerSettings::read(&vars));
        // What production refuses is checked even when another server
        // setting is wrong (AUTHD_ENV's own error is reported, and the
        // rest is checked as development).
        let environment = match &server {
            Some(server) => server.environment,
            None => match vars.get("AUTHD_ENV") {
                Some("production") => Environment::Production,
                _ => Environment::Development,
            },
        };
        let production = environment == Environment::Production;
        let federation = problems.take(FederationSettings::read(&vars));
        let providers = match &federation {
            Some(federation) => problems.take(federation.read_providers(&vars, environment)),
            None => None,
        };
        let redis = problems.take(RedisSettings::read(&vars));
        let database = problems.take(DatabaseSettings::read(&vars));
        let jwt = problems.take(JwtSettings::read(&vars));
        let sessions = problems.take(SessionSettings::read(&vars));
        let auth = problems.take(AuthSettings::read(&vars));
        let throttle = problems.take(ThrottleSettings::read(&vars));
        let hashing = problems.take(HashingSettings::read(&vars));
        let mail = problems.take(MailSettings::read(&vars));
        let factors = problems.take(FactorSettings::read(&vars));
        let guard_cache = problems.take(GuardCacheSettings::read(&vars));
        // What no single variable decides, checked now rather than when the
        // keys load: a production start fails before it binds anything.
        // (The signing key is checked once the JWT section itself parses.)
        if let Some(jwt) = &jwt {
            problems.take(jwt.signing_key(environment));
        }
        if let Some(hashing) = &hashing {
            problems.take(hashing.params(production));
        }
        if production && mail.as_ref().is_some_and(|mail| mail.smtp_url.is_none()) {
            problems.push(ConfigError::new(
                "AUTHD_SMTP_URL",
                "production sends reset and notice mail over SMTP: set it (e.g. smtp://user:pass@mail.example.com:587?tls=starttls)",
            ));
        }
        // RFC 8414 §3.3: the metadata's issuer is the https URL it was
        // fetched under, and strict clients refuse anything else.
        let public_url = server.as_ref().and_then(|s| s.public_url.as_deref());
        if production && !public_url.is_some_and(|url| url.starts_with("https://")) {
            problems.push(ConfigError::new(
                "AUTHD_PUBLIC_URL",
                "production publishes its OAuth metadata under it, as its issuer: set the https:// URL clients reach authd at (e.g. https://auth.example.com)",
            ));
        }
        let (
            Some(server),
            Some(federation),
            Some(providers),
            Some(redis),
            Some(database),
            Some(jwt),
            Some(sessions),
            Some(auth),
            Some(throttle),
            Some(hashing),
            Some(mail),
            Some(factors),
            Some(guard_cache),
        ) = (
            server,
            federation,
            providers,
            redis,
            database,
            jwt,
            sessions,
            auth,
            throttle,
            hashing,
            mail,
            factors,
            guard_cache,
        )
        else {
            return Err(problems.into_errors());
        };
        problems.finish()?;
        let mut undeclared: Vec<String> = vars
            .names()
            .filter(|name| !belongs_elsewhere(name))
            .filter(|name| Self::variables().all(|v| v.name != *name))
            .filter(|name| !federation.declares(name))
            .map(str::to_string)
            .collect();
        undeclared.sort();
        Ok(Self {
            server,
            redis,
            database,
            jwt,
            sessions,
            auth,
            throttle,
            hashing,
            mail,
            factors,
            federation,
            providers,
            guard_cache,
            undeclared,
        })
    }

    /// The `issuer` of the RFC 8414 metadata: `AUTHD_PUBLIC_URL` whenever
    /// it is set (the URL the document is published under, as RFC 8414
    /// §3.3 requires), else `AUTHD_ISSUER` (development on its listen
    /// address). Tokens always carry `AUTHD_ISSUER` as `iss`.
    pub fn metadata_issuer(&self) -> &str {
        self.server
            .public_url
            .as_deref()
            .unwrap_or(&self.jwt.issuer)
    }

    /// What production (or any setup) should hear about at startup: the
    /// settings are valid, but a client or an attacker would notice.
    pub fn startup_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for name in &self.undeclared {
            let closest = Self::variables()
                .map(|v| (edit_distance(name, v.name), v.name))
                .min();
            let hint = match closest {
                Some((distance, known)) if distance <= 3 => format!(": did you mean {known}?"),
                _ => " (`authd --help` lists every setting)".to_string(),
            };
            warnings.push(format!(
                "{name} is set, but authd has no setting of that name and ignores it{hint}"
            ));
        }
        let (issuer, tokens) = (self.metadata_issuer(), self.jwt.issuer.as_str());
        if issuer != tokens {
            warnings.push(format!(
                "AUTHD_ISSUER (`{tokens}`, the `iss` of access tokens) differs from AUTHD_PUBLIC_URL (`{issuer}`, the metadata's issuer): clients that match a token's iss to the metadata refuse it; set AUTHD_ISSUER={issuer} (access tokens issued before keep the old iss until they expire, and resource servers that pin iss must then expect the new one)"
            ));
        }
        if self.server.environment == Environment::Production && self.server.metrics_bind.is_none()
        {
            warnings.push(
                "/metrics is served on the public listener: its login counters show an attacker how their guessing goes; set AUTHD_METRICS_BIND to a private address (e.g. 127.0.0.1:9100)".to_string(),
            );
        }
        warnings
    }

    /// Where the signing key comes from, for this environment.
    pub fn signing_key(&self) -> Result<SigningKeySource, ConfigError> {
        self.jwt.signing_key(self.server.environment)
    }

    /// The settings' part of `authd --help`: by section, each with its
    /// default and meaning.
    pub fn help() -> String {
        help_lines(Self::variables())
    }

    /// The text of `.env.example`: each variable with its default and what
    /// it does.
    pub fn env_example() -> String {
        let mut text = String::from(
            "# authd settings. Copy to .env (read from the working directory at startup)\n\
             # or set them in the environment. Values shown are the defaults; empty\n\
             # means unset. Generated from the declarations in src/ (see README).\n",
        );
        text.push_str(&env_example_lines(Self::variables()));
        text
    }

    /// The README's settings table.
    pub fn markdown_table() -> String {
        markdown_table(Self::variables())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::AccessTokenCheck;
    use crate::jwt::JwtAlgorithm;
    use std::time::Duration;

    /// The variable the first error names.
    fn first(e: &ConfigErrors) -> &str {
        &e.first().unwrap().variable
    }

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_follow_the_contract() {
        let s = Settings::from_vars(vars(&[])).unwrap();
        assert_eq!(s.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.redis.prefix, "authd:");
        assert_eq!(s.jwt.algorithm, JwtAlgorithm::EdDSA);
        assert_eq!(s.jwt.access_token_ttl, Duration::from_secs(900));
        assert_eq!(s.sessions.refresh_token_ttl, Duration::from_secs(2_592_000));
        assert_eq!(s.sessions.max_age, Duration::from_secs(7_776_000));
        assert_eq!(s.sessions.reuse_grace, Duration::from_secs(10));
        assert_eq!(s.jwt.leeway, Duration::from_secs(30));
        assert_eq!(s.auth.tokens.access_token_check, AccessTokenCheck::Session);
        assert_eq!(s.throttle.login_max_failures, 5);
        assert_eq!(s.redis.timeout, Duration::from_millis(1000));
        assert_eq!(s.database.timeout, Duration::from_millis(2000));
        assert!(matches!(
            s.signing_key().unwrap(),
            SigningKeySource::Ephemeral
        ));
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let e = Settings::from_vars(vars(&[
            ("AUTHD_ENV", "production"),
            ("AUTHD_REFRESH_TOKEN_TTL", "fifteen"),
            ("AUTHD_BIND", "everywhere"),
            ("AUTHD_LOGIN_MAX_FAILURES", "0"),
        ]))
        .unwrap_err();
        let named: Vec<&str> = e.iter().map(|e| e.variable.as_str()).collect();
        for name in [
            "AUTHD_BIND",
            "AUTHD_REFRESH_TOKEN_TTL",
            "AUTHD_LOGIN_MAX_FAILURES",
            "AUTHD_JWT_PRIVATE_KEY_FILE",
            "AUTHD_SMTP_URL",
            "AUTHD_PUBLIC_URL",
        ] {
            assert!(named.contains(&name), "{name} in {named:?}");
        }
        assert_eq!(e.to_string().lines().count(), named.len(), "{e}");
    }

    #[test]
    fn a_malformed_number_names_the_variable() {
        let e = Settings::from_vars(vars(&[("AUTHD_ACCESS_TOKEN_TTL", "fifteen")])).unwrap_err();
        assert_eq!(first(&e), "AUTHD_ACCESS_TOKEN_TTL");
        assert!(
            !e.first().unwrap().reason.contains("fifteen")
                || e.first().unwrap().reason.contains("number")
        );
    }

    #[test]
    fn a_short_hs256_secret_is_refused_and_not_echoed() {
        let e = Settings::from_vars(vars(&[
            ("AUTHD_JWT_ALGORITHM", "HS256"),
            ("AUTHD_JWT_SECRET", "too-short-secret"),
        ]))
        .unwrap_err();
        assert_eq!(first(&e), "AUTHD_JWT_SECRET");
        assert!(!e.to_string().contains("too-short-secret"));
    }

    #[test]
    fn production_needs_a_key() {
        let e = Settings::from_vars(vars(&[("AUTHD_ENV", "production")])).unwrap_err();
        assert_eq!(first(&e), "AUTHD_JWT_PRIVATE_KEY_FILE");
        assert!(e.first().unwrap().reason.contains("authd keygen"));
    }

    #[test]
    fn production_refuses_a_published_secret() {
        let e = Settings::from_vars(vars(&[
            ("AUTHD_ENV", "production"),
            ("AUTHD_JWT_ALGORITHM", "HS256"),
            ("AUTHD_JWT_SECRET", crate::jwt::KNOWN_DEFAULT_SECRETS[0]),
        ]))
        .unwrap_err();
        assert_eq!(first(&e), "AUTHD_JWT_SECRET");
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
        assert_eq!(first(&e), "AUTHD_SESSION_MAX_AGE");
    }

    #[test]
    fn malformed_trusted_proxies_are_refused() {
        let ok = Settings::from_vars(vars(&[(
            "AUTHD_TRUSTED_PROXIES",
            "10.0.0.0/8, ::1,192.168.1.7",
        )]));
        assert!(ok.is_ok());
        let e = Settings::from_vars(vars(&[("AUTHD_TRUSTED_PROXIES", "10.0.0.0/40")])).unwrap_err();
        assert_eq!(first(&e), "AUTHD_TRUSTED_PROXIES");
    }

    #[test]
    fn a_prefix_with_braces_is_refused() {
        let e = Settings::from_vars(vars(&[("AUTHD_REDIS_PREFIX", "x{y}")])).unwrap_err();
        assert_eq!(first(&e), "AUTHD_REDIS_PREFIX");
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
            assert_eq!(first(&e), "AUTHD_JWT_SECRET");
            assert!(e.first().unwrap().reason.contains("openssl rand"), "{e}");
            assert!(!e.to_string().contains(&patterned));
        }
        let random = "kQ9v2Lx7ZpT4mW8rB1nC6yH3sD5fG0jA+e/uI=";
        assert!(Settings::from_vars(vars(&[
            ("AUTHD_ENV", "production"),
            ("AUTHD_JWT_ALGORITHM", "HS256"),
            ("AUTHD_JWT_SECRET", random),
            ("AUTHD_SMTP_URL", SMTP),
            ("AUTHD_PUBLIC_URL", PUBLIC),
        ]))
        .is_ok());
    }

    const SMTP: &str = "smtp://127.0.0.1:1025";
    const PUBLIC: &str = "https://auth.example.com";

    /// A readable-by-owner-only key file in `dir` (its content is checked
    /// when the keys load, not here).
    fn key_file(dir: &tempfile::TempDir) -> String {
        let key = dir.path().join("key.pem");
        std::fs::write(&key, "not checked here").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        key.to_str().unwrap().to_string()
    }

    /// What production needs to start, the https public URL aside.
    fn production(key: &str) -> Vec<(&str, &str)> {
        vec![
            ("AUTHD_ENV", "production"),
            ("AUTHD_JWT_PRIVATE_KEY_FILE", key),
            ("AUTHD_SMTP_URL", SMTP),
        ]
    }

    #[test]
    fn argon2_parameters_are_bounded_and_production_keeps_owasps_minimum() {
        let dir = tempfile::tempdir().unwrap();
        let key = key_file(&dir);
        let mut production = production(&key);
        production.push(("AUTHD_PUBLIC_URL", "https://auth.example.com"));
        fn with(base: &[(&str, &str)], extra: &[(&str, &str)]) -> Result<Settings, ConfigErrors> {
            let mut these = base.to_vec();
            these.extend_from_slice(extra);
            Settings::from_vars(vars(&these))
        }
        // Light parameters: fine in development, refused in production.
        let light = [
            ("AUTHD_ARGON2_MEMORY_KIB", "8192"),
            ("AUTHD_ARGON2_ITERATIONS", "1"),
        ];
        assert!(with(&[], &light).is_ok());
        let e = with(&production, &light).unwrap_err();
        assert_eq!(first(&e), "AUTHD_ARGON2_ITERATIONS");
        assert!(e.first().unwrap().reason.contains("OWASP"), "{e}");
        // OWASP's alternatives pass.
        assert!(with(
            &production,
            &[
                ("AUTHD_ARGON2_MEMORY_KIB", "7168"),
                ("AUTHD_ARGON2_ITERATIONS", "5")
            ]
        )
        .is_ok());
        assert!(with(&production, &[]).is_ok());
        // Beyond what authd verifies in a stored hash: refused everywhere.
        let e = with(&[], &[("AUTHD_ARGON2_ITERATIONS", "11")]).unwrap_err();
        assert!(e.first().unwrap().reason.contains("iterations"), "{e}");
        // The pool: as set, else the cores less one, 1 to 8.
        let s = with(&[], &[("AUTHD_HASHING_THREADS", "3")]).unwrap();
        assert_eq!(s.hashing.threads(), 3);
        let threads = Settings::from_vars(Vec::new()).unwrap().hashing.threads();
        assert!((1..=8).contains(&threads), "{threads}");
    }

    /// RFC 8414 §3.3: production publishes an https issuer, and refuses to
    /// start without one.
    #[test]
    fn production_needs_an_https_public_url_and_publishes_it_as_the_issuer() {
        let dir = tempfile::tempdir().unwrap();
        let key = key_file(&dir);
        let production = production(&key);
        for public in [None, Some("http://auth.example.com")] {
            let mut these = production.to_vec();
            these.extend(public.map(|url| ("AUTHD_PUBLIC_URL", url)));
            let e = Settings::from_vars(vars(&these)).unwrap_err();
            assert_eq!(first(&e), "AUTHD_PUBLIC_URL", "{public:?}");
            assert!(e.first().unwrap().reason.contains("https://"), "{e}");
        }
        let mut these = production.to_vec();
        these.push(("AUTHD_PUBLIC_URL", "https://auth.example.com/"));
        let s = Settings::from_vars(vars(&these)).unwrap();
        assert_eq!(s.metadata_issuer(), PUBLIC);
        assert_eq!(s.jwt.issuer, "authd", "tokens keep AUTHD_ISSUER");
        // Development: the public URL when set, else AUTHD_ISSUER.
        let s =
            Settings::from_vars(vars(&[("AUTHD_PUBLIC_URL", "http://127.0.0.1:8080")])).unwrap();
        assert_eq!(s.metadata_issuer(), "http://127.0.0.1:8080");
        assert_eq!(
            Settings::from_vars(vars(&[])).unwrap().metadata_issuer(),
            "authd"
        );
    }

    #[test]
    fn startup_warns_about_public_metrics_in_production_and_an_issuer_apart() {
        let dir = tempfile::tempdir().unwrap();
        let key = key_file(&dir);
        let production = [
            ("AUTHD_ENV", "production"),
            ("AUTHD_JWT_PRIVATE_KEY_FILE", key.as_str()),
            ("AUTHD_SMTP_URL", SMTP),
            ("AUTHD_PUBLIC_URL", PUBLIC),
        ];
        let warnings = Settings::from_vars(vars(&production))
            .unwrap()
            .startup_warnings();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].contains("AUTHD_ISSUER=https://auth.example.com"),
            "{warnings:?}"
        );
        assert!(warnings[1].contains("AUTHD_METRICS_BIND"), "{warnings:?}");
        let mut quiet = production.to_vec();
        quiet.extend([
            ("AUTHD_ISSUER", PUBLIC),
            ("AUTHD_METRICS_BIND", "127.0.0.1:9100"),
        ]);
        let warnings = Settings::from_vars(vars(&quiet))
            .unwrap()
            .startup_warnings();
        assert!(warnings.is_empty(), "{warnings:?}");
        // Development serves /metrics where it listens without a word.
        assert!(Settings::from_vars(vars(&[]))
            .unwrap()
            .startup_warnings()
            .is_empty());
    }

    #[test]
    fn production_needs_smtp_and_development_logs_mail() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        std::fs::write(&key, "not checked here").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let key = key.to_str().unwrap();
        let production = [
            ("AUTHD_ENV", "production"),
            ("AUTHD_JWT_PRIVATE_KEY_FILE", key),
        ];
        let e = Settings::from_vars(vars(&production)).unwrap_err();
        assert_eq!(first(&e), "AUTHD_SMTP_URL");
        let mut with_smtp = production.to_vec();
        with_smtp.extend([("AUTHD_SMTP_URL", SMTP), ("AUTHD_PUBLIC_URL", PUBLIC)]);
        assert!(Settings::from_vars(vars(&with_smtp)).is_ok());
        assert!(Settings::from_vars(vars(&[]))
            .unwrap()
            .mail
            .smtp_url
            .is_none());
        for (name, value) in [
            ("AUTHD_SMTP_URL", "mail.example.com:25"),
            ("AUTHD_LINK_RESET", "https://app.example.com/reset"),
        ] {
            let e = Settings::from_vars(vars(&[(name, value)])).unwrap_err();
            assert_eq!(first(&e), name);
        }
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
                ("AUTHD_SMTP_URL", SMTP),
                ("AUTHD_PUBLIC_URL", PUBLIC),
            ]));
            match result {
                Err(e) if refused => {
                    assert_eq!(first(&e), "AUTHD_JWT_PRIVATE_KEY_FILE");
                    assert!(e.first().unwrap().reason.contains("chmod 600"), "{e}");
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
    fn an_authd_variable_no_setting_declares_is_warned_about_with_the_closest_name() {
        let s = Settings::from_vars(vars(&[
            ("AUTHD_REFRESH_TOKN_TTL", "60"),
            ("AUTHD_SOMETHING_ELSE", "1"),
            // A resource server's, the tests' and CI's own: not authd's to judge.
            ("AUTHD_GUARD_REVOCATION", "redis"),
            ("AUTHD_TEST_DATABASE_URL", "postgres://x"),
            ("AUTHD_URL", "http://a"),
            ("AUTHD_REFRESH_TOKEN_TTL", "120"),
        ]))
        .unwrap();
        assert_eq!(
            s.undeclared,
            ["AUTHD_REFRESH_TOKN_TTL", "AUTHD_SOMETHING_ELSE"]
        );
        let warnings = s.startup_warnings();
        assert!(
            warnings.iter().any(|w| w.contains("AUTHD_REFRESH_TOKN_TTL")
                && w.contains("did you mean AUTHD_REFRESH_TOKEN_TTL?")),
            "{warnings:?}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("AUTHD_SOMETHING_ELSE") && w.contains("--help")),
            "{warnings:?}"
        );
        assert!(Settings::from_vars(vars(&[]))
            .unwrap()
            .undeclared
            .is_empty());
    }

    #[test]
    fn new_limits_have_their_defaults_and_refuse_zero() {
        let s = Settings::from_vars(vars(&[])).unwrap();
        assert_eq!(s.sessions.max_per_user, 100);
        assert_eq!(s.throttle.register_max_per_ip, 20);
        for name in ["AUTHD_MAX_SESSIONS_PER_USER", "AUTHD_REGISTER_MAX_PER_IP"] {
            let e = Settings::from_vars(vars(&[(name, "0")])).unwrap_err();
            assert_eq!(first(&e), name);
            let e = Settings::from_vars(vars(&[(name, "many")])).unwrap_err();
            assert_eq!(first(&e), name);
        }
    }

    #[test]
    fn operations_settings_have_their_defaults_and_refuse_nonsense() {
        let s = Settings::from_vars(vars(&[])).unwrap();
        assert_eq!(s.server.public_url, None);
        assert!(s.auth.tokens.introspection_secrets.is_empty());
        assert_eq!(s.server.log_format, LogFormat::Text);
        let s = Settings::from_vars(vars(&[
            ("AUTHD_PUBLIC_URL", "https://auth.example.com/"),
            ("AUTHD_LOG_FORMAT", "JSON"),
            (
                "AUTHD_INTROSPECTION_SECRETS",
                "0123456789abcdef0123456789abcdef, fedcba9876543210fedcba9876543210x",
            ),
        ]))
        .unwrap();
        assert_eq!(
            s.server.public_url.as_deref(),
            Some("https://auth.example.com")
        );
        assert_eq!(s.server.log_format, LogFormat::Json);
        assert_eq!(s.auth.tokens.introspection_secrets.len(), 2);
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
            assert_eq!(first(&e), name, "{value}");
            assert!(
                !e.first().unwrap().reason.contains("tooshortsecret"),
                "no secret in the message"
            );
        }
    }
}
