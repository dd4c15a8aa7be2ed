//! A user's identities at providers (`/api/identities`), and accounts
//! without a password: linking and unlinking (never the last way in, never
//! another user's identity), the ID token in place of the password for a
//! password change or a deletion, a reset mail adding a password, and what
//! `/api/me` and the admin view show.

use std::time::Duration;

use serde_json::{json, Value};

use crate::federation::*;
use crate::helpers::*;
use authd_test_support::smtp::SmtpCatcher;

async fn link(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    with_token(
        app,
        reqwest::Method::POST,
        "/api/identities",
        token,
        Some(body),
    )
    .await
}

async fn unlink(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    with_token(app, reqwest::Method::DELETE, path, token, None).await
}

async fn change_password(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    with_token(
        app,
        reqwest::Method::POST,
        "/api/password",
        token,
        Some(body),
    )
    .await
}

async fn identities(app: &TestApp, token: &str) -> Vec<Value> {
    let res = with_token(app, reqwest::Method::GET, "/api/identities", token, None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["identities"].as_array().unwrap().clone()
}

/// A fresh Google ID token for `sub` (no address), and its nonce, as the
/// body fields of a request.
fn google_token(providers: &Providers, sub: &str) -> Value {
    let nonce = fresh_nonce();
    let token = providers
        .google
        .sign(&providers.google.claims(GOOGLE_IOS, sub, &nonce));
    json!({"provider": "google", "id_token": token, "nonce": nonce})
}

/// A user made by an Apple sign-in: the sub, the address, the tokens.
async fn apple_user(providers: &Providers, app: &TestApp) -> (String, String, Tokens) {
    let (sub, email) = (fresh_sub(), relay_address());
    let nonce = fresh_nonce();
    let token = providers
        .apple
        .sign(&apple_claims(&providers.apple, &sub, &email, &nonce));
    let tokens = signed_in(app, "apple", &token, &nonce).await;
    (sub, email, tokens)
}

fn apple_token(providers: &Providers, sub: &str) -> Value {
    let nonce = fresh_nonce();
    let token = providers
        .apple
        .sign(&providers.apple.claims(APPLE_BUNDLE, sub, &nonce));
    json!({"provider": "apple", "id_token": token, "nonce": nonce})
}

#[tokio::test]
async fn a_user_links_another_provider_and_signs_in_with_either() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let (_, email, tokens) = apple_user(&providers, &app).await;
    let user = claims_of(&tokens.access_token)["sub"].clone();
    let listed = identities(&app, &tokens.access_token).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["provider"], "apple");
    assert_eq!(listed[0]["email"], json!(email));

    let google_sub = fresh_sub();
    let res = link(
        &app,
        &tokens.access_token,
        google_token(&providers, &google_sub),
    )
    .await;
    assert_eq!(res.status(), 201);
    let linked: Value = res.json().await.unwrap();
    assert_eq!(linked["provider"], "google");
    assert_eq!(linked["subject"], json!(google_sub));
    // Linking it again is the same answer.
    let res = link(
        &app,
        &tokens.access_token,
        google_token(&providers, &google_sub),
    )
    .await;
    assert_eq!(res.status(), 201);
    assert_eq!(identities(&app, &tokens.access_token).await.len(), 2);

    // Google now signs the same user in.
    let body = google_token(&providers, &google_sub);
    let res = app.post_json("/api/login/id-token", &body).await;
    assert_eq!(res.status(), 200);
    let via_google: Tokens = res.json().await.unwrap();
    assert_eq!(claims_of(&via_google.access_token)["sub"], user);

    let me: Value = app.me(&tokens.access_token).await;
    assert_eq!(me["providers"], json!(["apple", "google"]));
}

#[tokio::test]
async fn another_users_identity_cannot_be_linked() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let (victim_sub, _, _) = apple_user(&providers, &app).await;
    let (_, attacker) = app.signed_in_user().await;
    let res = link(
        &app,
        &attacker.access_token,
        apple_token(&providers, &victim_sub),
    )
    .await;
    assert_error(res, 409, "identity_in_use").await;
    assert!(identities(&app, &attacker.access_token).await.is_empty());
}

#[tokio::test]
async fn the_last_way_in_cannot_be_unlinked_and_two_unlinks_at_once_leave_one() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let (_, _, tokens) = apple_user(&providers, &app).await;
    let only = identities(&app, &tokens.access_token).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/identities/{only}");
    let res = unlink(&app, &path, &tokens.access_token).await;
    assert_error(res, 409, "last_sign_in_method").await;

    // With a second identity, either may go, but not both at once.
    let res = link(
        &app,
        &tokens.access_token,
        google_token(&providers, &fresh_sub()),
    )
    .await;
    assert_eq!(res.status(), 201);
    let ids: Vec<String> = identities(&app, &tokens.access_token)
        .await
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    let unlinks = ids.iter().map(|id| {
        let path = format!("/api/identities/{id}");
        let app = &app;
        let token = tokens.access_token.clone();
        async move {
            with_token(app, reqwest::Method::DELETE, &path, &token, None)
                .await
                .status()
                .as_u16()
        }
    });
    let mut statuses = futures::future::join_all(unlinks).await;
    statuses.sort();
    assert_eq!(statuses, [204, 409]);
    assert_eq!(identities(&app, &tokens.access_token).await.len(), 1);

    // Someone else's identity, or none: 404, and it stays.
    let (_, _, other) = apple_user(&providers, &app).await;
    let others = identities(&app, &other.access_token).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/api/identities/{others}");
    let res = unlink(&app, &path, &tokens.access_token).await;
    assert_eq!(res.status(), 404);
    assert_eq!(identities(&app, &other.access_token).await.len(), 1);
    let res = with_token(
        &app,
        reqwest::Method::DELETE,
        "/api/identities/not-a-uuid",
        &tokens.access_token,
        None,
    )
    .await;
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn a_password_account_unlinks_its_only_identity() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let (_, tokens) = app.signed_in_user().await;
    let res = link(
        &app,
        &tokens.access_token,
        google_token(&providers, &fresh_sub()),
    )
    .await;
    let linked: Value = res.json().await.unwrap();
    let path = format!("/api/identities/{}", linked["id"].as_str().unwrap());
    let res = unlink(&app, &path, &tokens.access_token).await;
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn an_account_without_a_password_changes_it_and_deletes_itself_with_a_fresh_id_token() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let (sub, email, tokens) = apple_user(&providers, &app).await;

    // No password to give; a token of another identity, or a password, is
    // refused.
    let mut body = apple_token(&providers, &fresh_sub());
    body["new_password"] = json!(PASSWORD);
    let res = change_password(&app, &tokens.access_token, body).await;
    assert_error(res, 400, "invalid_grant").await;
    let res = change_password(
        &app,
        &tokens.access_token,
        json!({"current_password": "anything at all", "new_password": PASSWORD}),
    )
    .await;
    assert_error(res, 400, "invalid_grant").await;
    // Both proofs at once: which one was meant?
    let mut both = apple_token(&providers, &sub);
    both["current_password"] = json!("anything at all");
    both["new_password"] = json!(PASSWORD);
    let res = change_password(&app, &tokens.access_token, both).await;
    assert_error(res, 400, "invalid_request").await;

    // A fresh token of its own identity adds the password.
    let mut body = apple_token(&providers, &sub);
    body["new_password"] = json!(PASSWORD);
    let res = change_password(&app, &tokens.access_token, body).await;
    assert_eq!(res.status(), 204);
    let by_password = app.login_tokens(&email).await;

    // Deletion the same way.
    let res = with_token(
        &app,
        reqwest::Method::DELETE,
        "/api/account",
        &by_password.access_token,
        Some(apple_token(&providers, &sub)),
    )
    .await;
    assert_eq!(res.status(), 204);
    assert_error(app.login(&email, PASSWORD).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn an_id_token_older_than_ten_minutes_does_not_stand_in_for_the_password() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let (sub, _, tokens) = apple_user(&providers, &app).await;
    let nonce = fresh_nonce();
    let mut claims = providers.apple.claims(APPLE_BUNDLE, &sub, &nonce);
    let now = claims["iat"].as_u64().unwrap();
    claims["iat"] = json!(now - 700);
    let token = providers.apple.sign(&claims);
    let res = with_token(
        &app,
        reqwest::Method::DELETE,
        "/api/account",
        &tokens.access_token,
        Some(json!({"provider": "apple", "id_token": token, "nonce": nonce})),
    )
    .await;
    let body = assert_error(res, 400, "invalid_grant").await;
    assert!(body["error_description"]
        .as_str()
        .unwrap()
        .contains("10 minutes"));
}

#[tokio::test]
async fn a_reset_mail_adds_a_password_to_an_account_made_by_a_provider() {
    let catcher = SmtpCatcher::start();
    let providers = Providers::start().await;
    let app = providers.app().mail_to(&catcher).spawn().await;
    let (_, email, _) = apple_user(&providers, &app).await;
    let res = app
        .post_json("/api/password/forgot", &json!({ "email": email }))
        .await;
    assert_eq!(res.status(), 202);
    let mails = catcher
        .wait_for_mail(&email, "reset-password?token=", 1, Duration::from_secs(15))
        .await;
    let token = mails[0].token().unwrap();
    let res = app
        .post_json(
            "/api/password/reset",
            &json!({ "token": token, "new_password": PASSWORD }),
        )
        .await;
    assert_eq!(res.status(), 204);
    app.login_tokens(&email).await;
}

#[tokio::test]
async fn the_admin_view_lists_identities_and_an_operator_unlinks_one() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let (sub, _, tokens) = apple_user(&providers, &app).await;
    let user = claims_of(&tokens.access_token)["sub"]
        .as_str()
        .unwrap()
        .to_string();
    let admin_get = as_admin(
        &app,
        ADMIN_SECRET,
        reqwest::Method::GET,
        &format!("/api/admin/users/{user}"),
    )
    .await;
    let view: Value = admin_get.json().await.unwrap();
    let listed = view["identities"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["subject"], json!(sub));
    let id = listed[0]["id"].as_str().unwrap();
    for _ in 0..2 {
        let res = as_admin(
            &app,
            ADMIN_SECRET,
            reqwest::Method::DELETE,
            &format!("/api/admin/users/{user}/identities/{id}"),
        )
        .await;
        assert_eq!(res.status(), 204);
    }
    assert!(identities(&app, &tokens.access_token).await.is_empty());
    // The identity is free again: it signs in as a new account.
    let body = apple_token(&providers, &sub);
    let res = app.post_json("/api/login/id-token", &body).await;
    let again: Tokens = res.json().await.unwrap();
    assert_ne!(claims_of(&again.access_token)["sub"], json!(user));
}

#[tokio::test]
async fn an_account_without_an_address_shows_none_and_queues_no_mail() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let sub = fresh_sub();
    let body = google_token(&providers, &sub);
    let res = app.post_json("/api/login/id-token", &body).await;
    let tokens: Tokens = res.json().await.unwrap();
    let me: Value = app.me(&tokens.access_token).await;
    assert_eq!(me["email"], Value::Null);
    assert_eq!(me["email_verified"], json!(false));
    assert_eq!(me["providers"], json!(["google"]));

    // Deleting it would mail a confirmation: there is nobody to mail.
    let res = with_token(
        &app,
        reqwest::Method::DELETE,
        "/api/account",
        &tokens.access_token,
        Some(google_token(&providers, &sub)),
    )
    .await;
    assert_eq!(res.status(), 204);
    let unaddressed: i64 = app
        .state
        .connections
        .sql
        .run(|pool| async move {
            use sqlx::Row;
            sqlx::query("SELECT COUNT(*) AS n FROM mail_outbox WHERE recipient = ''")
                .fetch_one(&pool)
                .await?
                .try_get("n")
        })
        .await
        .unwrap();
    assert_eq!(unaddressed, 0);
}

#[tokio::test]
async fn introspection_lists_the_users_providers() {
    let secret = "an-introspection-secret-of-32-bytes-or-more";
    let providers = Providers::start().await;
    let app = providers
        .app()
        .var("AUTHD_INTROSPECTION_SECRETS", secret)
        .spawn()
        .await;
    let (_, _, tokens) = apple_user(&providers, &app).await;
    for token in [&tokens.access_token, &tokens.refresh_token] {
        let res = app
            .client
            .post(app.url("/api/introspect"))
            .bearer_auth(secret)
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["active"], json!(true));
        assert_eq!(body["providers"], json!(["apple"]), "{body}");
    }
}
