//! The error contract for bad input, including actix's own failures.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn malformed_json_is_an_invalid_request() {
    let app = spawn_app().await;
    for path in ["/api/register", "/api/login", "/api/token", "/api/logout"] {
        let res = app
            .client
            .post(app.url(path))
            .header("content-type", "application/json")
            .body("{\"email\": ")
            .send()
            .await
            .unwrap();
        let (status, body) = error_of(res).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn missing_or_ill_typed_fields_are_invalid_requests() {
    let app = spawn_app().await;
    for body in [
        json!({}),
        json!({"email": unique_email()}),
        json!({"email": 5, "password": PASSWORD}),
        json!({"email": unique_email(), "password": ["x"]}),
        json!([1, 2]),
    ] {
        for path in ["/api/register", "/api/login"] {
            let (status, err) = error_of(app.post_json(path, &body).await).await;
            assert_eq!(
                (status, err["error"].as_str()),
                (400, Some("invalid_request")),
                "{path} {body}"
            );
        }
    }
    let (status, err) = error_of(
        app.post_json("/api/token", &json!({"refresh_token": 12}))
            .await,
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, err) = error_of(app.post_json("/api/token", &json!({})).await).await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

/// Issue 31: the answer names the field to fix, never the value sent (it
/// may be a password).
#[tokio::test]
async fn a_missing_or_ill_typed_field_is_named_never_its_value() {
    let app = spawn_app().await;
    let secret = "hunter2-never-echoed";
    for (path, body, said) in [
        (
            "/api/login",
            json!({"email": unique_email()}),
            "the field `password` is required",
        ),
        (
            "/api/register",
            json!({"email": unique_email(), "password": 12345678}),
            "the field `password` must be a string",
        ),
        (
            "/api/login",
            json!({"email": secret, "password": [secret]}),
            "the field `password` must be a string",
        ),
        (
            "/api/token",
            json!({"refresh_token": {"token": secret}}),
            "the field `refresh_token` must be a string",
        ),
        (
            "/api/login",
            json!([secret]),
            "the body must be a JSON object",
        ),
    ] {
        let text = body.to_string();
        let err = assert_error(app.post_json(path, &body).await, 400, "invalid_request").await;
        assert_eq!(err["error_description"], said, "{path} {text}");
        assert!(!err.to_string().contains(secret), "{err}");
    }
    let res = app
        .client
        .post(app.url("/api/token"))
        .form(&[("grant_type", "refresh_token")])
        .send()
        .await
        .unwrap();
    let err = assert_error(res, 400, "invalid_request").await;
    assert_eq!(err["error_description"], "refresh_token is required");
    let res = app
        .client
        .post(app.url("/api/login"))
        .header("content-type", "application/json")
        .body(format!("{{\"password\": \"{secret}"))
        .send()
        .await
        .unwrap();
    let err = assert_error(res, 400, "invalid_request").await;
    let said = err["error_description"].as_str().unwrap();
    assert!(
        said.starts_with("the body is not valid JSON (line 1, column"),
        "{said}"
    );
    assert!(!said.contains(secret), "{said}");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_unsupported_media() {
    let app = spawn_app().await;
    let payload = format!(
        "{{\"email\":\"{}\",\"password\":\"{PASSWORD}\"}}",
        unique_email()
    );
    for path in ["/api/register", "/api/login", "/api/token"] {
        for content_type in [Some("text/plain"), Some("application/xml"), None] {
            let mut req = app.client.post(app.url(path)).body(payload.clone());
            if let Some(ct) = content_type {
                req = req.header("content-type", ct);
            }
            let (status, body) = error_of(req.send().await.unwrap()).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (415, Some("unsupported_media_type")),
                "{path} {content_type:?}"
            );
        }
    }
    // Form encoding is for /api/token only.
    let res = app
        .client
        .post(app.url("/api/register"))
        .form(&[("email", "a@b.co"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
}

#[tokio::test]
async fn json_with_a_charset_is_accepted() {
    let app = spawn_app().await;
    let payload = format!(
        "{{\"email\":\"{}\",\"password\":\"{PASSWORD}\"}}",
        unique_email()
    );
    let res = app
        .client
        .post(app.url("/api/register"))
        .header("content-type", "application/json; charset=utf-8")
        .body(payload)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn bodies_over_16_kib_are_too_large() {
    let app = spawn_app().await;
    let big = json!({"email": unique_email(), "password": "x".repeat(17 * 1024)});
    for path in ["/api/register", "/api/login", "/api/token", "/api/logout"] {
        let (status, body) = error_of(app.post_json(path, &big).await).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (413, Some("payload_too_large")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let app = spawn_app().await;
    for path in ["/nope", "/api/nope", "/api", "/api/me/extra"] {
        let (status, body) = error_of(app.client.get(app.url(path)).send().await.unwrap()).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    let (_, t) = app.signed_in_user().await;
    let (status, _) = error_of(app.get_with("/api/nope", &t.access_token).await).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_wrong_method_is_a_json_error() {
    let app = spawn_app().await;
    for (method, path) in [
        (reqwest::Method::GET, "/api/login"),
        (reqwest::Method::DELETE, "/api/register"),
        (reqwest::Method::PUT, "/api/token"),
    ] {
        let res = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        let allow = res
            .headers()
            .get("allow")
            .map(|v| v.to_str().unwrap().to_string());
        let body = assert_error(res, 405, "invalid_request").await;
        assert_eq!(allow.as_deref(), Some("POST"), "{method} {path}: {body}");
    }
}

#[tokio::test]
async fn routes_without_a_body_accept_any_empty_one() {
    let app = spawn_app().await;
    let (_, t) = app.signed_in_user().await;
    for content_type in ["text/plain", "application/octet-stream", "application/json"] {
        let res = app
            .client
            .get(app.url("/api/me"))
            .bearer_auth(&t.access_token)
            .header("content-type", content_type)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{content_type}");
    }
    let res = app
        .client
        .post(app.url("/api/logout"))
        .bearer_auth(&t.access_token)
        .header("content-type", "text/plain")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (_, t) = app.signed_in_user().await;
    let res = app
        .client
        .post(app.url("/api/logout-all"))
        .bearer_auth(&t.access_token)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

/// Writes `hash` as the stored password hash of `email`, as a bad import
/// or a stray database write would.
async fn store_hash(app: &TestApp, email: &str, hash: &str) {
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    sqlx::query("UPDATE users SET password_hash = $1 WHERE email_normalized = $2")
        .bind(hash)
        .bind(email.to_lowercase())
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
}

/// A stored hash authd will not verify against, malformed or with
/// parameters that would hold the hashing slot for hours, answers as a
/// wrong password does (not a 500, which told an attacker the account
/// exists and freed its throttle slot): at once, counted by the throttle,
/// and other accounts log in meanwhile.
#[tokio::test]
async fn a_stored_hash_authd_will_not_use_is_a_failed_login_not_a_500() {
    let app = app().var("AUTHD_LOGIN_MAX_FAILURES", 2).spawn().await;
    let (malformed, endless) = (unique_email(), unique_email());
    for email in [&malformed, &endless] {
        assert_eq!(app.register(email, PASSWORD).await.status(), 201);
    }
    store_hash(
        &app,
        &malformed,
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
    )
    .await;
    store_hash(
        &app,
        &endless,
        "$argon2id$v=19$m=8,t=4294967295,p=1$c2FsdHNhbHRzYWx0c2FsdA$AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
    )
    .await;
    for email in [&malformed, &endless] {
        for _ in 0..2 {
            let started = std::time::Instant::now();
            assert_error(app.login(email, PASSWORD).await, 400, "invalid_grant").await;
            assert!(
                started.elapsed() < std::time::Duration::from_secs(2),
                "{:?}",
                started.elapsed()
            );
        }
        // Each counted as a failure.
        assert_error(app.login(email, PASSWORD).await, 429, "rate_limited").await;
    }
    let (_, other) = app.signed_in_user().await;
    assert_eq!(app.guard_status(&other.access_token).await, 200);
}
