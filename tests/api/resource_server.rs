//! `authd-guard` in a resource server of its own, against a real authd:
//! authd's tokens accepted and their identity handed to the handler;
//! revocation seen within a second (Redis tracking, or introspection);
//! a new signing key picked up from the JWKS without a restart; tokens for
//! another audience refused; a store that does not answer is a 503, never a
//! guess; and the guard crate's example (`crates/authd-guard/examples/`) run as a process.

use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{web, App, HttpResponse, HttpServer};
use authd::jwt::JwtAlgorithm;
use authd_guard::{GuardConfig, Identity, RequireToken, RevocationConfig};
use serde_json::Value;

use crate::helpers::*;

const INTROSPECTION_SECRET: &str = "guard-introspection-secret-0123456789abcdef";

async fn whoami(who: Identity) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "user_id": who.user_id,
        "session_id": who.session_id,
    }))
}

/// Serves the routes `configure` adds on a free port of 127.0.0.1, one
/// worker, until the test ends; its base URL.
fn serve(configure: impl Fn(&mut web::ServiceConfig) + Clone + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || App::new().configure(configure.clone()))
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}")
}

/// A resource server: `/hello` open, `/api/whoami` guarded.
pub(crate) async fn resource_server(config: GuardConfig) -> String {
    let guard = config.build().await.expect("the guard builds");
    serve(move |cfg| {
        cfg.route("/hello", web::get().to(HttpResponse::Ok))
            .service(
                web::scope("/api")
                    .wrap(RequireToken::new(guard.clone()))
                    .route("/whoami", web::get().to(whoami)),
            );
    })
}

pub(crate) fn redis_of(app: &TestApp) -> RevocationConfig {
    RevocationConfig::Redis {
        urls: app.redis_url.split(',').map(str::to_string).collect(),
        prefix: app.prefix.clone(),
        ca_pem: None,
    }
}

async fn call(server: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(format!("{server}/api/whoami"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// Accepted now; after logout, refused within a second (how long it took).
async fn refused_after_logout(app: &TestApp, server: &str, tokens: &Tokens) -> Duration {
    let res = call(server, Some(&tokens.access_token)).await;
    let status = res.status();
    let body = res.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    let who: Value = serde_json::from_str(&body).unwrap();
    let claims = claims_of(&tokens.access_token);
    assert_eq!(who["user_id"], claims["sub"]);
    assert_eq!(who["session_id"], claims["sid"]);

    let logout = app.post_with("/api/logout", &tokens.access_token).await;
    assert_eq!(logout.status(), 204);
    let ended = Instant::now();
    loop {
        let res = call(server, Some(&tokens.access_token)).await;
        if res.status() == 401 {
            let challenge = res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .to_string();
            // The guard crate says why, as authd does (issue 31).
            assert!(
                challenge.starts_with(
                    r#"Bearer realm="authd", error="invalid_token", error_description="the session"#
                ),
                "{challenge}"
            );
            let body = assert_error(res, 401, "invalid_token").await;
            assert!(challenge.contains(body["error_description"].as_str().unwrap()));
            return ended.elapsed();
        }
        assert_eq!(res.status(), 200);
        assert!(
            ended.elapsed() < Duration::from_secs(1),
            "a revoked token still accepted after a second"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn revocation_reaches_a_resource_server_on_redis_within_a_second() {
    let app = spawn_app().await;
    let server = resource_server(GuardConfig::for_authd(&app.address, redis_of(&app))).await;
    let (_, tokens) = app.signed_in_user().await;
    let took = refused_after_logout(&app, &server, &tokens).await;
    assert!(took < Duration::from_secs(1), "{took:?}");

    // No token, or a forged one: 401, JSON, the RFC 6750 challenge.
    let res = call(&server, None).await;
    assert_eq!(res.headers()["www-authenticate"], r#"Bearer realm="authd""#);
    assert_error(res, 401, "invalid_token").await;
    let forged = format!("{}x", tokens.access_token);
    assert_error(call(&server, Some(&forged)).await, 401, "invalid_token").await;
}

#[tokio::test]
async fn revocation_reaches_a_resource_server_by_introspection_within_a_second() {
    let app = app()
        .var("AUTHD_INTROSPECTION_SECRETS", INTROSPECTION_SECRET)
        .spawn()
        .await;
    let revocation = RevocationConfig::Introspection {
        url: app.url("/api/introspect"),
        secret: INTROSPECTION_SECRET.into(),
        ttl: Duration::from_millis(300),
    };
    let server = resource_server(GuardConfig::for_authd(&app.address, revocation)).await;
    let (_, tokens) = app.signed_in_user().await;
    let took = refused_after_logout(&app, &server, &tokens).await;
    assert!(took < Duration::from_secs(1), "{took:?}");

    // A wrong secret is not a live session: authd's 401 is a 503 here
    // (the check could not be made), never an acceptance.
    let wrong = RevocationConfig::Introspection {
        url: app.url("/api/introspect"),
        secret: "not-the-secret-0123456789abcdef0123456789".into(),
        ttl: Duration::from_millis(300),
    };
    let server = resource_server(GuardConfig::for_authd(&app.address, wrong)).await;
    let (_, other) = app.signed_in_user().await;
    assert_error(
        call(&server, Some(&other.access_token)).await,
        503,
        "temporarily_unavailable",
    )
    .await;
}

#[tokio::test]
async fn signature_only_accepts_a_revoked_token_until_it_expires() {
    let app = spawn_app().await;
    let server = resource_server(GuardConfig::for_authd(
        &app.address,
        RevocationConfig::SignatureOnly,
    ))
    .await;
    let (_, tokens) = app.signed_in_user().await;
    assert_eq!(
        call(&server, Some(&tokens.access_token)).await.status(),
        200
    );
    assert_eq!(
        app.post_with("/api/logout", &tokens.access_token)
            .await
            .status(),
        204
    );
    // The mode's documented trade: no I/O, no revocation.
    assert_eq!(
        call(&server, Some(&tokens.access_token)).await.status(),
        200
    );
}

/// The guard crate says what was wrong with a token, as authd does: an
/// expired one is refused as expired, in the body and the challenge.
#[tokio::test]
async fn a_resource_server_says_a_token_has_expired() {
    use base64::Engine as _;
    let app = spawn_app().await;
    let server = resource_server(GuardConfig::for_authd(
        &app.address,
        RevocationConfig::SignatureOnly,
    ))
    .await;
    let (_, tokens) = app.signed_in_user().await;
    let head = tokens.access_token.split('.').next().unwrap();
    let head: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(head)
            .unwrap(),
    )
    .unwrap();
    let mut claims = claims_of(&tokens.access_token);
    claims["exp"] = serde_json::json!(claims["iat"].as_i64().unwrap() - 120);
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.typ = Some("at+jwt".into());
    header.kid = head["kid"].as_str().map(str::to_string);
    let key =
        jsonwebtoken::EncodingKey::from_ed_pem(app.key_pem.as_ref().unwrap().as_bytes()).unwrap();
    let expired = jsonwebtoken::encode(&header, &claims, &key).unwrap();

    let res = call(&server, Some(&expired)).await;
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    let body = assert_error(res, 401, "invalid_token").await;
    let said = body["error_description"].as_str().unwrap();
    assert!(said.contains("expired"), "{said}");
    assert!(
        challenge.ends_with(&format!(r#"error_description="{said}""#)),
        "{challenge}"
    );
}

/// Serves `/.well-known/jwks.json` from whichever authd `upstream` names,
/// counting fetches: one URL for the resource server across a rotation.
async fn jwks_relay(upstream: Arc<Mutex<String>>, fetches: Arc<AtomicUsize>) -> String {
    serve(move |cfg| {
        let upstream = upstream.clone();
        let fetches = fetches.clone();
        cfg.route(
            "/.well-known/jwks.json",
            web::get().to(move || {
                let url = upstream.lock().unwrap().clone();
                fetches.fetch_add(1, Ordering::SeqCst);
                async move {
                    let body = reqwest::get(format!("{url}/.well-known/jwks.json"))
                        .await
                        .unwrap()
                        .text()
                        .await
                        .unwrap();
                    HttpResponse::Ok()
                        .content_type("application/json")
                        .body(body)
                }
            }),
        );
    })
}

#[tokio::test]
async fn a_new_signing_key_is_picked_up_without_a_restart() {
    let old_key = KeyFile::generate(JwtAlgorithm::EdDSA);
    let new_key = KeyFile::generate(JwtAlgorithm::EdDSA);
    let before = app()
        .algorithm(JwtAlgorithm::EdDSA, Some(&old_key))
        .spawn()
        .await;
    let upstream = Arc::new(Mutex::new(before.address.clone()));
    let fetches = Arc::new(AtomicUsize::new(0));
    let relay = jwks_relay(upstream.clone(), fetches.clone()).await;
    let mut config = GuardConfig::for_authd(&relay, redis_of(&before));
    config.rules.cache_entries = 0;
    let server = resource_server(config).await;
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "fetched once at start");
    let (email, old_tokens) = before.signed_in_user().await;
    assert_eq!(
        call(&server, Some(&old_tokens.access_token)).await.status(),
        200
    );

    // The operator rotates: authd now signs with the new key and still
    // publishes the old one.
    let after = app()
        .algorithm(JwtAlgorithm::EdDSA, Some(&new_key))
        .var("AUTHD_JWT_VERIFY_KEY_FILES", old_key.path.display())
        .sharing(&before)
        .spawn()
        .await;
    *upstream.lock().unwrap() = after.address.clone();
    let new_tokens = after.login_tokens(&email).await;
    assert_ne!(
        claims_of(&new_tokens.access_token)["sid"],
        claims_of(&old_tokens.access_token)["sid"]
    );
    assert_eq!(
        call(&server, Some(&new_tokens.access_token)).await.status(),
        200
    );
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        2,
        "one fetch for the new kid"
    );
    assert_eq!(
        call(&server, Some(&old_tokens.access_token)).await.status(),
        200
    );

    // Tokens naming kids nobody published: refused, and they cannot make
    // the resource server hammer authd (one fetch per interval at most).
    let stranger = app()
        .algorithm(
            JwtAlgorithm::EdDSA,
            Some(&KeyFile::generate(JwtAlgorithm::EdDSA)),
        )
        .sharing(&before)
        .spawn()
        .await;
    let stray = stranger.login_tokens(&email).await;
    for _ in 0..20 {
        assert_error(
            call(&server, Some(&stray.access_token)).await,
            401,
            "invalid_token",
        )
        .await;
    }
    assert!(fetches.load(Ordering::SeqCst) <= 3, "{fetches:?}");
}

#[tokio::test]
async fn tokens_for_another_audience_or_issuer_are_refused() {
    let another = app().var("AUTHD_AUDIENCE", "another-api").spawn().await;
    let server =
        resource_server(GuardConfig::for_authd(&another.address, redis_of(&another))).await;
    let (_, tokens) = another.signed_in_user().await;
    assert_error(
        call(&server, Some(&tokens.access_token)).await,
        401,
        "invalid_token",
    )
    .await;

    let elsewhere = app().var("AUTHD_ISSUER", "https://elsewhere").spawn().await;
    let server = resource_server(GuardConfig::for_authd(
        &elsewhere.address,
        redis_of(&elsewhere),
    ))
    .await;
    let (_, tokens) = elsewhere.signed_in_user().await;
    assert_error(
        call(&server, Some(&tokens.access_token)).await,
        401,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn a_redis_that_does_not_answer_is_a_503_then_recovers() {
    let redis = TestRedis::start();
    let app = app().redis(&redis).spawn().await;
    let mut config = GuardConfig::for_authd(&app.address, redis_of(&app));
    config.timeout = Duration::from_millis(300);
    let server = resource_server(config).await;
    let (_, tokens) = app.signed_in_user().await;
    assert_eq!(
        call(&server, Some(&tokens.access_token)).await.status(),
        200
    );

    redis.freeze();
    // Tracking stops trusting its memory once the heartbeat goes quiet;
    // from then on every answer needs Redis: 503, with Retry-After.
    let deadline = Instant::now() + Duration::from_secs(5);
    let refused = loop {
        let res = call(&server, Some(&tokens.access_token)).await;
        if res.status() == 503 {
            break res;
        }
        assert_eq!(res.status(), 200);
        assert!(Instant::now() < deadline, "still answering from memory");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_error(refused, 503, "temporarily_unavailable").await;
    redis.thaw();
    let deadline = Instant::now() + Duration::from_secs(5);
    while call(&server, Some(&tokens.access_token)).await.status() != 200 {
        assert!(Instant::now() < deadline, "no recovery after thaw");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `target/debug/examples/resource_server`, built by `cargo test`.
fn example_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    profile_dir.join("examples").join("resource_server")
}

/// Killed when the test ends, passed or not.
struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_example_resource_server_runs_against_authd() {
    use std::io::{BufRead, BufReader};
    let app = spawn_app().await;
    let mut child = Running(
        std::process::Command::new(example_binary())
            .env_clear()
            .env("AUTHD_URL", &app.address)
            .env("AUTHD_GUARD_REVOCATION", "redis")
            .env("AUTHD_GUARD_REDIS_URL", &app.redis_url)
            .env("AUTHD_GUARD_REDIS_PREFIX", &app.prefix)
            .env("BIND", "127.0.0.1:0")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("cargo test builds the example"),
    );
    let stdout = child.0.stdout.take().unwrap();
    // Read off the runtime: the in-process authd answers the example's
    // first JWKS fetch meanwhile.
    let line = tokio::task::spawn_blocking(move || BufReader::new(stdout).lines().next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let server = line.trim_start_matches("listening on ").to_string();
    let hello = reqwest::get(format!("{server}/hello")).await.unwrap();
    assert_eq!(hello.status(), 200);
    let (_, tokens) = app.signed_in_user().await;
    let took = refused_after_logout(&app, &server, &tokens).await;
    assert!(took < Duration::from_secs(1), "{took:?}");
}

/// Bad settings stop the example at once, each on a line naming it (not
/// Rust's `Debug` of an error): here an `AUTHD_URL` without its scheme,
/// with which it used to start and fail every JWKS fetch, and a revocation
/// mode it does not know.
#[test]
fn the_example_resource_server_refuses_bad_settings_a_line_each() {
    use std::io::Read;
    let mut child = Running(
        std::process::Command::new(example_binary())
            .env_clear()
            .env("AUTHD_URL", "127.0.0.1:8080")
            .env("AUTHD_GUARD_REVOCATION", "sometimes")
            .env("BIND", "127.0.0.1:0")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("cargo test builds the example"),
    );
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "it started with AUTHD_URL lacking its scheme"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    let mut out = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(status.code(), Some(78), "{err}");
    // Every bad setting in the one start, a line each.
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(err.contains("AUTHD_GUARD_REVOCATION: `sometimes`"), "{err}");
    assert!(
        err.contains("AUTHD_URL") && err.contains("http://"),
        "{err}"
    );
    assert!(!err.contains("Custom {") && !err.contains("kind:"), "{err}");
    assert!(out.is_empty(), "{out}");
}
