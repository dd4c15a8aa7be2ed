//! The Redis invariants: TTLs everywhere, no tokens at rest, constant memory,
//! one hash tag per user, one round trip per refresh.

use std::process::{Command, Stdio};
use std::time::Duration;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use deadpool_redis::redis;
use sha2::{Digest, Sha256};

use crate::helpers::*;

/// The secret parts a token carries, as they could appear in Redis: as
/// text, and raw.
fn token_fragments(token: &str) -> Vec<Vec<u8>> {
    let mut out = vec![token.as_bytes().to_vec()];
    if let Ok(raw) = URL_SAFE_NO_PAD.decode(token) {
        if raw.len() == 80 {
            for part in [&raw[32..48], &raw[48..80]] {
                out.push(URL_SAFE_NO_PAD.encode(part).into_bytes());
                out.push(STANDARD.encode(part).into_bytes());
                out.push(
                    part.iter()
                        .map(|b| format!("{b:02x}"))
                        .collect::<String>()
                        .into_bytes(),
                );
                out.push(part.to_vec());
            }
        }
    }
    out
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
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
            let mut fragments = token_fragments(&t.refresh_token);
            fragments.push(t.access_token.as_bytes().to_vec());
            for fragment in &fragments {
                assert!(!holds(key.as_bytes(), fragment), "{key} holds a token");
                for v in values {
                    assert!(!holds(v, fragment), "{key} holds a token in {v:?}");
                }
            }
        }
    }
}

/// Runs `command` on every user index of the app's prefix (what a
/// `maxmemory` policy or an operator could do to it); the sum of its replies.
async fn on_indexes(app: &TestApp, command: &str) -> i64 {
    let mut total = 0;
    for (node, keys) in app.redis_keys_by_node().await {
        let mut conn = redis_connection(&node).await;
        for key in keys.iter().filter(|k| k.ends_with(":sessions")) {
            let n: i64 = redis::cmd(command)
                .arg(key)
                .query_async(&mut conn)
                .await
                .unwrap();
            total += n;
        }
    }
    total
}

/// A user's index can vanish while a session lives (a `maxmemory` policy
/// evicting it, an operator's `DEL`). The next rotation writes it again, and
/// it must come back with a TTL: `PEXPIREAT … GT` alone sets none on a key
/// that has none.
#[tokio::test]
async fn a_rotation_that_rewrites_a_lost_index_gives_it_a_ttl() {
    let app = spawn_app().await;
    let (_, t0) = app.signed_in_user().await;
    assert_eq!(on_indexes(&app, "DEL").await, 1, "the user's index");
    let t1 = app.refreshed(&t0.refresh_token).await;
    let dump = app.redis_dump().await;
    let index = dump
        .iter()
        .find(|(key, _, _)| key.ends_with(":sessions"))
        .expect("the rotation indexes the session again");
    assert_eq!(index.2.len(), 2, "one session and its score: {index:?}");
    for (key, ttl, _) in &dump {
        assert!(*ttl > 0, "{key} has no TTL ({ttl})");
    }
    // And the index still serves: the session is listed.
    assert_eq!(app.sessions(&t1.access_token).await.len(), 1);
}

/// An index without a TTL (as a rotation before that fix could leave one)
/// gets one back at the user's next login.
#[tokio::test]
async fn a_login_gives_an_index_without_a_ttl_its_ttl_back() {
    let app = spawn_app().await;
    let (email, _) = app.signed_in_user().await;
    assert_eq!(
        on_indexes(&app, "PERSIST").await,
        1,
        "the user's index had a TTL to remove"
    );
    app.login_tokens(&email).await;
    let (index, longest) = index_and_longest_session(&app.redis_dump().await);
    assert!(
        index > 0 && (index - longest).abs() < 1000,
        "index {index} ms, longest session {longest} ms"
    );
}

/// The index's TTL and the longest expiry among the sessions of its dump.
fn index_and_longest_session(dump: &Dump) -> (i64, i64) {
    let index = dump
        .iter()
        .find(|(key, _, _)| key.ends_with(":sessions"))
        .map(|(_, ttl, _)| *ttl)
        .expect("an index");
    let longest = dump
        .iter()
        .filter(|(key, _, _)| key.contains(":s:"))
        .map(|(_, ttl, _)| *ttl)
        .max()
        .expect("a session");
    (index, longest)
}

/// The index lives exactly as long as its longest session, also when the
/// newest session is not the longest (an instance with a shorter idle
/// lifetime logs in beside one with a longer) and when the cap ends the
/// longest one.
#[tokio::test]
async fn the_index_lives_exactly_as_long_as_its_longest_session() {
    let long = app().var("AUTHD_REFRESH_TOKEN_TTL", 600).spawn().await;
    let short = app()
        .var("AUTHD_REFRESH_TOKEN_TTL", 60)
        .sharing(&long)
        .spawn()
        .await;
    let (email, _) = long.signed_in_user().await;
    short.login_tokens(&email).await;
    let (index, longest) = index_and_longest_session(&long.redis_dump().await);
    assert!(longest > 590_000, "the long session: {longest} ms");
    assert!(
        (index - longest).abs() < 1000,
        "index {index} ms, longest session {longest} ms"
    );

    // A cap of one: the short instance's login ends the long session, and the
    // index shrinks to the short one's lifetime.
    let long = app().var("AUTHD_REFRESH_TOKEN_TTL", 600).spawn().await;
    let capped = app()
        .var("AUTHD_REFRESH_TOKEN_TTL", 60)
        .var("AUTHD_MAX_SESSIONS_PER_USER", 1)
        .sharing(&long)
        .spawn()
        .await;
    let (email, first) = long.signed_in_user().await;
    capped.login_tokens(&email).await;
    assert_error(
        long.refresh(&first.refresh_token).await,
        400,
        "invalid_grant",
    )
    .await;
    let (index, longest) = index_and_longest_session(&long.redis_dump().await);
    assert!(
        longest < 61_000,
        "only the short session is left: {longest} ms"
    );
    assert!(
        (index - longest).abs() < 1000,
        "index {index} ms, longest session {longest} ms"
    );
}

/// The keys of sessions, without the per-client registration counters
/// (which count for an hour by design; see the throttle tests).
type Dump = Vec<(String, i64, Vec<Vec<u8>>)>;

fn session_keys(dump: Dump) -> Dump {
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
    let me: serde_json::Value = app.me(&t.access_token).await;
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
    let t1 = app.refreshed(&t0.refresh_token).await; // the library is loaded
    let commands = client_commands_during(&redis, async {
        app.refreshed(&t1.refresh_token).await;
    })
    .await;
    assert_eq!(commands.len(), 1, "{commands:?}");
    assert!(
        commands[0].to_lowercase().starts_with("\"fcall\""),
        "{commands:?}"
    );

    // The first guarded request reads the session once (on the tracking
    // connection); the next ones are answered from memory while Redis
    // tracks the key.
    let t2 = app.login_tokens(&email).await;
    let commands = client_commands_during(&redis, async {
        for _ in 0..5 {
            assert_eq!(app.guard_status(&t2.access_token).await, 200);
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
            assert_eq!(app.guard_status(&t.access_token).await, 200);
        }
    })
    .await;
    assert!(commands.is_empty(), "{commands:?}");
}

/// `MEMORY USAGE` of every key of a user, on a private Redis where authd
/// uses the default prefix.
async fn bytes_of_user(redis: &TestRedis) -> (usize, i64) {
    let mut conn = redis_connection(&redis.url()).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("authd:{u:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut total = 0;
    for key in &keys {
        let bytes: i64 = redis::cmd("MEMORY")
            .arg("USAGE")
            .arg(key)
            .arg("SAMPLES")
            .arg(0)
            .query_async(&mut conn)
            .await
            .unwrap();
        total += bytes;
    }
    (keys.len(), total)
}

#[tokio::test]
async fn a_session_takes_at_most_512_bytes_of_redis_however_often_it_rotates() {
    let redis = TestRedis::start();
    let app = app()
        .redis(&redis)
        .var("AUTHD_REDIS_PREFIX", "authd:")
        .spawn()
        .await;
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status(), 201);
    // A phone's 40-byte User-Agent.
    let ua = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5)";
    assert_eq!(ua.len(), 40);
    let mut t = login_as(&app, &email, None, ua).await;
    let after_login = bytes_of_user(&redis).await;
    t = app.refreshed(&t.refresh_token).await;
    let after_one = bytes_of_user(&redis).await;
    for _ in 0..20 {
        t = app.refreshed(&t.refresh_token).await;
    }
    let after_many = bytes_of_user(&redis).await;
    // The session's hash and the user's index: a user whose password never
    // changed has no credential marker.
    assert_eq!((after_login.0, after_one.0, after_many.0), (2, 2, 2));
    assert!(
        after_login.1 <= 512 && after_one.1 <= 512 && after_many.1 <= after_one.1,
        "bytes: {after_login:?} after login, {after_one:?} after a refresh, {after_many:?} after 21"
    );
}

/// Writes a session back in the layout of earlier versions: long field
/// names, hashes as base64url text of all 32 bytes of SHA-256.
async fn write_legacy_layout(app: &TestApp, current: &Tokens, previous: Option<&Tokens>) {
    let old_hash = |domain: &[u8], token: &str, range: std::ops::Range<usize>| {
        let raw = URL_SAFE_NO_PAD.decode(token).unwrap();
        let mut h = Sha256::new();
        h.update(domain);
        h.update(&raw[range]);
        URL_SAFE_NO_PAD.encode(h.finalize())
    };
    let (node, key) = app
        .redis_keys_by_node()
        .await
        .into_iter()
        .flat_map(|(node, keys)| keys.into_iter().map(move |k| (node.clone(), k)))
        .find(|(_, key)| key.contains(":s:"))
        .expect("a session hash");
    let mut conn = redis_connection(&node).await;
    let values: Vec<Vec<u8>> = redis::cmd("HGETALL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    let field = |name: &str| -> Vec<u8> {
        let at = values.iter().step_by(2).position(|f| f == name.as_bytes());
        at.map(|i| values[2 * i + 1].clone()).unwrap_or_default()
    };
    let mut old: Vec<(&str, Vec<u8>)> = vec![
        (
            "fam",
            old_hash(b"family", &current.refresh_token, 32..48).into_bytes(),
        ),
        (
            "cur",
            old_hash(b"secret", &current.refresh_token, 48..80).into_bytes(),
        ),
        ("created", field("b")),
        ("used", field("u")),
        ("abs", field("e")),
        ("dev", field("d")),
        ("ua", field("a")),
        ("ip", field("i")),
    ];
    if let Some(previous) = previous {
        old.push((
            "prev",
            old_hash(b"secret", &previous.refresh_token, 48..80).into_bytes(),
        ));
        old.push(("nonce", field("n")));
        old.push(("rotated", field("u")));
    }
    let ttl_before: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut hset = redis::cmd("HSET");
    hset.arg(&key);
    for (name, value) in &old {
        hset.arg(*name).arg(&value[..]);
    }
    let _: i64 = hset.query_async(&mut conn).await.unwrap();
    let _: i64 = redis::cmd("HDEL")
        .arg(&key)
        .arg(&["f", "c", "p", "n", "b", "u", "e", "d", "a", "i"])
        .query_async(&mut conn)
        .await
        .unwrap();
    let ttl_after: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(ttl_after > 0 && ttl_after <= ttl_before);
}

#[tokio::test]
async fn sessions_stored_by_earlier_versions_keep_working() {
    let app = spawn_app().await;
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status(), 201);
    let t0 = login_as(&app, &email, Some("old phone"), "Legacy/1.0").await;
    let t1 = app.refreshed(&t0.refresh_token).await;
    write_legacy_layout(&app, &t1, Some(&t0)).await;

    // Listed as before.
    let listed = app.sessions(&t1.access_token).await;
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["device"], "old phone");
    assert_eq!(listed[0]["user_agent"], "Legacy/1.0");
    // The replaced token, within the grace window: the very same successor.
    let again = app.refreshed(&t0.refresh_token).await;
    assert_eq!(again.refresh_token, t1.refresh_token);
    // The current one rotates, and the session is in the new layout.
    let t2 = app.refreshed(&t1.refresh_token).await;
    let (_, _, values) = app
        .redis_dump()
        .await
        .into_iter()
        .find(|(key, _, _)| key.contains(":s:"))
        .unwrap();
    let fields: Vec<_> = values.iter().step_by(2).collect();
    assert!(fields.iter().all(|f| f.len() == 1), "{fields:?}");

    // Logout by refresh token recognises a legacy session's family.
    write_legacy_layout(&app, &t2, None).await;
    assert_eq!(
        app.logout_refresh(&t2.refresh_token, None).await.status(),
        204
    );
    assert_eq!(app.refresh(&t2.refresh_token).await.status(), 400);
}

/// The credential marker (a user whose password changed) must live while
/// any session does, or a login would read its absence as an unfinished
/// password change. Rotations no longer extend it: login gives it at least
/// the session's absolute end, which no rotation can pass.
#[tokio::test]
async fn the_credential_marker_outlives_every_session_however_often_it_rotates() {
    let app = app()
        .var("AUTHD_REFRESH_TOKEN_TTL", 2)
        .var("AUTHD_SESSION_MAX_AGE", 30)
        .spawn()
        .await;
    let (email, first) = app.signed_in_user().await;
    let new_password = "another long password";
    let res = app
        .change_password(&first.access_token, PASSWORD, new_password)
        .await;
    assert_eq!(res.status(), 204);
    // The change fenced logins for AUTHD_SESSION_MAX_AGE from then; this
    // login's session ends 3 s after that fence would.
    tokio::time::sleep(Duration::from_millis(3000)).await;
    let res = app.login(&email, new_password).await;
    let mut tokens: Tokens = res.json().await.unwrap();
    // Past the idle lifetime twice over: the session lives on rotations.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        tokens = app.refreshed(&tokens.refresh_token).await;
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let dump = app.redis_dump().await;
    let marker_ttl = dump
        .iter()
        .find(|(key, _, _)| key.ends_with(":credential"))
        .map(|(_, ttl, _)| *ttl)
        .expect("a marker: the password changed");
    for (key, ttl, values) in dump.iter().filter(|(key, _, _)| key.contains(":s:")) {
        let end = values
            .chunks(2)
            .find(|pair| pair[0] == b"e")
            .map(|pair| String::from_utf8_lossy(&pair[1]).parse::<i64>().unwrap())
            .expect("an absolute end");
        assert!(
            marker_ttl >= end - now_ms - 1000 && marker_ttl >= *ttl,
            "{key}: the marker lives {marker_ttl} ms, the session up to {} ms (now {ttl} ms)",
            end - now_ms
        );
    }
}
