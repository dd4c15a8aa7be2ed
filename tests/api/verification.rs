//! Email verification over real SMTP: registration mails a link, its token
//! verifies the address once, and access tokens, `/api/me` and
//! introspection say so.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;
use authd_test_support::smtp::SmtpCatcher;

const MAIL_WAIT: Duration = Duration::from_secs(15);
const INTROSPECTION_SECRET: &str = "an-introspection-secret-of-32-bytes-or-more";

async fn verify(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/email/verify", &json!({ "token": token }))
        .await
}

async fn resend(app: &TestApp, access_token: &str) -> reqwest::Response {
    app.post_with("/api/email/verify/resend", access_token)
        .await
}

async fn verified_per_me(app: &TestApp, access_token: &str) -> bool {
    let me: Value = app.me(access_token).await;
    me["email_verified"].as_bool().unwrap()
}

async fn link_token(catcher: &SmtpCatcher, email: &str, nth: usize) -> String {
    let mails = catcher
        .wait_for_mail(email, "verify-email?token=", nth, MAIL_WAIT)
        .await;
    mails[nth - 1].token().unwrap()
}

#[tokio::test]
async fn the_mailed_link_verifies_the_address_once_and_every_token_then_says_so() {
    let catcher = SmtpCatcher::start();
    let a = app()
        .mail_to(&catcher)
        .var("AUTHD_INTROSPECTION_SECRETS", INTROSPECTION_SECRET)
        .spawn()
        .await;
    let b = app()
        .sharing(&a)
        .var("AUTHD_INTROSPECTION_SECRETS", INTROSPECTION_SECRET)
        .spawn()
        .await;
    let (email, before) = a.signed_in_user().await;
    assert_eq!(claims_of(&before.access_token)["email_verified"], false);
    assert!(!verified_per_me(&a, &before.access_token).await);

    let token = link_token(&catcher, &email, 1).await;
    assert_eq!(verify(&b, &token).await.status().as_u16(), 204);
    assert_error(verify(&a, &token).await, 400, "invalid_grant").await;
    assert!(verified_per_me(&a, &before.access_token).await);

    // The session that existed before learns it at its next refresh, on
    // any instance; a new login carries it from the start.
    let refreshed = b.refreshed(&before.refresh_token).await;
    assert_eq!(claims_of(&refreshed.access_token)["email_verified"], true);
    let fresh = a.login_tokens(&email).await;
    assert_eq!(claims_of(&fresh.access_token)["email_verified"], true);

    for token in [&fresh.access_token, &fresh.refresh_token] {
        let introspected: Value = a
            .client
            .post(a.url("/api/introspect"))
            .bearer_auth(INTROSPECTION_SECRET)
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(introspected["email_verified"], true, "{introspected}");
    }
}

#[tokio::test]
async fn a_login_can_be_made_to_wait_for_a_verified_address() {
    let catcher = SmtpCatcher::start();
    let app = app()
        .mail_to(&catcher)
        .var("AUTHD_REQUIRE_VERIFIED_EMAIL", "true")
        .spawn()
        .await;
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status().as_u16(), 201);
    // A wrong password says no more than it always does.
    assert_error(
        app.login(&email, "not the password").await,
        400,
        "invalid_grant",
    )
    .await;
    assert_error(app.login(&email, PASSWORD).await, 403, "email_not_verified").await;
    let token = link_token(&catcher, &email, 1).await;
    assert_eq!(verify(&app, &token).await.status().as_u16(), 204);
    let tokens = app.login_tokens(&email).await;
    assert_eq!(claims_of(&tokens.access_token)["email_verified"], true);
}

#[tokio::test]
async fn a_new_link_replaces_the_older_is_throttled_and_ends_with_verification() {
    let catcher = SmtpCatcher::start();
    let app = app()
        .mail_to(&catcher)
        .var("AUTHD_MAIL_MAX_PER_ADDRESS", 2)
        .spawn()
        .await;
    let (email, tokens) = app.signed_in_user().await;
    let first = link_token(&catcher, &email, 1).await;
    let res = resend(&app, &tokens.access_token).await;
    assert_eq!(res.status().as_u16(), 202);
    let second = link_token(&catcher, &email, 2).await;
    assert_ne!(first, second);
    assert_eq!(
        resend(&app, &tokens.access_token).await.status().as_u16(),
        202
    );
    let throttled = resend(&app, &tokens.access_token).await;
    assert!(throttled.headers().contains_key("retry-after"));
    assert_error(throttled, 429, "rate_limited").await;

    let third = link_token(&catcher, &email, 3).await;
    for older in [&first, &second] {
        assert_error(verify(&app, older).await, 400, "invalid_grant").await;
    }
    assert_eq!(verify(&app, &third).await.status().as_u16(), 204);
    assert_error(
        resend(&app, &tokens.access_token).await,
        409,
        "already_verified",
    )
    .await;
    let garbage = assert_error(verify(&app, "made-up").await, 400, "invalid_grant").await;
    let said = garbage["error_description"].as_str().unwrap();
    assert!(
        said.starts_with("the verification token is unknown"),
        "{said}"
    );
    assert!(said.contains("/api/email/verify/resend"), "{said}");
}

#[tokio::test]
async fn two_uses_of_one_link_at_once_verify_once() {
    let catcher = SmtpCatcher::start();
    let a = app().mail_to(&catcher).spawn().await;
    let b = app().sharing(&a).spawn().await;
    let email = unique_email();
    a.register(&email, PASSWORD).await;
    let token = link_token(&catcher, &email, 1).await;
    let (one, other) = tokio::join!(verify(&a, &token), verify(&b, &token));
    let mut statuses = [one.status().as_u16(), other.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [204, 400]);
}

async fn resend_to(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json("/api/email/verify/resend", &json!({ "email": email }))
        .await
}

#[tokio::test]
async fn a_lost_link_is_replaced_by_address_without_logging_in_and_the_answer_tells_nothing() {
    let catcher = SmtpCatcher::start();
    let app = app()
        .mail_to(&catcher)
        .var("AUTHD_REQUIRE_VERIFIED_EMAIL", "true")
        .var("AUTHD_MAIL_MAX_PER_ADDRESS", "2")
        .spawn()
        .await;
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status(), 201);
    // The owner lost the first link, and cannot log in to ask for another.
    assert_error(app.login(&email, PASSWORD).await, 403, "email_not_verified").await;

    let mut answers = Vec::new();
    for address in [email.clone(), unique_email()] {
        let res = resend_to(&app, &address).await;
        answers.push((res.status().as_u16(), res.text().await.unwrap()));
    }
    assert_eq!(answers[0], (202, "{}".to_string()));
    assert_eq!(
        answers[0], answers[1],
        "the same answer for an address without an account"
    );

    // The second link works (the first was replaced); the login then does.
    let token = link_token(&catcher, &email, 2).await;
    assert_eq!(verify(&app, &token).await.status().as_u16(), 204);
    app.login_tokens(&email).await;
    // Nothing more is mailed to a verified address.
    assert_eq!(resend_to(&app, &email).await.status().as_u16(), 202);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(catcher.mail(&email, "verify-email?token=").len(), 2);

    // Throttled as a forgotten password: per address, whether or not it
    // has an account, the same answer.
    let stranger = unique_email();
    for address in [&email, &stranger] {
        for _ in 0..2 {
            resend_to(&app, address).await;
        }
        assert_error(resend_to(&app, address).await, 429, "rate_limited").await;
    }
    assert_error(
        app.post_json("/api/email/verify/resend", &json!({})).await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn a_password_reset_by_mail_verifies_the_address() {
    let catcher = SmtpCatcher::start();
    let app = app().mail_to(&catcher).spawn().await;
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status(), 201);
    let res = app
        .post_json("/api/password/forgot", &json!({ "email": email }))
        .await;
    assert_eq!(res.status(), 202);
    let mails = catcher
        .wait_for_mail(&email, "reset-password?token=", 1, MAIL_WAIT)
        .await;
    let res = app
        .post_json(
            "/api/password/reset",
            &json!({ "token": mails[0].token().unwrap(), "new_password": "a new passphrase 2" }),
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = app.login(&email, "a new passphrase 2").await;
    let tokens: Tokens = res.json().await.unwrap();
    assert_eq!(claims_of(&tokens.access_token)["email_verified"], true);
    assert!(verified_per_me(&app, &tokens.access_token).await);
}
