//! Test worlds: a private `redis-server` per test binary (each test gets its
//! own key prefix) or per fault test, a fresh SQLite file per test, and an
//! `Application` on a free port.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use authd::app::config::Settings;
use authd::app::startup::Application;
use authd::jwt::generate_private_key_pem;
use authd::jwt::JwtAlgorithm;
use deadpool_redis::redis;
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

pub use crate::servers::*;

pub const PASSWORD: &str = "correct horse battery staple";

/// A signing key file for tests that forge tokens with the app's own key.
pub struct KeyFile {
    pub pem: String,
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl KeyFile {
    pub fn generate(alg: JwtAlgorithm) -> Self {
        let pem = generate_private_key_pem(alg).expect("keygen");
        Self::from_pem(pem)
    }

    pub fn from_pem(pem: String) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("key.pem");
        std::fs::write(&path, &pem).expect("write key");
        Self {
            pem,
            path,
            _dir: dir,
        }
    }
}

/// The EdDSA key most tests sign with; generated once per test binary.
pub fn shared_key() -> &'static KeyFile {
    static KEY: OnceLock<KeyFile> = OnceLock::new();
    KEY.get_or_init(|| KeyFile::generate(JwtAlgorithm::EdDSA))
}

pub struct TestApp {
    pub address: String,
    /// The metrics listener's address, with `AUTHD_METRICS_BIND`.
    pub metrics_address: Option<String>,
    pub state: actix_web::web::Data<authd::http::state::AppState>,
    pub database_url: String,
    pub client: reqwest::Client,
    pub prefix: String,
    pub redis_url: String,
    pub key_pem: Option<String>,
    /// Held so the database outlives every app that shares it.
    pub db_dir: std::sync::Arc<tempfile::TempDir>,
}

#[derive(Debug, Deserialize, Clone)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub refresh_token_expires_in: u64,
    pub session_id: String,
}

/// Builds a test world. `vars` override the defaults below, by name.
pub struct AppBuilder {
    vars: Vec<(String, String)>,
    redis_url: String,
    key_pem: Option<String>,
    /// Prefix and database of an app this one shares its world with.
    shared: Option<(String, String, std::sync::Arc<tempfile::TempDir>)>,
}

pub fn app() -> AppBuilder {
    let key = shared_key();
    AppBuilder {
        vars: vec![(
            "AUTHD_JWT_PRIVATE_KEY_FILE".into(),
            key.path.display().to_string(),
        )],
        redis_url: shared_redis_url(),
        key_pem: Some(key.pem.clone()),
        shared: None,
    }
}

impl AppBuilder {
    pub fn var(mut self, name: &str, value: impl ToString) -> Self {
        self.vars.retain(|(k, _)| k != name);
        self.vars.push((name.to_string(), value.to_string()));
        self
    }

    /// Sign with HS256 or a generated key of `alg` instead of the shared one.
    pub fn algorithm(mut self, alg: JwtAlgorithm, key: Option<&KeyFile>) -> Self {
        self.vars.retain(|(k, _)| k != "AUTHD_JWT_PRIVATE_KEY_FILE");
        self = self.var("AUTHD_JWT_ALGORITHM", alg.as_str());
        self.key_pem = key.map(|k| k.pem.clone());
        if let Some(key) = key {
            self = self.var("AUTHD_JWT_PRIVATE_KEY_FILE", key.path.display());
        }
        self
    }

    pub fn redis(mut self, redis: &TestRedis) -> Self {
        self.redis_url = redis.url();
        self
    }

    pub fn redis_url(mut self, url: &str) -> Self {
        self.redis_url = url.to_string();
        self
    }

    /// Another instance of the same deployment: same Redis, prefix and
    /// database as `other`.
    pub fn sharing(mut self, other: &TestApp) -> Self {
        self.redis_url = other.redis_url.clone();
        self.shared = Some((
            other.prefix.clone(),
            other.database_url.clone(),
            other.db_dir.clone(),
        ));
        self
    }

    pub async fn spawn(self) -> TestApp {
        let (prefix, database_url, db_dir) = match self.shared {
            Some(shared) => shared,
            None => {
                let dir = tempfile::tempdir().expect("temp dir for the database");
                let url = fresh_database(dir.path()).await;
                (
                    format!("t{}:", Uuid::new_v4().as_simple()),
                    url,
                    std::sync::Arc::new(dir),
                )
            }
        };
        let mut vars = vec![
            ("AUTHD_BIND".to_string(), "127.0.0.1:0".to_string()),
            ("AUTHD_REDIS_URL".into(), self.redis_url.clone()),
            ("AUTHD_REDIS_PREFIX".into(), prefix.clone()),
            ("AUTHD_DATABASE_URL".into(), database_url.clone()),
        ];
        for (k, v) in self.vars {
            vars.retain(|(existing, _)| *existing != k);
            vars.push((k, v));
        }
        let settings = Settings::from_vars(vars).expect("test settings are valid");
        let app = Application::build(settings).await.expect("the app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let metrics_address = app
            .metrics_port()
            .map(|port| format!("http://127.0.0.1:{port}"));
        let state = app.state();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            address,
            metrics_address,
            state,
            database_url,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            prefix,
            redis_url: self.redis_url,
            key_pem: self.key_pem,
            db_dir,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    app().spawn().await
}

pub fn unique_email() -> String {
    format!("user-{}@example.com", Uuid::new_v4().as_simple())
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .expect("request")
    }

    /// An unauthenticated GET's JSON body.
    pub async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str) -> T {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("a JSON body")
    }

    /// The status of an unauthenticated GET.
    pub async fn get_status(&self, path: &str) -> u16 {
        let res = self
            .client
            .get(self.url(path))
            .send()
            .await
            .expect("request");
        res.status().as_u16()
    }

    /// Logs in as soon as the stores answer again, within `limit`; every
    /// answer before that must be a 503.
    pub async fn login_once_recovered(&self, email: &str, limit: std::time::Duration) -> Tokens {
        let started = std::time::Instant::now();
        loop {
            let res = self.login(email, PASSWORD).await;
            if res.status() == 200 {
                return res.json().await.expect("token response");
            }
            assert_eq!(res.status(), 503);
            assert!(started.elapsed() < limit, "no recovery within {limit:?}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    pub async fn get_with(&self, path: &str, access_token: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_with(&self, path: &str, access_token: &str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request")
    }

    /// DELETE with a Bearer token; `url` is a full URL (see `url`).
    pub async fn delete_with(&self, url: &str, access_token: &str) -> reqwest::Response {
        self.client
            .delete(url)
            .bearer_auth(access_token)
            .send()
            .await
            .expect("request")
    }

    /// `DELETE /api/sessions/{id}` as the holder of `access_token`.
    pub async fn end_session(&self, access_token: &str, id: &str) -> reqwest::Response {
        self.delete_with(&self.url(&format!("/api/sessions/{id}")), access_token)
            .await
    }

    /// `GET /api/sessions`, asserting a 200; the `sessions` array.
    pub async fn sessions(&self, access_token: &str) -> Vec<Value> {
        let res = self.get_with("/api/sessions", access_token).await;
        assert_eq!(res.status(), 200);
        let body: Value = res.json().await.expect("JSON");
        body["sessions"].as_array().cloned().unwrap_or_default()
    }

    /// `POST /api/password` as the holder of `access_token`.
    pub async fn change_password(
        &self,
        access_token: &str,
        current: &str,
        new: &str,
    ) -> reqwest::Response {
        self.client
            .post(self.url("/api/password"))
            .bearer_auth(access_token)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
            .await
            .expect("request")
    }

    /// `POST /api/logout` with a body `refresh_token` (and a Bearer token
    /// when given).
    pub async fn logout_refresh(
        &self,
        refresh_token: &str,
        access_token: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url("/api/logout"))
            .json(&json!({ "refresh_token": refresh_token }));
        if let Some(at) = access_token {
            req = req.bearer_auth(at);
        }
        req.send().await.expect("request")
    }

    pub async fn register(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json(
            "/api/register",
            &json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.post_json("/api/login", &json!({"email": email, "password": password}))
            .await
    }

    /// Registers a fresh account and logs it in.
    pub async fn signed_in_user(&self) -> (String, Tokens) {
        let email = unique_email();
        assert_eq!(self.register(&email, PASSWORD).await.status(), 201);
        let tokens = self.login_tokens(&email).await;
        (email, tokens)
    }

    pub async fn login_tokens(&self, email: &str) -> Tokens {
        let res = self.login(email, PASSWORD).await;
        assert_eq!(res.status(), 200);
        res.json().await.expect("token response")
    }

    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.post_json("/api/token", &json!({ "refresh_token": refresh_token }))
            .await
    }

    pub async fn refreshed(&self, refresh_token: &str) -> Tokens {
        let res = self.refresh(refresh_token).await;
        assert_eq!(res.status(), 200, "refresh should succeed");
        res.json().await.expect("token response")
    }

    /// Every key of this test's prefix (on every node), with its TTL in ms
    /// and its values (raw bytes: hashes are stored raw).
    pub async fn redis_dump(&self) -> Vec<(String, i64, Vec<Vec<u8>>)> {
        let mut out = Vec::new();
        for node in self.redis_keys_by_node().await {
            let mut conn = redis_connection(&node.0).await;
            for key in node.1 {
                let ttl: i64 = redis::cmd("PTTL")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .expect("PTTL");
                let kind: String = redis::cmd("TYPE")
                    .arg(&key)
                    .query_async(&mut conn)
                    .await
                    .expect("TYPE");
                let read = match kind.as_str() {
                    "hash" => redis::cmd("HGETALL").arg(&key).clone(),
                    "zset" => redis::cmd("ZRANGE")
                        .arg(&key)
                        .arg(0)
                        .arg(-1)
                        .arg("WITHSCORES")
                        .clone(),
                    "string" => redis::cmd("MGET").arg(&key).clone(),
                    _ => redis::cmd("ECHO").arg("").clone(),
                };
                let values: Vec<Vec<u8>> = read.query_async(&mut conn).await.expect("values");
                out.push((key, ttl, values));
            }
        }
        out
    }

    /// This test's keys, node by node.
    pub async fn redis_keys_by_node(&self) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for node in redis_nodes(&self.redis_url) {
            let mut conn = redis_connection(&node).await;
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg(format!("{}*", self.prefix))
                .query_async(&mut conn)
                .await
                .expect("KEYS");
            out.push((node, keys));
        }
        out
    }
}

impl TestApp {
    /// `MEMORY USAGE` summed over every key of this test's prefix.
    pub async fn redis_memory(&self) -> i64 {
        let mut total = 0;
        for (node, keys) in self.redis_keys_by_node().await {
            let mut conn = redis_connection(&node).await;
            for key in keys {
                let bytes: i64 = redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(&key)
                    .arg("SAMPLES")
                    .arg(0)
                    .query_async(&mut conn)
                    .await
                    .expect("MEMORY USAGE");
                total += bytes;
            }
        }
        total
    }
}

/// The JSON error body, asserting the contract's shape.
pub async fn error_of(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body: Value = res.json().await.expect("error bodies are JSON");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert!(body["error"].is_string(), "{body}");
    assert!(body["error_description"].is_string(), "{body}");
    (status, body)
}

/// Asserts a contract error with this status and code; returns the body.
pub async fn assert_error(res: reqwest::Response, status: u16, code: &str) -> Value {
    let (got, body) = error_of(res).await;
    assert_eq!(
        (got, body["error"].as_str().unwrap_or_default()),
        (status, code),
        "{body}"
    );
    body
}

/// Registers one new email `attempts` times at once, alternating its case,
/// spread over `apps`; asserts exactly one account came of it.
pub async fn assert_registration_race_makes_one_account(apps: &[&TestApp], attempts: usize) {
    let email = unique_email();
    let statuses: Vec<u16> = futures::future::join_all((0..attempts).map(|i| {
        let email = if i % 2 == 0 {
            email.clone()
        } else {
            email.to_uppercase()
        };
        let app = apps[i % apps.len()];
        async move { app.register(&email, PASSWORD).await.status().as_u16() }
    }))
    .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
}

/// Logs in with a device name and a User-Agent.
pub async fn login_as(
    app: &TestApp,
    email: &str,
    device: Option<&str>,
    user_agent: &str,
) -> Tokens {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(device) = device {
        body["device"] = json!(device);
    }
    let res = app
        .client
        .post(app.url("/api/login"))
        .header("user-agent", user_agent)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// 200 now; then polls until 401, which must come within `limit`.
pub async fn refused_within(app: &TestApp, access_token: &str, limit: Duration, what: &str) {
    let started = std::time::Instant::now();
    loop {
        let status = app.get_with("/api/secure", access_token).await.status();
        if status == 401 {
            return;
        }
        assert_eq!(status, 200, "{what}: only 200 or 401 expected");
        assert!(
            started.elapsed() < limit,
            "{what}: still accepted after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Every one of `apps` accepts `access_token` (and so holds its session's
/// liveness in memory).
pub async fn accepted_by(apps: &[&TestApp], access_token: &str) {
    for app in apps {
        assert_eq!(
            app.get_with("/api/secure", access_token).await.status(),
            200
        );
    }
}

/// Every one of `apps` refuses `access_token` within a second.
pub async fn refused_by_all(apps: &[&TestApp], access_token: &str, what: &str) {
    for app in apps {
        refused_within(app, access_token, Duration::from_secs(1), what).await;
    }
}
