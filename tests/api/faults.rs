//! Redis failing under the service: each test owns its server.

use std::time::{Duration, Instant};

use futures::future::join_all;

use crate::helpers::*;

const BUDGET_MS: u64 = 400;

async fn app_on(redis: &TestRedis) -> TestApp {
    app()
        .redis(redis)
        .var("AUTHD_REDIS_TIMEOUT_MS", BUDGET_MS)
        .spawn()
        .await
}

async fn assert_unavailable(res: reqwest::Response, started: Instant, what: &str) {
    let elapsed = started.elapsed();
    let retry_after = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, body) = error_of(res).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (503, Some("temporarily_unavailable")),
        "{what}"
    );
    assert!(
        retry_after.is_some_and(|v| v.parse::<u64>().is_ok()),
        "{what}: Retry-After"
    );
    assert!(
        elapsed < Duration::from_millis(2 * BUDGET_MS + 600),
        "{what} took {elapsed:?}"
    );
}

#[tokio::test]
async fn a_frozen_redis_gives_quick_503s_and_service_resumes_after() {
    let redis = TestRedis::start();
    let app = app_on(&redis).await;
    let (email, t) = app.signed_in_user().await;
    redis.freeze();

    let started = Instant::now();
    let (refresh, login, guarded, ready) = tokio::join!(
        app.refresh(&t.refresh_token),
        app.login(&email, PASSWORD),
        app.guarded_request(&t.access_token),
        app.client.get(app.url("/readyz")).send(),
    );
    assert_unavailable(refresh, started, "refresh").await;
    assert_unavailable(login, started, "login").await;
    assert_unavailable(guarded, started, "guarded route").await;
    assert_eq!(ready.unwrap().status(), 503);
    assert_eq!(app.get_status("/healthz").await, 200);

    // 16 at once, of every kind: none hangs, none is a 500.
    let started = Instant::now();
    let burst = join_all((0..16).map(|i| {
        let (app, email, t) = (&app, &email, &t);
        async move {
            let res = match i % 3 {
                0 => app.refresh(&t.refresh_token).await,
                1 => app.login(email, PASSWORD).await,
                _ => app.guarded_request(&t.access_token).await,
            };
            (res, started.elapsed())
        }
    }))
    .await;
    let worst = burst
        .iter()
        .map(|(_, took)| *took)
        .max()
        .unwrap_or_default();
    for (res, _) in burst {
        assert_unavailable(res, started, "burst").await;
    }
    eprintln!(
        "frozen Redis, 16 concurrent requests: slowest 503 after {worst:?} (budget {BUDGET_MS} ms)"
    );

    redis.thaw();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // The session is intact. The refreshes sent while frozen may have run
    // once Redis woke up; then the grace window hands back their successor.
    let next = app.refreshed(&t.refresh_token).await;
    assert_eq!(next.session_id, t.session_id);
    assert_eq!(app.guard_status(&next.access_token).await, 200);
    assert_eq!(app.get_status("/readyz").await, 200);
}

#[tokio::test]
async fn a_restarted_redis_is_picked_up_without_restarting_authd() {
    let redis = TestRedis::start();
    let app = app_on(&redis).await;
    let (email, t) = app.signed_in_user().await;
    redis.kill();
    let started = Instant::now();
    assert_unavailable(
        app.refresh(&t.refresh_token).await,
        started,
        "refresh while down",
    )
    .await;
    assert_eq!(app.get_status("/readyz").await, 503);

    redis.restart();
    let started = Instant::now();
    let fresh = app
        .login_once_recovered(&email, Duration::from_secs(5))
        .await;
    eprintln!(
        "Redis restarted: first successful login {:?} after it answered PING",
        started.elapsed()
    );
    // The new server is empty: the old session is gone, the new one works.
    assert_eq!(app.refresh(&t.refresh_token).await.status(), 400);
    assert_eq!(app.guard_status(&fresh.access_token).await, 200);
}

#[tokio::test]
async fn signature_mode_keeps_guarding_without_redis() {
    let redis = TestRedis::start();
    let app = app()
        .redis(&redis)
        .var("AUTHD_ACCESS_TOKEN_CHECK", "signature")
        .spawn()
        .await;
    let (_, t) = app.signed_in_user().await;
    redis.kill();
    assert_eq!(app.guard_status(&t.access_token).await, 200);
}

#[tokio::test]
async fn a_database_slower_than_its_budget_gives_503() {
    use sqlx::Connection;
    let app = app().var("AUTHD_DATABASE_TIMEOUT_MS", 300).spawn().await;
    // Another session holds a lock the registration must wait for.
    sqlx::any::install_default_drivers();
    let mut blocker = sqlx::AnyConnection::connect(&app.database_url)
        .await
        .unwrap();
    let lock = if is_postgres(&app.database_url) {
        "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE"
    } else {
        "BEGIN EXCLUSIVE"
    };
    sqlx::raw_sql(lock).execute(&mut blocker).await.unwrap();
    let started = Instant::now();
    let res = app.register(&unique_email(), PASSWORD).await;
    let elapsed = started.elapsed();
    let retry_after = res.headers().get("retry-after").cloned();
    assert_error(res, 503, "temporarily_unavailable").await;
    assert!(retry_after.is_some());
    // Hashing (~0.1 s) may come before the write that waits.
    assert!(
        elapsed < Duration::from_millis(2 * 300 + 1500),
        "took {elapsed:?}"
    );
    sqlx::raw_sql("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap();
    // The lock is gone: service resumes.
    assert_eq!(app.register(&unique_email(), PASSWORD).await.status(), 201);
}

#[tokio::test]
async fn a_stopped_postgres_gives_503s_and_service_resumes_when_it_returns() {
    let pg = TestPostgres::start();
    let database = create_postgres_database(&pg.admin_url()).await;
    let app = app()
        .var("AUTHD_DATABASE_URL", &database)
        .var("AUTHD_DATABASE_TIMEOUT_MS", 500)
        .spawn()
        .await;
    let (email, t) = app.signed_in_user().await;
    pg.stop();

    // The first requests meet the pool's dead connections: bounded too.
    let started = Instant::now();
    let res = app.register(&unique_email(), PASSWORD).await;
    let hashing = Duration::from_millis(500); // registration hashes before it writes
    assert!(
        started.elapsed() < Duration::from_millis(2 * 500 + 600) + hashing,
        "took {:?}",
        started.elapsed()
    );
    assert_error(res, 503, "temporarily_unavailable").await;
    let started = Instant::now();
    let res = app.login(&email, PASSWORD).await;
    assert!(
        started.elapsed() < Duration::from_millis(2 * 500 + 600),
        "took {:?}",
        started.elapsed()
    );
    assert_error(res, 503, "temporarily_unavailable").await;
    assert_eq!(app.get_status("/readyz").await, 503);
    assert_eq!(app.get_status("/healthz").await, 200);
    // Sessions live in Redis: refresh and the guard keep working.
    let t = app.refreshed(&t.refresh_token).await;
    assert_eq!(app.guard_status(&t.access_token).await, 200);
    // Failed logins during the outage were not counted against the user.
    for _ in 0..6 {
        assert_eq!(app.login(&email, PASSWORD).await.status(), 503);
    }

    pg.start_again();
    app.login_once_recovered(&email, Duration::from_secs(10))
        .await;
    assert_eq!(app.register(&unique_email(), PASSWORD).await.status(), 201);
    assert_eq!(app.get_status("/readyz").await, 200);
}

#[tokio::test]
async fn a_flushed_redis_forgets_sessions_and_revives_nothing() {
    let redis = TestRedis::start();
    let app = app()
        .redis(&redis)
        .var("AUTHD_REFRESH_REUSE_GRACE", 0)
        .spawn()
        .await;
    let (email, t0) = app.signed_in_user().await;
    let t1 = app.refreshed(&t0.refresh_token).await;
    let (_, gone) = app.signed_in_user().await;
    app.post_with("/api/logout", &gone.access_token).await;
    assert!(redis.cli(&["flushall"]).contains("OK"));

    for token in [&t0.refresh_token, &t1.refresh_token, &gone.refresh_token] {
        assert_error(app.refresh(token).await, 400, "invalid_grant").await;
    }
    for access in [&t1.access_token, &gone.access_token] {
        assert_eq!(app.guard_status(access).await, 401);
    }
    // A fresh login works and nothing old came back with it.
    let fresh = app.login_tokens(&email).await;
    assert_eq!(app.guard_status(&fresh.access_token).await, 200);
    assert_eq!(app.guard_status(&t1.access_token).await, 401);
}

#[tokio::test]
async fn a_full_redis_with_noeviction_gives_503_not_500() {
    let redis = TestRedis::start();
    let app = app().redis(&redis).spawn().await;
    let (email, t) = app.signed_in_user().await;
    assert!(redis
        .cli(&["config", "set", "maxmemory", "1"])
        .contains("OK"));
    assert_error(
        app.login(&email, PASSWORD).await,
        503,
        "temporarily_unavailable",
    )
    .await;
    assert_error(
        app.refresh(&t.refresh_token).await,
        503,
        "temporarily_unavailable",
    )
    .await;
    assert!(redis
        .cli(&["config", "set", "maxmemory", "0"])
        .contains("OK"));
    assert_eq!(app.login(&email, PASSWORD).await.status(), 200);
}

/// A proxy's idle timeout, `CLIENT KILL` or a failover drops authd's Redis
/// connections while Redis itself stays up: no request pays for it.
#[tokio::test]
async fn a_killed_redis_connection_costs_no_request_a_503() {
    let redis = TestRedis::start();
    let app = app().redis(&redis).spawn().await;
    let (email, tokens) = app.signed_in_user().await;
    let mut tokens = app.refreshed(&tokens.refresh_token).await;
    for round in 0..3 {
        redis.cli(&["client", "kill", "type", "normal"]);
        assert_eq!(
            app.guard_status(&tokens.access_token).await,
            200,
            "guard after kill {round}"
        );
        redis.cli(&["client", "kill", "type", "normal"]);
        tokens = app.refreshed(&tokens.refresh_token).await;
        redis.cli(&["client", "kill", "type", "normal"]);
        assert_eq!(
            app.login(&email, PASSWORD).await.status(),
            200,
            "login {round}"
        );
    }
}

#[tokio::test]
async fn a_redis_that_lost_the_session_functions_gets_them_again() {
    // A node restarted without persistence, or flushed with FUNCTION FLUSH:
    // the next call loads the library again and goes on.
    let redis = TestRedis::start();
    let app = app().redis(&redis).spawn().await;
    let (_, t0) = app.signed_in_user().await;
    let t1 = app.refreshed(&t0.refresh_token).await;
    assert!(redis.cli(&["function", "flush"]).contains("OK"));
    assert!(!redis.cli(&["function", "list"]).contains("authd_sessions"));
    let t2 = app.refreshed(&t1.refresh_token).await;
    assert!(redis.cli(&["function", "list"]).contains("authd_sessions"));
    assert_eq!(app.guard_status(&t2.access_token).await, 200);
}
