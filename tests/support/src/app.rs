//! A test world over HTTP: an `Application` on a free port of 127.0.0.1,
//! on a private Redis prefix (of the shared `redis-server`, or of a server
//! of the test's own) and a fresh database, with a client and helpers for
//! its routes.

use authd::app::startup::Application;
use authd::jwt::JwtAlgorithm;
use deadpool_redis::redis;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::keys::{shared_key, KeyFile};
use crate::servers::{redis_connection, redis_nodes, shared_redis_url, TestRedis};
use crate::stores::Stores;
use crate::values::{unique_email, PASSWORD};

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
    /// The stores of an app this one shares its world with (its Redis URL
    /// is `redis_url`, which may still change).
    shared: Option<Stores>,
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

    /// Sign in with the OpenID provider at `issuer` as `name` (added to
    /// `AUTHD_OIDC_PROVIDERS`), its ID tokens issued for `client_ids`
    /// (comma-separated).
    pub fn provider(self, name: &str, issuer: &str, client_ids: &str) -> Self {
        let listed = self
            .vars
            .iter()
            .find(|(k, _)| k == "AUTHD_OIDC_PROVIDERS")
            .map(|(_, v)| format!("{v},{name}"))
            .unwrap_or_else(|| name.to_string());
        let upper = name.to_ascii_uppercase();
        self.var("AUTHD_OIDC_PROVIDERS", listed)
            .var(&format!("AUTHD_OIDC_{upper}_ISSUER"), issuer)
            .var(&format!("AUTHD_OIDC_{upper}_CLIENT_IDS"), client_ids)
    }

    /// Send mail to this SMTP server.
    pub fn mail_to(self, catcher: &crate::smtp::SmtpCatcher) -> Self {
        self.var("AUTHD_SMTP_URL", catcher.url())
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
        self.shared = Some(Stores {
            redis_url: other.redis_url.clone(),
            prefix: other.prefix.clone(),
            database_url: other.database_url.clone(),
            db_dir: other.db_dir.clone(),
        });
        self
    }

    pub async fn spawn(self) -> TestApp {
        let stores = match self.shared {
            Some(shared) => Stores {
                redis_url: self.redis_url,
                ..shared
            },
            None => Stores::fresh(self.redis_url).await,
        };
        let settings = stores.settings(self.vars);
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
            database_url: stores.database_url,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("http client"),
            prefix: stores.prefix,
            redis_url: stores.redis_url,
            key_pem: self.key_pem,
            db_dir: stores.db_dir,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    app().spawn().await
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

    /// `GET /api/me` with `access_token`, as JSON (whatever its status).
    pub async fn me(&self, access_token: &str) -> Value {
        self.get_with("/api/me", access_token)
            .await
            .json()
            .await
            .unwrap()
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

    /// `GET /api/secure` with `access_token`: the Bearer guard's answer.
    pub async fn guarded_request(&self, access_token: &str) -> reqwest::Response {
        self.get_with("/api/secure", access_token).await
    }

    /// The status the guard answers `access_token` with: 200 when it lets
    /// the request through, 401 when it refuses the token, 503 when it
    /// cannot tell.
    pub async fn guard_status(&self, access_token: &str) -> u16 {
        self.guarded_request(access_token).await.status().as_u16()
    }

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
