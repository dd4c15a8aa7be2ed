use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn logout_with_a_bearer_token_ends_that_session() {
    let app = spawn_app().await;
    let (_, t) = app.signed_in_user().await;
    assert_eq!(
        app.post_with("/api/logout", &t.access_token).await.status(),
        204
    );
    let (_, body) = error_of(app.refresh(&t.refresh_token).await).await;
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(app.guard_status(&t.access_token).await, 401);
    // Idempotent.
    assert_eq!(
        app.post_with("/api/logout", &t.access_token).await.status(),
        204
    );
}

#[tokio::test]
async fn logout_with_a_refresh_token_ends_that_session() {
    let app = spawn_app().await;
    let (_, t) = app.signed_in_user().await;
    let body = json!({"refresh_token": t.refresh_token});
    assert_eq!(app.post_json("/api/logout", &body).await.status(), 204);
    assert_eq!(app.refresh(&t.refresh_token).await.status(), 400);
    assert_eq!(app.guard_status(&t.access_token).await, 401);
    assert_eq!(app.post_json("/api/logout", &body).await.status(), 204);
}

#[tokio::test]
async fn logout_with_an_unknown_refresh_token_is_still_204() {
    let app = spawn_app().await;
    let unknown = authd::sessions::RefreshToken::generate(uuid::Uuid::new_v4()).expose();
    let res = app.logout_refresh(&unknown, None).await;
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn logout_with_a_malformed_refresh_token_and_no_bearer_is_400() {
    let app = spawn_app().await;
    let res = app.logout_refresh("whatever", None).await;
    assert_error(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn logout_with_a_malformed_refresh_token_ends_the_bearers_session() {
    let app = spawn_app().await;
    let (_, t) = app.signed_in_user().await;
    let res = app
        .logout_refresh("not-a-refresh-token", Some(&t.access_token))
        .await;
    assert_eq!(res.status(), 204);
    assert_error(app.refresh(&t.refresh_token).await, 400, "invalid_grant").await;
    assert_eq!(app.guard_status(&t.access_token).await, 401);
}

#[tokio::test]
async fn logout_without_any_credential_is_401() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/logout"))
        .send()
        .await
        .unwrap();
    let (status, body) = error_of(res).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_token"))
    );
}

#[tokio::test]
async fn logout_ends_only_the_named_session() {
    let app = spawn_app().await;
    let (email, a) = app.signed_in_user().await;
    let b = app.login_tokens(&email).await;
    assert_eq!(
        app.post_with("/api/logout", &a.access_token).await.status(),
        204
    );
    assert_eq!(app.guard_status(&b.access_token).await, 200);
    app.refreshed(&b.refresh_token).await;
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_user_and_no_other() {
    let app = spawn_app().await;
    let (email, a) = app.signed_in_user().await;
    let b = app.login_tokens(&email).await;
    let (_, other) = app.signed_in_user().await;
    assert_eq!(
        app.post_with("/api/logout-all", &a.access_token)
            .await
            .status(),
        204
    );
    for t in [&a, &b] {
        assert_eq!(app.guard_status(&t.access_token).await, 401);
        assert_eq!(app.refresh(&t.refresh_token).await.status(), 400);
    }
    assert_eq!(app.guard_status(&other.access_token).await, 200);
    // The user can log in again afterwards.
    let c = app.login_tokens(&email).await;
    assert_eq!(app.guard_status(&c.access_token).await, 200);
}

#[tokio::test]
async fn logout_all_needs_a_bearer_token() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/logout-all"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}
