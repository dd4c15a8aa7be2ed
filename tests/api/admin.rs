//! The admin API: off without `AUTHD_ADMIN_SECRETS`, refused without one of
//! them, and every action felt at once on every instance.

use serde_json::Value;

use crate::helpers::*;

const OPS_SECRET: &str = "the-operators-admin-secret-32-bytes-at-least";
const ADMIN_SECRETS: &str =
    "ops:the-operators-admin-secret-32-bytes-at-least,ci:another-admin-secret-of-32-bytes-or-more";

async fn as_admin(app: &TestApp, method: reqwest::Method, path: &str) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(OPS_SECRET)
        .send()
        .await
        .unwrap()
}

async fn admin_app() -> TestApp {
    app()
        .var("AUTHD_ADMIN_SECRETS", ADMIN_SECRETS)
        .spawn()
        .await
}

#[tokio::test]
async fn the_admin_api_is_off_without_secrets_and_closed_without_one() {
    let off = spawn_app().await;
    let res = as_admin(&off, reqwest::Method::GET, "/api/admin/users").await;
    assert_error(res, 404, "not_found").await;

    let on = admin_app().await;
    let res = on
        .client
        .get(on.url("/api/admin/users"))
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "invalid_token").await;
    let (_, tokens) = on.signed_in_user().await;
    // A user's access token is no admin secret.
    let res = on
        .client
        .get(on.url("/api/admin/users"))
        .bearer_auth(&tokens.access_token)
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "invalid_token").await;
}

#[tokio::test]
async fn users_are_listed_a_page_at_a_time_and_by_email_prefix() {
    let app = admin_app().await;
    let tag = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let mut emails = Vec::new();
    for i in 0..5 {
        let email = format!("{tag}-{i}@example.com");
        assert_eq!(app.register(&email, PASSWORD).await.status().as_u16(), 201);
        emails.push(email);
    }
    app.signed_in_user().await; // another address, filtered out
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/api/admin/users?limit=2&email_prefix={tag}&cursor={cursor}");
        let res = as_admin(&app, reqwest::Method::GET, &path).await;
        assert_eq!(res.status().as_u16(), 200);
        let page: Value = res.json().await.unwrap();
        for user in page["users"].as_array().unwrap() {
            assert_eq!(user["disabled"], false);
            seen.push(user["email"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    seen.sort();
    assert_eq!(seen, emails);
    let bad = as_admin(&app, reqwest::Method::GET, "/api/admin/users?cursor=nope").await;
    assert_error(bad, 400, "invalid_request").await;
}

#[tokio::test]
async fn a_disabled_user_is_refused_everywhere_until_enabled() {
    let a = admin_app().await;
    let b = app()
        .sharing(&a)
        .var("AUTHD_ADMIN_SECRETS", ADMIN_SECRETS)
        .spawn()
        .await;
    let (email, on_a) = a.signed_in_user().await;
    let on_b = b.login_tokens(&email).await;
    let user = claims_of(&on_a.access_token)["sub"]
        .as_str()
        .unwrap()
        .to_string();

    let shown: Value = as_admin(
        &b,
        reqwest::Method::GET,
        &format!("/api/admin/users/{user}"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(shown["email"], email.as_str());
    assert_eq!(shown["sessions"].as_array().unwrap().len(), 2, "{shown}");

    let path = format!("/api/admin/users/{user}/disable");
    for _ in 0..2 {
        let res = as_admin(&a, reqwest::Method::POST, &path).await;
        assert_eq!(res.status().as_u16(), 204, "idempotent");
    }
    refused_by_all(&[&a, &b], &on_a.access_token, "disabled").await;
    refused_by_all(&[&a, &b], &on_b.access_token, "disabled").await;
    assert_error(b.refresh(&on_b.refresh_token).await, 400, "invalid_grant").await;
    // The right password answers as a wrong one would.
    assert_error(a.login(&email, PASSWORD).await, 400, "invalid_grant").await;

    let res = as_admin(
        &b,
        reqwest::Method::POST,
        &format!("/api/admin/users/{user}/enable"),
    )
    .await;
    assert_eq!(res.status().as_u16(), 204);
    assert_eq!(a.login(&email, PASSWORD).await.status().as_u16(), 200);

    let metrics = metrics_text(&a).await;
    assert!(
        metrics.contains(r#"authd_admin_actions_total{action="disable"} 2"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_operator_ends_sessions_vouches_for_an_address_and_deletes() {
    let app = admin_app().await;
    let (email, tokens) = app.signed_in_user().await;
    let user = claims_of(&tokens.access_token)["sub"]
        .as_str()
        .unwrap()
        .to_string();

    let res = as_admin(
        &app,
        reqwest::Method::POST,
        &format!("/api/admin/users/{user}/logout-all"),
    )
    .await;
    assert_eq!(res.status().as_u16(), 204);
    refused_by_all(&[&app], &tokens.access_token, "logged out by an operator").await;

    let res = as_admin(
        &app,
        reqwest::Method::POST,
        &format!("/api/admin/users/{user}/verify-email"),
    )
    .await;
    assert_eq!(res.status().as_u16(), 204);
    let fresh = app.login_tokens(&email).await;
    let me: Value = app.me(&fresh.access_token).await;
    assert_eq!(me["email_verified"], true);

    for _ in 0..2 {
        let res = as_admin(
            &app,
            reqwest::Method::DELETE,
            &format!("/api/admin/users/{user}"),
        )
        .await;
        assert_eq!(res.status().as_u16(), 204, "idempotent");
    }
    refused_by_all(&[&app], &fresh.access_token, "deleted by an operator").await;
    let res = as_admin(
        &app,
        reqwest::Method::GET,
        &format!("/api/admin/users/{user}"),
    )
    .await;
    assert_error(res, 404, "not_found").await;
    let res = as_admin(
        &app,
        reqwest::Method::POST,
        &format!("/api/admin/users/{user}/disable"),
    )
    .await;
    assert_error(res, 404, "not_found").await;
    assert_eq!(app.register(&email, PASSWORD).await.status().as_u16(), 201);
}
