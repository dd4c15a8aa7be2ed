//! Session liveness answered from memory (Redis client-side tracking) must
//! never outlive the session: every way a session ends reaches the instance
//! that ended it at once and every other instance within a second; a flush,
//! killed connections and a Redis restart make instances ask Redis again.

use std::time::{Duration, Instant};

use crate::helpers::*;

/// Long enough for a new instance's tracking connection to be proven.
const TRACKING_STARTS: Duration = Duration::from_millis(250);

/// Three instances of one deployment, each having answered for `t` once
/// (so each holds its liveness in memory).
async fn three_instances_warm(t: &Tokens, a: &TestApp) -> (TestApp, TestApp) {
    let b = app().sharing(a).spawn().await;
    let c = app().sharing(a).spawn().await;
    // Give each liveness its first heartbeat, then read the session.
    tokio::time::sleep(TRACKING_STARTS).await;
    for _ in 0..2 {
        accepted_by(&[a, &b, &c], &t.access_token).await;
    }
    (b, c)
}

/// Ends `victim`'s session on `a` by `how`, then checks all three.
async fn assert_ended_everywhere(
    a: &TestApp,
    b: &TestApp,
    c: &TestApp,
    victim: &Tokens,
    what: &str,
) {
    // The instance that ended it: at once.
    assert_eq!(
        a.guard_status(&victim.access_token).await,
        401,
        "{what}: the instance that ended the session"
    );
    refused_by_all(&[b, c], &victim.access_token, what).await;
}

#[tokio::test]
async fn logout_reaches_every_instance() {
    let a = spawn_app().await;
    let (_, t) = a.signed_in_user().await;
    let (b, c) = three_instances_warm(&t, &a).await;
    assert_eq!(
        a.post_with("/api/logout", &t.access_token).await.status(),
        204
    );
    assert_ended_everywhere(&a, &b, &c, &t, "logout").await;
}

#[tokio::test]
async fn logout_all_session_deletion_and_password_change_reach_every_instance() {
    let a = spawn_app().await;
    let (email, keeper) = a.signed_in_user().await;

    let t = a.login_tokens(&email).await;
    let (b, c) = three_instances_warm(&t, &a).await;
    assert_eq!(
        a.end_session(&keeper.access_token, &t.session_id)
            .await
            .status(),
        204
    );
    assert_ended_everywhere(&a, &b, &c, &t, "session deletion").await;

    let t = a.login_tokens(&email).await;
    accepted_by(&[&a, &b, &c], &t.access_token).await;
    assert_eq!(
        a.change_password(&keeper.access_token, PASSWORD, "another fine passphrase")
            .await
            .status(),
        204
    );
    assert_ended_everywhere(&a, &b, &c, &t, "password change").await;

    accepted_by(&[&a, &b, &c], &keeper.access_token).await;
    assert_eq!(
        a.post_with("/api/logout-all", &keeper.access_token)
            .await
            .status(),
        204
    );
    assert_ended_everywhere(&a, &b, &c, &keeper, "logout-all").await;
}

#[tokio::test]
async fn reuse_detection_and_eviction_by_the_cap_reach_every_instance() {
    let a = app().var("AUTHD_MAX_SESSIONS_PER_USER", 2).spawn().await;
    let (email, t) = a.signed_in_user().await;
    let (b, c) = three_instances_warm(&t, &a).await;
    let t1 = a.refreshed(&t.refresh_token).await;
    // The grace window is 10 s: present a token two rotations old.
    let _t2 = a.refreshed(&t1.refresh_token).await;
    assert_eq!(a.refresh(&t.refresh_token).await.status(), 400);
    assert_ended_everywhere(&a, &b, &c, &t1, "reuse detection").await;

    let first = a.login_tokens(&email).await;
    let _second = a.login_tokens(&email).await;
    accepted_by(&[&a, &b, &c], &first.access_token).await;
    let _third = a.login_tokens(&email).await; // evicts `first`
    assert_ended_everywhere(&a, &b, &c, &first, "eviction by the cap").await;
}

#[tokio::test]
async fn an_expired_session_is_refused_everywhere() {
    let a = app().var("AUTHD_REFRESH_TOKEN_TTL", 1).spawn().await;
    let (_, t) = a.signed_in_user().await;
    let (b, c) = three_instances_warm(&t, &a).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    refused_by_all(&[&a, &b, &c], &t.access_token, "expiry").await;
}

#[tokio::test]
async fn flushall_reaches_every_instance() {
    let redis = TestRedis::start();
    let a = app().redis(&redis).spawn().await;
    let (_, t) = a.signed_in_user().await;
    let (b, c) = three_instances_warm(&t, &a).await;
    redis.cli(&["flushall"]);
    refused_by_all(&[&a, &b, &c], &t.access_token, "FLUSHALL").await;
}

#[tokio::test]
async fn killed_connections_then_a_logout_elsewhere_is_never_missed() {
    let redis = TestRedis::start();
    let a = app().redis(&redis).spawn().await;
    let (_, t) = a.signed_in_user().await;
    let (b, c) = three_instances_warm(&t, &a).await;
    // Every client connection dies, the trackers' included; at once, a
    // logout through another instance.
    redis.cli(&["client", "kill", "type", "normal"]);
    assert_eq!(
        b.post_with("/api/logout", &t.access_token).await.status(),
        204
    );
    for app in [&a, &c] {
        assert_eq!(
            app.guard_status(&t.access_token).await,
            401,
            "an instance whose tracking connection died must ask Redis"
        );
    }
}

#[tokio::test]
async fn a_redis_restarted_empty_never_lets_an_old_session_through() {
    let redis = TestRedis::start();
    let a = app()
        .redis(&redis)
        .var("AUTHD_REDIS_TIMEOUT_MS", 300)
        .spawn()
        .await;
    let (_, t) = a.signed_in_user().await;
    let (b, _c) = three_instances_warm(&t, &a).await;
    redis.kill();
    // An answer from memory in the instant before an instance sees its
    // tracking connection close would concern a session that had not ended;
    // once it has seen it (a few ms), it asks Redis, which is gone.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for app in [&a, &b] {
        let status = app.guard_status(&t.access_token).await;
        assert_eq!(status, 503, "while Redis is down");
    }
    redis.restart();
    let started = Instant::now();
    for app in [&a, &b] {
        loop {
            let status = app.guard_status(&t.access_token).await;
            assert_ne!(status, 200, "a session Redis no longer has");
            if status == 401 {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "{status}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn the_tracked_sessions_stay_within_the_bound() {
    let a = app().var("AUTHD_GUARD_CACHE_ENTRIES", 20).spawn().await;
    tokio::time::sleep(TRACKING_STARTS).await;
    let (email, _) = a.signed_in_user().await;
    for _ in 0..60 {
        let t = a.login_tokens(&email).await;
        assert_eq!(a.guard_status(&t.access_token).await, 200);
    }
    let held = a.state.connections.liveness.len();
    assert!(held <= 20, "{held} sessions held for a bound of 20");
}
