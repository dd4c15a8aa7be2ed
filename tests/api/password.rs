//! Changing the password ends every other session.

use serde_json::json;

use crate::helpers::*;

const NEW: &str = "a brand new passphrase";

async fn change(app: &TestApp, access_token: &str, current: &str, new: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/password"))
        .bearer_auth(access_token)
        .json(&json!({"current_password": current, "new_password": new}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_password_change_replaces_the_hash_and_ends_the_other_sessions() {
    let app = spawn_app().await;
    let (email, me) = app.signed_in_user().await;
    let other = app.login_tokens(&email).await;
    assert_eq!(
        change(&app, &me.access_token, PASSWORD, NEW).await.status(),
        204
    );

    assert_error(app.login(&email, PASSWORD).await, 400, "invalid_grant").await;
    assert_eq!(app.login(&email, NEW).await.status(), 200);
    assert_eq!(
        app.get_with("/api/secure", &other.access_token)
            .await
            .status(),
        401
    );
    assert_error(
        app.refresh(&other.refresh_token).await,
        400,
        "invalid_grant",
    )
    .await;
    // The calling session stays.
    assert_eq!(
        app.get_with("/api/secure", &me.access_token).await.status(),
        200
    );
    app.refreshed(&me.refresh_token).await;
}

#[tokio::test]
async fn a_wrong_current_password_is_an_invalid_grant_and_counts_as_a_failed_login() {
    let app = app().var("AUTHD_LOGIN_MAX_FAILURES", 2).spawn().await;
    let (email, me) = app.signed_in_user().await;
    for _ in 0..2 {
        assert_error(
            change(&app, &me.access_token, "not my password", NEW).await,
            400,
            "invalid_grant",
        )
        .await;
    }
    assert_error(app.login(&email, PASSWORD).await, 429, "rate_limited").await;
    // Throttled: even the right current password is refused for now.
    assert_error(
        change(&app, &me.access_token, PASSWORD, NEW).await,
        429,
        "rate_limited",
    )
    .await;
}

#[tokio::test]
async fn the_new_password_follows_the_registration_rules() {
    let app = spawn_app().await;
    let (email, me) = app.signed_in_user().await;
    assert_error(
        change(&app, &me.access_token, PASSWORD, "short").await,
        400,
        "invalid_request",
    )
    .await;
    assert_error(
        change(&app, &me.access_token, PASSWORD, &"x".repeat(1025)).await,
        400,
        "invalid_request",
    )
    .await;
    let res = app
        .client
        .post(app.url("/api/password"))
        .bearer_auth(&me.access_token)
        .json(&json!({"new_password": NEW}))
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "invalid_request").await;
    // Nothing changed.
    assert_eq!(app.login(&email, PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_password_change_needs_a_bearer_token() {
    let app = spawn_app().await;
    let res = app
        .client
        .post(app.url("/api/password"))
        .json(&json!({"current_password": PASSWORD, "new_password": NEW}))
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "invalid_token").await;
}

#[tokio::test]
async fn no_session_made_with_the_old_password_outlives_the_change() {
    // Logins with the old password race the change, started every 10 ms
    // across it. Some read the old hash before the update but finish their
    // (queued) Argon2 check after the sessions were revoked: without a fence
    // they would keep a session made with the old password.
    let app = app().var("AUTHD_LOGIN_MAX_FAILURES", 50).spawn().await;
    let (email, me) = app.signed_in_user().await;
    let logins = futures::future::join_all((0..20u64).map(|i| {
        let (app, email) = (&app, &email);
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(10 * i)).await;
            app.login(email, PASSWORD).await
        }
    }));
    let (logins, changed) = tokio::join!(logins, change(&app, &me.access_token, PASSWORD, NEW));
    assert_eq!(changed.status(), 204);
    for res in logins {
        if res.status() == 200 {
            let t: Tokens = res.json().await.unwrap();
            assert_eq!(
                app.get_with("/api/secure", &t.access_token).await.status(),
                401
            );
        }
    }
}
