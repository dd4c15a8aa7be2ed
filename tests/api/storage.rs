//! The Redis invariants: TTLs everywhere, no tokens at rest, constant memory,
//! one hash tag per user, one round trip per refresh.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::*;

/// The secret parts a token carries, as they could appear in Redis.
fn token_fragments(token: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    let mut out = vec![token.to_string()];
    if let Ok(raw) = URL_SAFE_NO_PAD.decode(token) {
        if raw.len() == 80 {
            for part in [&raw[32..48], &raw[48..80]] {
                out.push(URL_SAFE_NO_PAD.encode(part));
                out.push(STANDARD.encode(part));
                out.push(part.iter().map(|b| format!("{b:02x}")).collect());
            }
        }
    }
    out
}

#[tokio::test]
async fn every_key_has_a_ttl_and_none_holds_a_token() {
    let app = app().var("AUTHD_REFRESH_REUSE_GRACE", 0).spawn().await;
    let mut issued = Vec::new();
    let (email, a0) = app.signed_in_user().await;
    let a1 = app.refreshed(&a0.refresh_token).await;
    let a2 = app.refreshed(&a1.refresh_token).await;
    let b0 = app.login_tokens(&email).await;
    let (_, c0) = app.signed_in_user().await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Reuse leaves a tombstone; logout and logout-all delete.
    assert_eq!(app.refresh(&c0.refresh_token).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(app.refresh(&c0.refresh_token).await.status(), 400);
    let (_, d0) = app.signed_in_user().await;
    app.post_with("/api/logout", &d0.access_token).await;
    issued.extend([a0, a1, a2, b0, c0, d0]);

    let dump = app.redis_dump().await;
    assert!(
        dump.len() >= 4,
        "sessions, indexes and a tombstone: {dump:?}"
    );
    for (key, ttl, values) in &dump {
        assert!(*ttl > 0, "{key} has no TTL ({ttl})");
        for t in &issued {
            for fragment in token_fragments(&t.refresh_token)
                .iter()
                .chain([&t.access_token])
            {
                assert!(!key.contains(fragment.as_str()), "{key} holds a token");
                for v in values {
                    assert!(!v.contains(fragment.as_str()), "{key} holds a token in {v}");
                }
            }
        }
    }
}

/// The keys of sessions, without the per-client registration counters
/// (which count for an hour by design; see the throttle tests).
fn session_keys(dump: Vec<(String, i64, Vec<String>)>) -> Vec<(String, i64, Vec<String>)> {
    dump.into_iter()
        .filter(|(key, _, _)| !key.ends_with(":register"))
        .collect()
}

#[tokio::test]
async fn keys_of_one_user_share_a_hash_tag_under_the_prefix() {
    let app = spawn_app().await;
    let (email, t) = app.signed_in_user().await;
    app.login_tokens(&email).await;
    app.refreshed(&t.refresh_token).await;
    let me: serde_json::Value = app
        .get_with("/api/me", &t.access_token)
        .await
        .json()
        .await
        .unwrap();
    let tag = format!("{{u:{}}}", me["id"].as_str().unwrap().replace('-', ""));
    let dump = session_keys(app.redis_dump().await);
    assert!(!dump.is_empty());
    for (key, _, _) in dump {
        assert!(key.starts_with(&app.prefix), "{key}");
        assert!(key.contains(&tag), "{key} lacks {tag}");
        // The tag is the only braces: Redis Cluster hashes exactly it.
        assert_eq!(key.matches('{').count(), 1);
    }
}

#[tokio::test]
async fn nothing_is_left_behind_once_sessions_expire() {
    let app = app()
        .var("AUTHD_REFRESH_TOKEN_TTL", 1)
        .var("AUTHD_REFRESH_REUSE_GRACE", 0)
        .spawn()
        .await;
    let (email, t0) = app.signed_in_user().await;
    let t1 = app.refreshed(&t0.refresh_token).await;
    app.login_tokens(&email).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    let (_, u0) = app.signed_in_user().await;
    app.refreshed(&u0.refresh_token).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(app.refresh(&u0.refresh_token).await.status(), 400); // tombstone
    assert!(!app.redis_dump().await.is_empty());
    let _ = t1;
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let left = session_keys(app.redis_dump().await);
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[tokio::test]
async fn session_memory_does_not_grow_with_refreshes() {
    let app = spawn_app().await;
    let (_, mut t) = app.signed_in_user().await;
    t = app.refreshed(&t.refresh_token).await;
    let after_one = memory_of(&app).await;
    for _ in 0..60 {
        t = app.refreshed(&t.refresh_token).await;
    }
    let after_many = memory_of(&app).await;
    assert_eq!(after_one.0, after_many.0, "same keys");
    assert!(
        after_many.1 <= after_one.1,
        "{} bytes after 61 refreshes vs {} after 1",
        after_many.1,
        after_one.1
    );
}

async fn memory_of(app: &TestApp) -> (usize, i64) {
    (app.redis_dump().await.len(), app.redis_memory().await)
}

/// Watches the commands clients send to a private Redis (script internals
/// are tagged `lua` by MONITOR and left out).
async fn client_commands_during<F: std::future::Future>(redis: &TestRedis, work: F) -> Vec<String> {
    let mut monitor = Command::new("redis-cli")
        .args(["-p", &redis.port.to_string(), "monitor"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("redis-cli monitor");
    tokio::time::sleep(Duration::from_millis(300)).await;
    work.await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = monitor.kill();
    let out = monitor.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        // Script internals, and the session tracker's heartbeat.
        .filter(|l| {
            l.contains('"')
                && !l.contains(" lua]")
                && !l.ends_with("\"PING\"")
                && !l.ends_with("\"ROLE\"")
        })
        .map(|l| {
            l.split_once(']')
                .map(|(_, c)| c.trim().to_string())
                .unwrap_or_default()
        })
        .collect()
}

#[tokio::test]
async fn a_refresh_costs_one_redis_round_trip_and_a_repeated_guarded_request_none() {
    let redis = TestRedis::start();
    let app = app().redis(&redis).spawn().await;
    let (email, t0) = app.signed_in_user().await;
    let t1 = app.refreshed(&t0.refresh_token).await; // loads the script
    let commands = client_commands_during(&redis, async {
        app.refreshed(&t1.refresh_token).await;
    })
    .await;
    assert_eq!(commands.len(), 1, "{commands:?}");
    assert!(
        commands[0].to_lowercase().starts_with("\"evalsha\""),
        "{commands:?}"
    );

    // The first guarded request reads the session once (on the tracking
    // connection); the next ones are answered from memory while Redis
    // tracks the key.
    let t2 = app.login_tokens(&email).await;
    let commands = client_commands_during(&redis, async {
        for _ in 0..5 {
            assert_eq!(
                app.get_with("/api/secure", &t2.access_token).await.status(),
                200
            );
        }
    })
    .await;
    assert!(commands.len() <= 1, "{commands:?}");
}

#[tokio::test]
async fn signature_mode_sends_nothing_to_redis_on_guarded_requests() {
    let redis = TestRedis::start();
    let app = app()
        .redis(&redis)
        .var("AUTHD_ACCESS_TOKEN_CHECK", "signature")
        .spawn()
        .await;
    let (_, t) = app.signed_in_user().await;
    let commands = client_commands_during(&redis, async {
        for _ in 0..5 {
            assert_eq!(
                app.get_with("/api/secure", &t.access_token).await.status(),
                200
            );
        }
    })
    .await;
    assert!(commands.is_empty(), "{commands:?}");
}
