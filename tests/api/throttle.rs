//! Login throttling per account and per IP, shared through Redis, checked
//! before any hashing; client IPs behind trusted proxies.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

const WRONG: &str = "definitely not it";

async fn fail_login(app: &TestApp, email: &str) {
    assert_error(app.login(email, WRONG).await, 400, "invalid_grant").await;
}

async fn assert_throttled(res: reqwest::Response, lockout: u64) -> Value {
    let retry_after: u64 = res
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=lockout).contains(&retry_after), "{retry_after}");
    assert_error(res, 429, "rate_limited").await
}

#[tokio::test]
async fn an_account_is_throttled_after_too_many_failures_even_with_the_right_password() {
    let app = app()
        .var("AUTHD_LOGIN_MAX_FAILURES", 3)
        .var("AUTHD_LOGIN_LOCKOUT", 60)
        .spawn()
        .await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    for _ in 0..3 {
        fail_login(&app, &email).await;
    }
    assert_throttled(app.login(&email, PASSWORD).await, 60).await;
    // Other accounts are not affected.
    let (_, _) = app.signed_in_user().await;
}

#[tokio::test]
async fn unknown_emails_are_throttled_the_same_way() {
    let app = app().var("AUTHD_LOGIN_MAX_FAILURES", 2).spawn().await;
    let known = unique_email();
    let unknown = unique_email();
    app.register(&known, PASSWORD).await;
    for email in [&known, &unknown] {
        fail_login(&app, email).await;
        fail_login(&app, email).await;
    }
    let a = assert_throttled(app.login(&known, WRONG).await, 300).await;
    let b = assert_throttled(app.login(&unknown, WRONG).await, 300).await;
    assert_eq!(a, b, "a 429 reveals nothing about the account");
}

#[tokio::test]
async fn a_success_before_the_limit_resets_the_count() {
    let app = app().var("AUTHD_LOGIN_MAX_FAILURES", 3).spawn().await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    for _ in 0..2 {
        fail_login(&app, &email).await;
    }
    app.login_tokens(&email).await;
    for _ in 0..2 {
        fail_login(&app, &email).await;
    }
    app.login_tokens(&email).await;
}

#[tokio::test]
async fn the_lockout_ends_lockout_seconds_after_the_last_failure() {
    let app = app()
        .var("AUTHD_LOGIN_MAX_FAILURES", 2)
        .var("AUTHD_LOGIN_LOCKOUT", 1)
        .spawn()
        .await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    fail_login(&app, &email).await;
    fail_login(&app, &email).await;
    assert_throttled(app.login(&email, PASSWORD).await, 1).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    app.login_tokens(&email).await;
}

#[tokio::test]
async fn a_throttled_login_runs_no_password_hashing() {
    let app = app().var("AUTHD_LOGIN_MAX_FAILURES", 2).spawn().await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    let runs = app.state.auth.hashing_runs();
    fail_login(&app, &email).await;
    assert_eq!(
        app.state.auth.hashing_runs(),
        runs + 1,
        "a normal failure hashes once"
    );
    fail_login(&app, &email).await;
    let runs = app.state.auth.hashing_runs();
    for _ in 0..10 {
        assert_throttled(app.login(&email, PASSWORD).await, 300).await;
    }
    assert_eq!(
        app.state.auth.hashing_runs(),
        runs,
        "throttled attempts cost no Argon2"
    );
}

#[tokio::test]
async fn one_ip_spraying_many_accounts_is_throttled() {
    let app = app()
        .var("AUTHD_LOGIN_MAX_FAILURES_PER_IP", 4)
        .spawn()
        .await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    for _ in 0..4 {
        fail_login(&app, &unique_email()).await;
    }
    assert_throttled(app.login(&email, PASSWORD).await, 300).await;
}

#[tokio::test]
async fn instances_share_the_throttle() {
    let first = app().var("AUTHD_LOGIN_MAX_FAILURES", 4).spawn().await;
    let second = app()
        .var("AUTHD_LOGIN_MAX_FAILURES", 4)
        .sharing(&first)
        .spawn()
        .await;
    let email = unique_email();
    assert_eq!(first.register(&email, PASSWORD).await.status(), 201);
    for app in [&first, &second, &first, &second] {
        fail_login(app, &email).await;
    }
    assert_throttled(first.login(&email, PASSWORD).await, 300).await;
    assert_throttled(second.login(&email, PASSWORD).await, 300).await;
}

#[tokio::test]
async fn throttle_counters_expire_and_hold_no_email() {
    let app = spawn_app().await;
    let email = unique_email();
    fail_login(&app, &email).await;
    let dump = app.redis_dump().await;
    assert_eq!(dump.len(), 2, "an account and an IP counter: {dump:?}");
    for (key, ttl, _) in dump {
        assert!(ttl > 0 && ttl <= 300_000, "{key}: {ttl}");
        assert!(
            !key.contains(&email) && !key.contains("example.com"),
            "{key}"
        );
    }
}

async fn login_from(
    app: &TestApp,
    email: &str,
    password: &str,
    forwarded_for: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

async fn session_ip(app: &TestApp, res: reqwest::Response) -> String {
    assert_eq!(res.status(), 200);
    let t: Tokens = res.json().await.unwrap();
    let res = app.get_with("/api/sessions", &t.access_token).await;
    let body: Value = res.json().await.unwrap();
    let ip = body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()["ip"]
        .clone();
    ip.as_str().unwrap().to_string()
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_counts() {
    let app = app()
        .var("AUTHD_TRUSTED_PROXIES", "127.0.0.1, ::1")
        .var("AUTHD_LOGIN_MAX_FAILURES_PER_IP", 2)
        .spawn()
        .await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    let res = login_from(&app, &email, PASSWORD, "203.0.113.50, 198.51.100.7").await;
    assert_eq!(session_ip(&app, res).await, "198.51.100.7");
    // Failures from one client do not throttle another behind the same proxy.
    for _ in 0..2 {
        assert_error(
            login_from(&app, &unique_email(), WRONG, "198.51.100.66").await,
            400,
            "invalid_grant",
        )
        .await;
    }
    assert_throttled(
        login_from(&app, &email, PASSWORD, "198.51.100.66").await,
        300,
    )
    .await;
    let res = login_from(&app, &email, PASSWORD, "198.51.100.7").await;
    assert_eq!(session_ip(&app, res).await, "198.51.100.7");
}

#[tokio::test]
async fn spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing() {
    let app = app()
        .var("AUTHD_TRUSTED_PROXIES", "10.0.0.0/8")
        .var("AUTHD_LOGIN_MAX_FAILURES_PER_IP", 3)
        .spawn()
        .await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    let res = login_from(&app, &email, PASSWORD, "198.51.100.7").await;
    assert_eq!(session_ip(&app, res).await, "127.0.0.1");
    // A new made-up address per attempt does not dodge the per-IP limit.
    for i in 0..3 {
        let res = login_from(&app, &unique_email(), WRONG, &format!("203.0.113.{i}")).await;
        assert_error(res, 400, "invalid_grant").await;
    }
    assert_throttled(
        login_from(&app, &email, PASSWORD, "203.0.113.99").await,
        300,
    )
    .await;
}

#[tokio::test]
async fn a_burst_of_parallel_guesses_gets_no_more_than_the_limit_through() {
    let app = app().var("AUTHD_LOGIN_MAX_FAILURES", 3).spawn().await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    let runs = app.state.auth.hashing_runs();
    let statuses: Vec<u16> = futures::future::join_all((0..12).map(|_| app.login(&email, WRONG)))
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 400).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        9,
        "{statuses:?}"
    );
    assert_eq!(app.state.auth.hashing_runs(), runs + 3);
}

#[tokio::test]
async fn registrations_are_throttled_per_client_ip() {
    let app = app().var("AUTHD_REGISTER_MAX_PER_IP", 3).spawn().await;
    let taken = unique_email();
    assert_eq!(app.register(&taken, PASSWORD).await.status(), 201);
    // Successful or not, each registration counts.
    assert_error(app.register(&taken, PASSWORD).await, 409, "email_taken").await;
    assert_eq!(app.register(&unique_email(), PASSWORD).await.status(), 201);
    let res = app.register(&unique_email(), PASSWORD).await;
    let body = assert_throttled(res, 3600).await;
    assert_eq!(body["error"], "rate_limited");
    // Logins are not registrations: still allowed from the same address.
    assert_eq!(app.login(&taken, PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_taken_email_costs_no_password_hashing() {
    let app = spawn_app().await;
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status(), 201);
    let runs = app.state.auth.hashing_runs();
    assert_error(app.register(&email, PASSWORD).await, 409, "email_taken").await;
    assert_eq!(app.state.auth.hashing_runs(), runs);
}
