//! Changing the password ends every other session, atomically against
//! concurrent changes and store failures.

use serde_json::json;

use crate::helpers::*;

const NEW: &str = "a brand new passphrase";

/// A user with two sessions, `me` having just changed the password to `NEW`.
async fn changed_on_one_of_two_sessions() -> (TestApp, String, Tokens, Tokens) {
    let app = spawn_app().await;
    let (email, me) = app.signed_in_user().await;
    let other = app.login_tokens(&email).await;
    assert_eq!(
        app.change_password(&me.access_token, PASSWORD, NEW)
            .await
            .status(),
        204
    );
    (app, email, me, other)
}

#[tokio::test]
async fn a_password_change_replaces_the_hash_and_ends_the_other_sessions() {
    let (app, email, me, other) = changed_on_one_of_two_sessions().await;

    let old = assert_error(app.login(&email, PASSWORD).await, 400, "invalid_grant").await;
    assert_eq!(old["error_description"], "the email or password is wrong");
    assert_eq!(app.login(&email, NEW).await.status(), 200);
    assert_eq!(app.guard_status(&other.access_token).await, 401);
    assert_error(
        app.refresh(&other.refresh_token).await,
        400,
        "invalid_grant",
    )
    .await;
    // The calling session stays.
    assert_eq!(app.guard_status(&me.access_token).await, 200);
    app.refreshed(&me.refresh_token).await;
}

#[tokio::test]
async fn a_wrong_current_password_is_an_invalid_grant_and_counts_as_a_failed_login() {
    let app = app().var("AUTHD_LOGIN_MAX_FAILURES", 2).spawn().await;
    let (email, me) = app.signed_in_user().await;
    for _ in 0..2 {
        let wrong = assert_error(
            app.change_password(&me.access_token, "not my password", NEW)
                .await,
            400,
            "invalid_grant",
        )
        .await;
        assert_eq!(wrong["error_description"], "the current password is wrong");
    }
    assert_error(app.login(&email, PASSWORD).await, 429, "rate_limited").await;
    // Throttled: even the right current password is refused for now.
    assert_error(
        app.change_password(&me.access_token, PASSWORD, NEW).await,
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
        app.change_password(&me.access_token, PASSWORD, "short")
            .await,
        400,
        "invalid_request",
    )
    .await;
    assert_error(
        app.change_password(&me.access_token, PASSWORD, &"x".repeat(1025))
            .await,
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
    let (logins, changed) =
        tokio::join!(logins, app.change_password(&me.access_token, PASSWORD, NEW));
    assert_eq!(changed.status(), 204);
    for res in logins {
        if res.status() == 200 {
            let t: Tokens = res.json().await.unwrap();
            assert_eq!(app.guard_status(&t.access_token).await, 401);
        }
    }
}

#[tokio::test]
async fn of_two_concurrent_changes_exactly_one_wins() {
    let app = spawn_app().await;
    for round in 0..3 {
        let (email, a) = app.signed_in_user().await;
        let b = app.login_tokens(&email).await;
        let (first, second) = tokio::join!(
            app.change_password(&a.access_token, PASSWORD, "first new passphrase"),
            app.change_password(&b.access_token, PASSWORD, "second new passphrase"),
        );
        let mut statuses = [first.status().as_u16(), second.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [204, 400], "round {round}");
        let logins = [
            app.login(&email, "first new passphrase").await.status(),
            app.login(&email, "second new passphrase").await.status(),
        ];
        assert_eq!(
            logins.iter().filter(|s| **s == 200).count(),
            1,
            "exactly the winner's password works: {logins:?}"
        );
    }
}

/// Redis refuses writes from `delay` after a change starts (a full,
/// non-evicting Redis), at moments spread over the whole change. Whatever
/// moment it hits, the account keeps working with the old or the new
/// password, and retrying the same request after a 503 works or answers
/// invalid_grant because the change did land.
#[tokio::test]
async fn a_change_that_fails_midway_never_locks_the_account_out() {
    let redis = TestRedis::start();
    let app = app().redis(&redis).spawn().await;
    let (mut hit_503, mut landed_then_503) = (0, 0);
    // Spread the faults over 1.5 times what an undisturbed change takes here.
    let mut spread_ms = 0;
    for step in 0..16u64 {
        let delay_ms = step * spread_ms / 10;
        let (email, me) = app.signed_in_user().await;
        // A first change, so that Redis knows a credential before the one
        // that fails.
        let started = std::time::Instant::now();
        assert_eq!(
            app.change_password(&me.access_token, PASSWORD, "an older passphrase")
                .await
                .status(),
            204
        );
        if step == 0 {
            spread_ms = started.elapsed().as_millis() as u64;
        }
        let old = "an older passphrase";
        let new = "the newest passphrase";
        // Another device, signed in before the change that fails.
        let other: Tokens = app.login(&email, old).await.json().await.unwrap();
        let request = app.change_password(&me.access_token, old, new);
        let fault = async {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            redis.cli(&["config", "set", "maxmemory", "1"]);
        };
        let (res, ()) = tokio::join!(request, fault);
        let status = res.status().as_u16();
        redis.cli(&["config", "set", "maxmemory", "0"]);
        assert!(status == 204 || status == 503, "{delay_ms} ms: {status}");

        let old_works = app.login(&email, old).await.status() == 200;
        let new_works = app.login(&email, new).await.status() == 200;
        assert!(
            old_works || new_works,
            "{delay_ms} ms: answered {status}, and neither password logs in"
        );
        if status == 503 {
            hit_503 += 1;
            if new_works {
                landed_then_503 += 1;
            }
            let retry = app.change_password(&me.access_token, old, new).await;
            let retried = retry.status().as_u16();
            assert!(
                retried == 204 || retried == 400,
                "{delay_ms} ms: retry {retried}"
            );
            if retried == 400 {
                assert_error(retry, 400, "invalid_grant").await;
            }
            assert_eq!(app.login(&email, new).await.status(), 200, "{delay_ms} ms");
        }
        // Whichever way it went, no session from before the change survives
        // it once the client has its answer.
        assert_error(
            app.refresh(&other.refresh_token).await,
            400,
            "invalid_grant",
        )
        .await;
    }
    eprintln!("{hit_503} of 16 changes answered 503, {landed_then_503} of them after SQL had the new hash");
    assert!(hit_503 > 0, "no fault landed inside a change");
}

#[tokio::test]
async fn a_retry_after_a_lost_answer_is_invalid_grant_and_the_change_stands() {
    let (app, email, me, other) = changed_on_one_of_two_sessions().await;
    // The client never saw that 204 and sends the same request again: the
    // change did land, so its current password is no longer current.
    assert_error(
        app.change_password(&me.access_token, PASSWORD, NEW).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_error(
        app.refresh(&other.refresh_token).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(app.login(&email, NEW).await.status(), 200);
    // Redis was not behind SQL: the caller's session was left alone.
    app.refreshed(&me.refresh_token).await;
}

/// The stored password hash of `email`, read from the database.
async fn stored_hash(app: &TestApp, email: &str) -> String {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let row = sqlx::query("SELECT password_hash FROM users WHERE email_normalized = $1")
        .bind(email.to_lowercase())
        .fetch_one(&db)
        .await
        .unwrap();
    db.close().await;
    row.get::<String, _>(0)
}

#[tokio::test]
async fn hashes_follow_the_configured_argon2_parameters_and_are_upgraded_at_login() {
    // An instance configured with other parameters makes its hashes with them.
    let light = app()
        .var("AUTHD_ARGON2_MEMORY_KIB", 8192)
        .var("AUTHD_ARGON2_ITERATIONS", 3)
        .var("AUTHD_HASHING_THREADS", 2)
        .spawn()
        .await;
    let (email, _) = light.signed_in_user().await;
    let made = stored_hash(&light, &email).await;
    assert!(made.contains("m=8192,t=3,p=1"), "{made}");

    // One with the defaults verifies it with its own parameters, and
    // rehashes it with the defaults at the next login, credential unchanged.
    let default = app().sharing(&light).spawn().await;
    let first = default.login_tokens(&email).await;
    use std::time::Duration;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let rehashed = loop {
        let now = stored_hash(&default, &email).await;
        if now != made {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "never rehashed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(rehashed.contains("m=19456,t=2,p=1"), "{rehashed}");
    // Not a password change: the session of that login lives on, the same
    // password logs in, and a hash with the parameters is left alone.
    assert_eq!(default.guard_status(&first.access_token).await, 200);
    default.login_tokens(&email).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(stored_hash(&default, &email).await, rehashed);
}
