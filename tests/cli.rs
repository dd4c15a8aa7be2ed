//! The `authd` binary as an operator meets it: help, keygen, startup errors
//! on bad settings, and logs that never carry secrets.

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use authd_test_support::authd_bin;
use authd_test_support::service::Service;
// The same private servers and databases as the API suite (so these tests
// run on Postgres too when AUTHD_TEST_DATABASE_URL is set).
use authd_test_support::servers::{free_port, fresh_database, TestRedis};
use authd_test_support::values::PASSWORD;

/// Runs authd in an empty directory (no stray .env) with only `vars` set.
fn authd(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(authd_bin!())
        .args(args)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run authd")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn help_lists_subcommands_and_settings() {
    let out = authd(&["--help"], &[]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("keygen"));
    assert!(text.contains("hash-time"));
    for var in authd::app::config::Settings::variables().map(|v| v.name) {
        assert!(text.contains(var), "{var}");
    }
}

#[test]
fn keygen_prints_a_pkcs8_pem_key_for_each_algorithm() {
    for args in [
        vec!["keygen"],
        vec!["keygen", "--alg", "EdDSA"],
        vec!["keygen", "--alg", "ES256"],
        vec!["keygen", "--alg", "RS256"],
    ] {
        let out = authd(&args, &[]);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let pem = String::from_utf8(out.stdout).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{args:?}");
        assert!(pem.trim_end().ends_with("-----END PRIVATE KEY-----"));
    }
    let a = authd(&["keygen"], &[]).stdout;
    let b = authd(&["keygen"], &[]).stdout;
    assert_ne!(a, b, "keys are random");
    let out = authd(&["keygen", "--alg", "HS512"], &[]);
    assert!(!out.status.success());
}

#[test]
fn hash_time_prints_the_login_ceiling() {
    let out = authd(&["hash-time"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(" ms per hash") && text.contains(" logins/s"),
        "{text}"
    );
}

/// Starts on bad settings fail with one line naming the variable.
fn assert_refuses(vars: &[(&str, &str)], variable: &str) -> String {
    let out = authd(&[], vars);
    assert!(!out.status.success(), "{vars:?} should not start");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "one clear line: {err}");
    assert!(lines[0].contains(variable), "{err}");
    err
}

#[test]
fn a_malformed_number_stops_startup() {
    let err = assert_refuses(
        &[("AUTHD_ACCESS_TOKEN_TTL", "fifteen")],
        "AUTHD_ACCESS_TOKEN_TTL",
    );
    assert!(err.contains("number"), "{err}");
}

#[test]
fn a_missing_key_file_stops_startup() {
    let err = assert_refuses(
        &[("AUTHD_JWT_PRIVATE_KEY_FILE", "/nonexistent/key.pem")],
        "AUTHD_JWT_PRIVATE_KEY_FILE",
    );
    assert!(err.contains("/nonexistent/key.pem"));
}

#[test]
fn a_short_hs256_secret_stops_startup_without_echoing_it() {
    let err = assert_refuses(
        &[
            ("AUTHD_JWT_ALGORITHM", "HS256"),
            ("AUTHD_JWT_SECRET", "s3cr3t-but-short"),
        ],
        "AUTHD_JWT_SECRET",
    );
    assert!(!err.contains("s3cr3t-but-short"));
}

#[test]
fn production_refuses_to_start_without_a_key() {
    let err = assert_refuses(&[("AUTHD_ENV", "production")], "AUTHD_JWT_PRIVATE_KEY_FILE");
    assert!(err.contains("authd keygen"));
    assert_refuses(
        &[
            ("AUTHD_ENV", "production"),
            ("AUTHD_JWT_ALGORITHM", "HS256"),
        ],
        "AUTHD_JWT_SECRET",
    );
}

#[test]
fn an_unknown_algorithm_or_mode_stops_startup() {
    assert_refuses(&[("AUTHD_JWT_ALGORITHM", "none")], "AUTHD_JWT_ALGORITHM");
    assert_refuses(
        &[("AUTHD_ACCESS_TOKEN_CHECK", "maybe")],
        "AUTHD_ACCESS_TOKEN_CHECK",
    );
    assert_refuses(&[("AUTHD_BIND", "everywhere")], "AUTHD_BIND");
}

#[test]
fn a_key_of_the_wrong_algorithm_stops_startup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("es256.pem");
    std::fs::write(&path, authd(&["keygen", "--alg", "ES256"], &[]).stdout).unwrap();
    assert_refuses(
        &[("AUTHD_JWT_PRIVATE_KEY_FILE", path.to_str().unwrap())],
        "AUTHD_JWT_PRIVATE_KEY_FILE",
    );
}

/// Starts the real binary on port 0 against a private Redis, makes requests
/// carrying secrets in every place a client might put them, and reads the
/// whole log.
#[tokio::test]
async fn the_service_logs_its_address_and_never_a_secret() {
    let log = requests_carrying_secrets_logged_as("text").await.join("\n");
    assert!(log.contains("authd listening on http://"), "{log}");
}

/// The same requests with `AUTHD_LOG_FORMAT=json`: every line one JSON
/// object; the access lines with their fields; no secret anywhere.
#[tokio::test]
async fn json_logs_are_one_object_a_line_with_the_access_fields() {
    let lines = requests_carrying_secrets_logged_as("json").await;
    let mut access = 0;
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        for field in ["timestamp", "level", "target", "message"] {
            assert!(v[field].is_string(), "{field} in {line}");
        }
        if v["target"] == "authd::access" {
            access += 1;
            assert!(v["method"].is_string() && v["route"].is_string(), "{line}");
            assert!(
                v["status"].is_u64() && v["duration_ms"].is_number(),
                "{line}"
            );
            assert!(
                v["request_id"].as_str().is_some_and(|r| r.len() >= 8),
                "{line}"
            );
            assert!(!v["message"].as_str().unwrap().contains('?'), "{line}");
        }
    }
    assert!(access >= 6, "{access} access lines in {lines:?}");
    assert!(lines.iter().any(|l| l.contains(r#""route":"/api/secure""#)));
}

/// What the real binary runs against in a test: a private Redis and a
/// fresh database, named by `vars` (plus whatever a test adds).
struct Stores {
    _redis: TestRedis,
    dir: tempfile::TempDir,
    database_url: String,
    redis_url: String,
}

impl Stores {
    async fn private() -> Self {
        let redis = TestRedis::start();
        let dir = tempfile::tempdir().unwrap();
        let database_url = fresh_database(dir.path()).await;
        let redis_url = format!("redis://127.0.0.1:{}", redis.port);
        Self {
            _redis: redis,
            dir,
            database_url,
            redis_url,
        }
    }

    /// The settings that point at these stores, then `more`.
    fn vars<'a>(&'a self, more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut vars = vec![
            ("AUTHD_DATABASE_URL", self.database_url.as_str()),
            ("AUTHD_REDIS_URL", self.redis_url.as_str()),
        ];
        vars.extend_from_slice(more);
        vars
    }
}

/// Starts the real binary on port 0 against a private Redis with the log
/// format given, makes requests carrying secrets in every place a client
/// might put them, checks that no secret is logged, and returns the lines.
async fn requests_carrying_secrets_logged_as(format: &str) -> Vec<String> {
    let stores = Stores::private().await;
    let service = Service::start(
        authd_bin!(),
        stores.dir.path(),
        &stores.vars(&[("RUST_LOG", "debug"), ("AUTHD_LOG_FORMAT", format)]),
    );
    let address = service.address.clone();

    let password = "a-very-secret-password";
    let email = "logs@example.com";
    let http = |method: &str, path: &str, headers: &[(&str, &str)], body: &str| -> String {
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-X", method, &format!("http://{address}{path}")]);
        for (k, v) in headers {
            cmd.args(["-H", &format!("{k}: {v}")]);
        }
        if !body.is_empty() {
            cmd.args(["-H", "content-type: application/json", "-d", body]);
        }
        String::from_utf8(cmd.output().expect("curl").stdout).unwrap()
    };
    http(
        "POST",
        "/api/register",
        &[],
        &format!(r#"{{"email":"{email}","password":"{password}"}}"#),
    );
    let tokens: serde_json::Value = serde_json::from_str(&http(
        "POST",
        "/api/login",
        &[],
        &format!(r#"{{"email":"{email}","password":"{password}"}}"#),
    ))
    .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    http(
        "GET",
        &format!("/api/secure?access_token={access}&refresh_token={refresh}"),
        &[("Authorization", &format!("Bearer {access}"))],
        "",
    );
    http(
        "GET",
        "/api/secure",
        &[("Authorization", &format!("Bearer {access}x"))],
        "",
    );
    http(
        "POST",
        "/api/token",
        &[],
        &format!(r#"{{"refresh_token":"{refresh}"}}"#),
    );
    http(
        "POST",
        "/api/login",
        &[],
        &format!(r#"{{"email":"{email}","password":"{password}-wrong"}}"#),
    );

    std::thread::sleep(Duration::from_millis(300));
    let mut lines = service.startup_log.clone();
    lines.extend(service.log.try_iter());
    let log = lines.join("\n");
    assert!(log.contains("/api/secure"), "requests are logged: {log}");
    for secret in [
        password,
        &access,
        &refresh,
        &access[access.len() - 20..],
        &refresh[refresh.len() - 20..],
    ] {
        assert!(!log.contains(secret), "the log leaks a secret:\n{log}");
    }
    lines
}

/// The settings the service contract names: each must be declared (the
/// contract is the spec, so this list is written from it, not generated).
const CONTRACT_VARIABLES: &[&str] = &[
    "AUTHD_BIND",
    "AUTHD_REDIS_URL",
    "AUTHD_REDIS_PREFIX",
    "AUTHD_DATABASE_URL",
    "AUTHD_ENV",
    "AUTHD_ISSUER",
    "AUTHD_AUDIENCE",
    "AUTHD_JWT_ALGORITHM",
    "AUTHD_JWT_PRIVATE_KEY_FILE",
    "AUTHD_JWT_SECRET",
    "AUTHD_JWT_VERIFY_KEY_FILES",
    "AUTHD_JWT_LEEWAY",
    "AUTHD_ACCESS_TOKEN_TTL",
    "AUTHD_REFRESH_TOKEN_TTL",
    "AUTHD_SESSION_MAX_AGE",
    "AUTHD_REFRESH_REUSE_GRACE",
    "AUTHD_ACCESS_TOKEN_CHECK",
    "AUTHD_LOGIN_MAX_FAILURES",
    "AUTHD_LOGIN_LOCKOUT",
    "AUTHD_TRUSTED_PROXIES",
    "AUTHD_REDIS_TIMEOUT_MS",
    "AUTHD_DATABASE_TIMEOUT_MS",
    "AUTHD_MAX_SESSIONS_PER_USER",
    "AUTHD_REGISTER_MAX_PER_IP",
    "AUTHD_GUARD_CACHE_ENTRIES",
    "AUTHD_PUBLIC_URL",
    "AUTHD_INTROSPECTION_SECRETS",
    "AUTHD_LOG_FORMAT",
    "AUTHD_METRICS_BIND",
    "AUTHD_REDIS_CA_FILE",
    "AUTHD_REDIS_MIN_REPLICAS",
    // Account lifecycle.
    "AUTHD_SMTP_URL",
    "AUTHD_SMTP_FROM",
    "AUTHD_SMTP_CA_FILE",
    "AUTHD_LINK_RESET",
    "AUTHD_LINK_VERIFY",
    "AUTHD_MAIL_TEMPLATES_DIR",
    "AUTHD_RESET_TOKEN_TTL",
    "AUTHD_VERIFY_TOKEN_TTL",
    "AUTHD_REQUIRE_VERIFIED_EMAIL",
    "AUTHD_ADMIN_SECRETS",
    // Second factors and passkeys.
    "AUTHD_ENCRYPTION_KEY_FILE",
    "AUTHD_WEBAUTHN_RP_ID",
    "AUTHD_WEBAUTHN_RP_NAME",
    "AUTHD_WEBAUTHN_ORIGINS",
    "AUTHD_REQUIRE_MFA",
];

#[test]
fn env_example_lists_every_setting_with_its_default() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example")).unwrap();
    let vars: Vec<(String, String)> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let mut names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
    names.sort();
    let mut declared: Vec<&str> = authd::app::config::Settings::variables()
        .map(|v| v.name)
        .collect();
    declared.sort();
    assert_eq!(names, declared);
    for name in CONTRACT_VARIABLES {
        assert!(
            declared.contains(name),
            "the contract's {name} is not declared"
        );
    }
    let from_example = authd::app::config::Settings::from_vars(vars).unwrap();
    let defaults = authd::app::config::Settings::from_vars(Vec::new()).unwrap();
    assert_eq!(format!("{from_example:?}"), format!("{defaults:?}"));
}

#[test]
fn the_readme_documents_every_setting() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for var in authd::app::config::Settings::variables().map(|v| v.name) {
        // A table row whose first cell names it.
        let row = readme.lines().any(|line| {
            line.starts_with("| `")
                && line
                    .split(" | ")
                    .next()
                    .is_some_and(|cell| cell.contains(&format!("`{var}`")))
        });
        assert!(row, "{var} is not in the README's table");
    }
}

#[test]
fn settings_are_read_from_a_dot_env_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "AUTHD_REFRESH_TOKEN_TTL=a-month\n").unwrap();
    let out = Command::new(authd_bin!())
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("AUTHD_REFRESH_TOKEN_TTL"));
}

#[tokio::test]
async fn a_redis_that_may_evict_is_warned_about_at_startup() {
    let redis = TestRedis::start_with_args(&["--maxmemory-policy allkeys-lru"]);
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let service = Service::start(
        authd_bin!(),
        dir.path(),
        &[("AUTHD_DATABASE_URL", &db), ("AUTHD_REDIS_URL", &url)],
    );
    std::thread::sleep(Duration::from_millis(200));
    let mut log = service.startup_log.clone();
    log.extend(service.log.try_iter());
    assert!(
        log.iter()
            .any(|l| l.contains("WARN") && l.contains("allkeys-lru") && l.contains("noeviction")),
        "{log:?}"
    );
}

/// A Redis with a replica and no acknowledgement required: a warning.
#[tokio::test]
async fn a_redis_with_replicas_and_no_min_replicas_is_warned_about() {
    let master = TestRedis::start();
    let _replica = TestRedis::start_replica_of(&master);
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let url = format!("redis://127.0.0.1:{}", master.port);
    let service = Service::start(
        authd_bin!(),
        dir.path(),
        &[("AUTHD_DATABASE_URL", &db), ("AUTHD_REDIS_URL", &url)],
    );
    let log = service.startup_log.join("\n");
    assert!(
        log.contains("WARN") && log.contains("has 1 replica(s) but AUTHD_REDIS_MIN_REPLICAS is 0"),
        "{log}"
    );
}

/// Production warns about a store reached in plaintext on another host
/// (here a Redis that does not answer: authd starts anyway, not ready).
#[tokio::test]
async fn production_warns_about_a_plaintext_store_on_another_host() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let key = dir.path().join("key.pem");
    std::fs::write(&key, authd(&["keygen"], &[]).stdout).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let service = Service::start(
        authd_bin!(),
        dir.path(),
        &[
            ("AUTHD_ENV", "production"),
            ("AUTHD_JWT_PRIVATE_KEY_FILE", key.to_str().unwrap()),
            ("AUTHD_SMTP_URL", "smtp://127.0.0.1:1"),
            ("AUTHD_PUBLIC_URL", "https://auth.example.com"),
            ("AUTHD_DATABASE_URL", &db),
            ("AUTHD_REDIS_URL", "redis://192.0.2.1:6379"),
            ("AUTHD_REDIS_TIMEOUT_MS", "200"),
        ],
    );
    let log = service.startup_log.join("\n");
    assert!(
        log.contains("WARN") && log.contains("Redis 192.0.2.1: a plaintext connection"),
        "{log}"
    );
}

/// A private key file for production, readable by its owner only.
fn production_key(dir: &std::path::Path) -> String {
    let key = dir.join("key.pem");
    std::fs::write(&key, authd(&["keygen"], &[]).stdout).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    key.to_str().unwrap().to_string()
}

/// TOTP secrets are sealed with `AUTHD_ENCRYPTION_KEY_FILE`: once a user
/// has one, production will not start without the key (it could not check
/// a code), while development starts and warns.
#[tokio::test]
async fn production_refuses_to_start_without_the_encryption_key_once_a_user_has_totp() {
    let stores = Stores::private().await;
    let key = production_key(stores.dir.path());
    sqlx::any::install_default_drivers();
    let url = match stores.database_url.starts_with("sqlite:") {
        true => format!("{}?mode=rwc", stores.database_url),
        false => stores.database_url.clone(),
    };
    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::migrate!("./migrations").run(&db).await.unwrap();
    sqlx::query("INSERT INTO totp_factors (user_id, secret, confirmed, created_at) VALUES ('u', 'v1:AAAA', 1, 0)")
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    let production = stores.vars(&[
        ("AUTHD_ENV", "production"),
        ("AUTHD_JWT_PRIVATE_KEY_FILE", key.as_str()),
        ("AUTHD_SMTP_URL", "smtp://127.0.0.1:1"),
        ("AUTHD_PUBLIC_URL", "https://auth.example.com"),
    ]);
    let out = authd(&[], &production);
    assert!(!out.status.success(), "production started without the key");
    let err = stderr(&out);
    assert!(
        err.contains("cannot start: AUTHD_ENCRYPTION_KEY_FILE") && err.contains("TOTP"),
        "{err}"
    );
    // With the key, it starts.
    let sealing = stores.dir.path().join("sealing.key");
    std::fs::write(&sealing, [9u8; 32]).unwrap();
    let mut keyed = production.clone();
    let sealing = sealing.to_str().unwrap().to_string();
    keyed.push(("AUTHD_ENCRYPTION_KEY_FILE", sealing.as_str()));
    let service = Service::start(authd_bin!(), stores.dir.path(), &keyed);
    assert_eq!(
        reqwest::get(service.url("/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );
}

/// RFC 8414 §3.3: the metadata's issuer must be the https URL it is
/// published under, so production will not start without one.
#[test]
fn production_refuses_to_start_without_an_https_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let key = production_key(dir.path());
    let production = [
        ("AUTHD_ENV", "production"),
        ("AUTHD_JWT_PRIVATE_KEY_FILE", key.as_str()),
        ("AUTHD_SMTP_URL", "smtp://127.0.0.1:1"),
    ];
    let err = assert_refuses(&production, "AUTHD_PUBLIC_URL");
    assert!(err.contains("https://"), "{err}");
    let mut plain = production.to_vec();
    plain.push(("AUTHD_PUBLIC_URL", "http://auth.example.com"));
    assert_refuses(&plain, "AUTHD_PUBLIC_URL");
}

/// Production with `/metrics` on the public listener, and tokens whose
/// `iss` is not the metadata's issuer: one warning each, naming the
/// setting; the metadata publishes the public URL as its issuer. With both
/// set as advised: neither warning.
#[tokio::test]
async fn production_warns_about_public_metrics_and_an_issuer_that_is_not_the_public_url() {
    let stores = Stores::private().await;
    let key = production_key(stores.dir.path());
    let public = "https://auth.example.com";
    let production = stores.vars(&[
        ("AUTHD_ENV", "production"),
        ("AUTHD_JWT_PRIVATE_KEY_FILE", key.as_str()),
        ("AUTHD_SMTP_URL", "smtp://127.0.0.1:1"),
        ("AUTHD_PUBLIC_URL", public),
    ]);
    let metrics_warning = |l: &String| l.contains("WARN") && l.contains("AUTHD_METRICS_BIND");
    let issuer_warning =
        |l: &String| l.contains("WARN") && l.contains("AUTHD_ISSUER=https://auth.example.com");

    let service = Service::start(authd_bin!(), stores.dir.path(), &production);
    let log = &service.startup_log;
    assert!(log.iter().any(metrics_warning), "{log:?}");
    assert!(log.iter().any(issuer_warning), "{log:?}");
    let doc: serde_json::Value =
        reqwest::get(service.url("/.well-known/oauth-authorization-server"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(doc["issuer"], public, "{doc}");
    assert_eq!(
        doc["token_endpoint"],
        format!("{public}/api/token"),
        "{doc}"
    );
    drop(service);

    let mut advised = production.clone();
    advised.extend([
        ("AUTHD_ISSUER", public),
        ("AUTHD_METRICS_BIND", "127.0.0.1:0"),
    ]);
    let service = Service::start(authd_bin!(), stores.dir.path(), &advised);
    let log = &service.startup_log;
    assert!(!log.iter().any(metrics_warning), "{log:?}");
    assert!(!log.iter().any(issuer_warning), "{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_logins_and_refreshes_answers_no_5xx_and_loses_no_rotation() {
    let stores = Stores::private().await;
    // No grace: a rotation whose answer was lost would show up as reuse.
    let vars = stores.vars(&[("AUTHD_REFRESH_REUSE_GRACE", "0")]);
    let mut service = Service::start(authd_bin!(), stores.dir.path(), &vars);
    let http = reqwest::Client::new();
    let creds = serde_json::json!({"email": "term@example.com", "password": "graceful shutdown"});
    assert_eq!(
        http.post(service.url("/api/register"))
            .json(&creds)
            .send()
            .await
            .unwrap()
            .status(),
        201
    );

    let mut clients = Vec::new();
    for _ in 0..8 {
        let res = http
            .post(service.url("/api/login"))
            .json(&creds)
            .send()
            .await
            .unwrap();
        let body: serde_json::Value = res.json().await.unwrap();
        clients.push(body["refresh_token"].as_str().unwrap().to_string());
    }
    let token_url = service.url("/api/token");
    let burst: Vec<_> = clients
        .into_iter()
        .map(|mut token| {
            let (http, url) = (http.clone(), token_url.clone());
            tokio::spawn(async move {
                let (mut answered, mut refused) = (0, 0);
                loop {
                    let sent = http
                        .post(&url)
                        .json(&serde_json::json!({"refresh_token": token}))
                        .send()
                        .await;
                    match sent {
                        Ok(res) => {
                            assert_eq!(res.status(), 200, "every answer is complete and right");
                            let body: serde_json::Value = res.json().await.expect("a whole body");
                            token = body["refresh_token"].as_str().unwrap().to_string();
                            answered += 1;
                        }
                        // Not accepted (or not read) any more: the server is going.
                        Err(_) => {
                            refused += 1;
                            if refused > 3 {
                                break;
                            }
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                (token, answered)
            })
        })
        .collect();
    // Logins and registrations at the same time: they need the database
    // (Postgres in CI's second run) after waiting for a hashing slot, and
    // its connections must outlive the HTTP workers, which stop one by one.
    let login_url = service.url("/api/login");
    let register_url = service.url("/api/register");
    let logins: Vec<_> = (0..8)
        .map(|i| {
            let http = http.clone();
            let (login_url, register_url, creds) =
                (login_url.clone(), register_url.clone(), creds.clone());
            tokio::spawn(async move {
                let (mut answered, mut refused) = (0, 0);
                while refused <= 3 {
                    let sent = if i % 2 == 0 {
                        http.post(&login_url).json(&creds).send().await
                    } else {
                        let email = format!("term-{i}-{answered}@example.com");
                        let body =
                            serde_json::json!({"email": email, "password": "graceful shutdown"});
                        http.post(&register_url).json(&body).send().await
                    };
                    match sent {
                        Ok(res) => {
                            let status = res.status();
                            let body = res.text().await.unwrap_or_default();
                            assert!(status.is_success(), "during shutdown: {status} {body}");
                            answered += 1;
                        }
                        Err(_) => {
                            refused += 1;
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
                answered
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let status = Command::new("kill")
        .args(["-TERM", &service.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = service.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "authd did not stop within its shutdown timeout"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "authd exits 0 on SIGTERM: {exit:?}");

    for task in logins {
        assert!(task.await.unwrap() > 0, "logins ran before the signal");
    }
    let mut last_tokens = Vec::new();
    for task in burst {
        let (token, answered) = task.await.unwrap();
        assert!(answered > 0, "the burst ran before the signal");
        last_tokens.push(token);
    }
    // A new instance on the same stores: every client's latest token is the
    // live one, so no rotation happened whose answer was lost.
    let again = Service::start(authd_bin!(), stores.dir.path(), &vars);
    for token in last_tokens {
        let res = http
            .post(again.url("/api/token"))
            .json(&serde_json::json!({"refresh_token": token}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    }
}

/// The access log names the method and path, and every line a request
/// causes (here the 503 warning and the access line) carries its id.
#[tokio::test]
async fn every_log_line_of_a_request_carries_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    // Nothing listens there: the login's Redis call fails, and authd says why.
    let dead_redis = format!("redis://127.0.0.1:{}", free_port());
    let service = Service::start(
        authd_bin!(),
        dir.path(),
        &[
            ("AUTHD_DATABASE_URL", db.as_str()),
            ("AUTHD_REDIS_URL", dead_redis.as_str()),
            ("AUTHD_REDIS_TIMEOUT_MS", "300"),
            ("RUST_LOG", "info"),
        ],
    );
    let res = reqwest::Client::new()
        .post(service.url("/api/login?probe=1"))
        .header("x-request-id", "trace-me-7")
        .json(&serde_json::json!({"email": "a@example.com", "password": "whatever-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["x-request-id"], "trace-me-7");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut lines = Vec::new();
    while Instant::now() < deadline && !lines.iter().any(|l: &String| l.contains("\" 503 ")) {
        if let Ok(line) = service.log.recv_timeout(Duration::from_millis(100)) {
            lines.push(line);
        }
    }
    let access = lines
        .iter()
        .find(|l| l.contains("\" 503 "))
        .unwrap_or_else(|| panic!("no access line: {lines:?}"));
    assert!(access.contains("\"POST /api/login\""), "{access}");
    assert!(!access.contains("probe=1"), "{access}");
    let warning = lines
        .iter()
        .find(|l| l.contains("WARN") && l.contains("503"))
        .unwrap_or_else(|| panic!("no warning: {lines:?}"));
    for line in [access, warning] {
        assert!(line.contains("rid=trace-me-7"), "{line}");
    }
}

/// A raw request whose path holds a `"` (no HTTP library sends one): the
/// text access line writes it percent-encoded, so the quoted field still
/// ends where the path does.
#[tokio::test]
async fn a_quote_in_a_raw_request_path_is_escaped_in_the_access_log() {
    use std::io::{Read, Write};
    let stores = Stores::private().await;
    let service = Service::start(
        authd_bin!(),
        stores.dir.path(),
        &stores.vars(&[("RUST_LOG", "info")]),
    );
    let mut stream = std::net::TcpStream::connect(&service.address).unwrap();
    stream
        .write_all(b"GET /a\"b\\c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut lines = Vec::new();
    while Instant::now() < deadline && !lines.iter().any(|l: &String| l.contains(" 404 ")) {
        if let Ok(line) = service.log.recv_timeout(Duration::from_millis(100)) {
            lines.push(line);
        }
    }
    let access = lines
        .iter()
        .find(|l| l.contains(" 404 "))
        .unwrap_or_else(|| panic!("no access line: {lines:?}"));
    assert!(access.contains("\"GET /a%22b%5Cc\" 404 "), "{access}");
}

/// `.env.example` and the README's table are rendered from the settings'
/// declarations; `AUTHD_UPDATE_DOCS=1` rewrites them.
#[test]
fn settings_docs_are_rendered_from_the_declarations() {
    use authd::app::config::Settings;
    let update = std::env::var_os("AUTHD_UPDATE_DOCS").is_some();
    let root = env!("CARGO_MANIFEST_DIR");

    let example_path = format!("{root}/.env.example");
    let example = std::fs::read_to_string(&example_path).unwrap_or_default();
    let rendered = Settings::env_example();
    if update && example != rendered {
        std::fs::write(&example_path, &rendered).unwrap();
    } else {
        assert_eq!(
            example, rendered,
            ".env.example differs from the declarations: run `AUTHD_UPDATE_DOCS=1 cargo test --test cli settings_docs`"
        );
    }

    let readme_path = format!("{root}/README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let (start, end) = ("-->\n", "<!-- settings:end -->");
    let open = readme
        .find("<!-- settings: generated")
        .expect("the README's settings table has its start marker");
    let table_start = open + readme[open..].find(start).unwrap() + start.len();
    let table_end = readme.find(end).expect("and its end marker");
    let table = Settings::markdown_table();
    if update && readme[table_start..table_end] != table {
        let updated = format!("{}{table}{}", &readme[..table_start], &readme[table_end..]);
        std::fs::write(&readme_path, updated).unwrap();
    } else {
        assert_eq!(
            &readme[table_start..table_end],
            table,
            "the README's settings table differs from the declarations: run `AUTHD_UPDATE_DOCS=1 cargo test --test cli settings_docs`"
        );
    }
}

#[test]
fn every_declared_setting_is_in_the_help_with_its_default() {
    let out = authd(&["--help"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    for var in authd::app::config::Settings::variables() {
        let line = format!("{} [{}]", var.name, var.default.unwrap_or(""));
        assert!(text.contains(&line), "{line} is not in --help");
    }
}

/// Development without `AUTHD_SMTP_URL`: mail goes to the log, link
/// included, so a developer can follow it.
#[tokio::test]
async fn development_without_smtp_writes_mail_to_the_log() {
    let stores = Stores::private().await;
    let service = Service::start(authd_bin!(), stores.dir.path(), &stores.vars(&[]));
    let post = |path: &str, body: &str| {
        Command::new("curl")
            .args(["-s", "-X", "POST", &service.url(path)])
            .args(["-H", "content-type: application/json", "-d", body])
            .output()
            .expect("curl")
    };
    let email = "forgetful@example.com";
    post(
        "/api/register",
        &format!(r#"{{"email":"{email}","password":"{PASSWORD}"}}"#),
    );
    post("/api/password/forgot", &format!(r#"{{"email":"{email}"}}"#));
    let until = Instant::now() + Duration::from_secs(10);
    let mut log = service.startup_log.join("\n");
    while !log.contains("reset-password?token=") {
        assert!(Instant::now() < until, "no mail in the log:\n{log}");
        if let Ok(line) = service.log.recv_timeout(Duration::from_millis(200)) {
            log.push('\n');
            log.push_str(&line);
        }
    }
    assert!(log.contains(email));
}

/// `authd admin …` does from a shell what the admin API does, against the
/// stores the settings name.
#[tokio::test]
async fn an_operator_at_a_shell_lists_and_disables_a_user() {
    let stores = Stores::private().await;
    let vars = stores.vars(&[]);
    let service = Service::start(authd_bin!(), stores.dir.path(), &vars);
    let email = "operated@example.com";
    let registered = Command::new("curl")
        .args(["-s", "-X", "POST", &service.url("/api/register")])
        .args(["-H", "content-type: application/json"])
        .args([
            "-d",
            &format!(r#"{{"email":"{email}","password":"{PASSWORD}"}}"#),
        ])
        .output()
        .expect("curl");
    let user: serde_json::Value = serde_json::from_slice(&registered.stdout).unwrap();
    let id = user["id"].as_str().unwrap();

    let out = authd(&["admin", "list", "--email-prefix", "operated"], &vars);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["users"][0]["email"], email);

    let out = authd(&["admin", "disable", id], &vars);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = authd(&["admin", "show", id], &vars);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["disabled"], true);

    let out = authd(
        &["admin", "show", "00000000-0000-0000-0000-000000000000"],
        &vars,
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no such user"));
    let out = authd(&["admin", "frobnicate", id], &vars);
    assert_eq!(out.status.code(), Some(2));
}

/// A development public URL on an IP address (a test load balancer, a
/// phone on the LAN): authd starts with passkeys off, and says which
/// settings turn them on; a relying party that is set and invalid refuses.
#[tokio::test]
async fn a_public_url_on_an_ip_address_starts_with_passkeys_off_and_a_warning() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let port = free_port().to_string();
    let bind = format!("127.0.0.1:{port}");
    let public = format!("http://127.0.0.1:{port}");
    let service = Service::start(
        authd_bin!(),
        dir.path(),
        &[
            ("AUTHD_DATABASE_URL", &db),
            ("AUTHD_REDIS_URL", &url),
            ("AUTHD_BIND", &bind),
            ("AUTHD_PUBLIC_URL", &public),
        ],
    );
    let log = service.startup_log.clone();
    assert!(
        log.iter().any(|l| l.contains("WARN")
            && l.contains("passkeys are off")
            && l.contains("AUTHD_WEBAUTHN_RP_ID")
            && l.contains("AUTHD_WEBAUTHN_ORIGINS")),
        "{log:?}"
    );
    let res = reqwest::Client::new()
        .post(service.url("/api/login/passkey/start"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    let out = authd(
        &[],
        &[
            ("AUTHD_DATABASE_URL", &db),
            ("AUTHD_REDIS_URL", &url),
            ("AUTHD_PUBLIC_URL", &public),
            ("AUTHD_WEBAUTHN_RP_ID", "127.0.0.1"),
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.lines()
            .any(|l| l.contains("cannot start") && l.contains("AUTHD_WEBAUTHN_")),
        "{err}"
    );
}
