//! The API suite's helpers: everything the test crates share (the world an
//! app runs in, its HTTP helpers, the servers and the values; see
//! `authd_test_support`), and the assertions only this suite makes.

use std::time::Duration;

use serde_json::{json, Value};

pub use authd_test_support::app::*;
pub use authd_test_support::keys::*;
pub use authd_test_support::servers::*;
pub use authd_test_support::values::*;

/// An access token's claims (not verified: what a client reads).
pub fn claims_of(access_token: &str) -> Value {
    use base64::Engine as _;
    let payload = access_token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
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

/// Asserts RFC 9470's step-up answer: 403 `insufficient_user_authentication`
/// with a challenge asking for `acr` `aal2`.
pub async fn assert_step_up_required(res: reqwest::Response) {
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert_error(res, 403, "insufficient_user_authentication").await;
    assert!(challenge.contains(r#"acr_values="aal2""#), "{challenge}");
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
        let status = app.guard_status(access_token).await;
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
        assert_eq!(app.guard_status(access_token).await, 200);
    }
}

/// Every one of `apps` refuses `access_token` within a second.
pub async fn refused_by_all(apps: &[&TestApp], access_token: &str, what: &str) {
    for app in apps {
        refused_within(app, access_token, Duration::from_secs(1), what).await;
    }
}

/// Each refresh token is refused (`invalid_grant`) by the instance it was
/// issued on.
pub async fn refresh_refused(issued: &[(&TestApp, &Tokens)]) {
    for (app, tokens) in issued {
        assert_error(
            app.refresh(&tokens.refresh_token).await,
            400,
            "invalid_grant",
        )
        .await;
    }
}

/// The user id in an access token, as Redis keys spell it (no dashes).
pub fn user_key_of(access_token: &str) -> String {
    claims_of(access_token)["sub"]
        .as_str()
        .expect("sub")
        .replace('-', "")
}

/// `GET /metrics`, as text.
pub async fn metrics_text(app: &TestApp) -> String {
    app.client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text")
}

/// A request with a Bearer token and, if any, a JSON body.
pub async fn with_token(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.unwrap()
}

/// A request with the admin secret `secret` as its Bearer token.
pub async fn as_admin(
    app: &TestApp,
    secret: &str,
    method: reqwest::Method,
    path: &str,
) -> reqwest::Response {
    with_token(app, method, path, secret, None).await
}
