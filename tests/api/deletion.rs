//! `DELETE /api/account`: the account goes with everything of it, on every
//! instance at once, and the address can register again.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use authd_test_support::smtp::SmtpCatcher;

async fn delete_account(app: &TestApp, access_token: &str, password: &str) -> reqwest::Response {
    app.client
        .delete(app.url("/api/account"))
        .bearer_auth(access_token)
        .json(&json!({ "password": password }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_deleted_account_is_gone_everywhere_and_its_address_is_free() {
    let catcher = SmtpCatcher::start();
    let a = app().mail_to(&catcher).spawn().await;
    let b = app().sharing(&a).spawn().await;
    let (email, on_a) = a.signed_in_user().await;
    let on_b = b.login_tokens(&email).await;
    let user = user_key_of(&on_a.access_token);

    let wrong = delete_account(&a, &on_a.access_token, "not the password").await;
    let body = assert_error(wrong, 400, "invalid_grant").await;
    assert_eq!(body["error_description"], "the current password is wrong");
    accepted_by(&[&a, &b], &on_b.access_token).await;

    let res = delete_account(&a, &on_a.access_token, PASSWORD).await;
    assert_eq!(res.status().as_u16(), 204);
    refused_by_all(&[&a, &b], &on_a.access_token, "after deletion").await;
    refused_by_all(&[&a, &b], &on_b.access_token, "after deletion").await;
    refresh_refused(&[(&a, &on_a), (&b, &on_b)]).await;
    assert_error(a.login(&email, PASSWORD).await, 400, "invalid_grant").await;

    // Of the user, Redis keeps only the marker that fences off logins still
    // in flight, for minutes.
    let left: Vec<(String, i64)> = a
        .redis_dump()
        .await
        .into_iter()
        .filter(|(key, _, _)| key.contains(&user))
        .map(|(key, ttl, _)| (key, ttl))
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].0.ends_with(":credential"), "{left:?}");
    assert!(left[0].1 > 0 && left[0].1 <= 300_000, "{left:?}");

    catcher
        .wait_for_mail(&email, "was deleted", 1, Duration::from_secs(15))
        .await;

    assert_eq!(b.register(&email, PASSWORD).await.status().as_u16(), 201);
    let again = b.login_tokens(&email).await;
    assert_ne!(user_key_of(&again.access_token), user);
    accepted_by(&[&a, &b], &again.access_token).await;
}

#[tokio::test]
async fn a_deletion_repeated_after_a_lost_answer_is_a_clean_401() {
    for check in ["session", "signature"] {
        let app = app().var("AUTHD_ACCESS_TOKEN_CHECK", check).spawn().await;
        let (email, tokens) = app.signed_in_user().await;
        let first = delete_account(&app, &tokens.access_token, PASSWORD).await;
        assert_eq!(first.status().as_u16(), 204, "{check}");
        let again = delete_account(&app, &tokens.access_token, PASSWORD).await;
        assert_error(again, 401, "invalid_token").await;
        assert_error(app.login(&email, PASSWORD).await, 400, "invalid_grant").await;
    }
}

#[tokio::test]
async fn deletion_needs_a_token_and_a_password() {
    let app = spawn_app().await;
    let (_, tokens) = app.signed_in_user().await;
    let res = app
        .client
        .delete(app.url("/api/account"))
        .json(&json!({ "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "invalid_token").await;
    let res = app
        .client
        .delete(app.url("/api/account"))
        .bearer_auth(&tokens.access_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "invalid_request").await;
    assert_eq!(app.guard_status(&tokens.access_token).await, 200);
}
