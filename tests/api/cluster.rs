//! The same scripts on a real Redis Cluster (three masters): the core flows
//! work, keys spread over the nodes, and every one carries a TTL.

use std::collections::HashSet;
use std::time::Duration;

use futures::future::join_all;
use serde_json::json;

use crate::helpers::*;

async fn cluster_app() -> TestApp {
    app()
        .redis_url(&shared_cluster().url())
        .var("AUTHD_REFRESH_REUSE_GRACE", 1)
        .spawn()
        .await
}

/// An app on a private cluster (for tests that break it), with a short
/// Redis budget.
async fn app_on(cluster: &TestCluster) -> TestApp {
    app()
        .redis_url(&cluster.url())
        .var("AUTHD_REDIS_TIMEOUT_MS", 400)
        .spawn()
        .await
}

#[tokio::test]
async fn the_core_flows_run_on_a_cluster() {
    let app = cluster_app().await;
    let (email, t0) = app.signed_in_user().await;
    assert_eq!(app.guard_status(&t0.access_token).await, 200);
    let t1 = app.refreshed(&t0.refresh_token).await;
    assert_eq!(
        app.refreshed(&t0.refresh_token).await.refresh_token,
        t1.refresh_token,
        "grace"
    );
    let t2 = app.refreshed(&t1.refresh_token).await;
    let other = app.login_tokens(&email).await;
    let list = app.get_with("/api/sessions", &t2.access_token).await;
    assert_eq!(list.status(), 200);
    let body: serde_json::Value = list.json().await.unwrap();
    assert_eq!(body["sessions"].as_array().unwrap().len(), 2);
    // Reuse ends the session.
    let (_, body) = error_of(app.refresh(&t0.refresh_token).await).await;
    assert_eq!(body["reason"], "reused");
    assert_eq!(app.guard_status(&t2.access_token).await, 401);
    // Password change and logout-all (scripts that walk the user's index).
    let res = app
        .client
        .post(app.url("/api/password"))
        .bearer_auth(&other.access_token)
        .json(&json!({"current_password": PASSWORD, "new_password": "a new cluster passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let third = app
        .login(&email, "a new cluster passphrase")
        .await
        .json::<Tokens>()
        .await
        .unwrap();
    assert_eq!(
        app.post_with("/api/logout-all", &third.access_token)
            .await
            .status(),
        204
    );
    assert_eq!(app.guard_status(&other.access_token).await, 401);
    // Throttling (keys in other slots than the user's).
    let app2 = crate::helpers::app()
        .redis_url(&shared_cluster().url())
        .var("AUTHD_LOGIN_MAX_FAILURES", 2)
        .spawn()
        .await;
    let victim = unique_email();
    for _ in 0..2 {
        assert_eq!(app2.login(&victim, "wrong password!").await.status(), 400);
    }
    assert_eq!(app2.login(&victim, "wrong password!").await.status(), 429);
}

#[tokio::test]
async fn concurrent_refreshes_rotate_once_on_a_cluster() {
    let app = cluster_app().await;
    let (_, t0) = app.signed_in_user().await;
    let results = join_all((0..20).map(|_| app.refresh(&t0.refresh_token))).await;
    let mut successors = HashSet::new();
    for res in results {
        assert_eq!(res.status(), 200);
        successors.insert(res.json::<Tokens>().await.unwrap().refresh_token);
    }
    assert_eq!(successors.len(), 1);
}

#[tokio::test]
async fn keys_spread_over_the_nodes_and_all_expire() {
    let app = cluster_app().await;
    for _ in 0..12 {
        let (_, t) = app.signed_in_user().await;
        app.refreshed(&t.refresh_token).await;
    }
    let by_node = app.redis_keys_by_node().await;
    let used = by_node.iter().filter(|(_, keys)| !keys.is_empty()).count();
    assert!(used >= 2, "keys on {used} node(s): {by_node:?}");
    let dump = app.redis_dump().await;
    assert!(dump.len() >= 24);
    for (key, ttl, _) in dump {
        assert!(ttl > 0, "{key} has no TTL");
    }
}

#[tokio::test]
async fn one_frozen_master_does_not_take_the_other_shards_down() {
    let cluster = TestCluster::start();
    let app = app_on(&cluster).await;
    let mut users = Vec::new();
    for _ in 0..9 {
        users.push(app.signed_in_user().await.1);
    }
    cluster.nodes[0].freeze();
    for round in 0..3 {
        let started = std::time::Instant::now();
        let statuses: Vec<u16> =
            join_all(users.iter().map(|t| app.guard_status(&t.access_token))).await;
        assert!(
            started.elapsed() < Duration::from_millis(2 * 400 + 600),
            "round {round}"
        );
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 503),
            "{statuses:?}"
        );
        assert!(
            statuses.contains(&200),
            "users on healthy masters are served: {statuses:?}"
        );
    }
    cluster.nodes[0].thaw();
    for t in &users {
        assert_eq!(app.guard_status(&t.access_token).await, 200);
    }
}

/// What clients send to the cluster's nodes while `work` runs, for keys of
/// `prefix` only (other tests share the cluster).
async fn cluster_commands_during<F: std::future::Future>(prefix: &str, work: F) -> Vec<String> {
    use std::process::{Command, Stdio};
    let mut monitors: Vec<_> = shared_cluster()
        .nodes
        .iter()
        .map(|node| {
            Command::new("redis-cli")
                .args(["-p", &node.port.to_string(), "monitor"])
                .stdout(Stdio::piped())
                .spawn()
                .expect("redis-cli monitor")
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    work.await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut out = Vec::new();
    for monitor in monitors.iter_mut() {
        let _ = monitor.kill();
    }
    for monitor in monitors {
        let seen = monitor.wait_with_output().unwrap();
        out.extend(
            String::from_utf8_lossy(&seen.stdout)
                .lines()
                .filter(|l| l.contains(prefix) && !l.contains(" lua]"))
                .map(str::to_string),
        );
    }
    out
}

/// Once the slot map and each master's first heartbeat are in, every one
/// of `apps` accepts `access_token` twice and holds its liveness in memory.
async fn answered_from_memory(apps: &[&TestApp], access_token: &str) {
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..2 {
        accepted_by(apps, access_token).await;
    }
    for app in apps {
        assert!(!app.state.connections.liveness.is_empty());
    }
}

#[tokio::test]
async fn the_guard_answers_from_memory_on_a_cluster() {
    let app = cluster_app().await;
    let (_, t) = app.signed_in_user().await;
    // The slot map and each master's first heartbeat.
    answered_from_memory(&[&app], &t.access_token).await;
    let commands = cluster_commands_during(&app.prefix, async {
        for _ in 0..5 {
            assert_eq!(app.guard_status(&t.access_token).await, 200);
        }
        // The monitors do see this test's commands.
        app.refreshed(&t.refresh_token).await;
    })
    .await;
    assert_eq!(commands.len(), 1, "only the refresh's script: {commands:?}");
    assert!(
        commands[0].to_lowercase().contains("\"fcall\""),
        "{commands:?}"
    );
}

#[tokio::test]
async fn a_logout_reaches_another_instance_on_a_cluster() {
    let a = cluster_app().await;
    let b = app().sharing(&a).spawn().await;
    let (_, t) = a.signed_in_user().await;
    answered_from_memory(&[&a, &b], &t.access_token).await;
    assert_eq!(
        a.post_with("/api/logout", &t.access_token).await.status(),
        204
    );
    assert_eq!(a.guard_status(&t.access_token).await, 401);
    refused_by_all(&[&b], &t.access_token, "logout on a cluster").await;
}

/// A master that sees the cluster failing (here: another master died, so
/// slots are uncovered) is not trusted any more: the guard asks Redis, which
/// refuses (503), rather than serve the session from memory. A master cut
/// off from the majority behaves the same way while its replica is promoted.
#[tokio::test]
async fn a_master_that_sees_the_cluster_fail_is_not_trusted() {
    let cluster = TestCluster::start();
    let app = app_on(&cluster).await;
    let (_, t) = app.signed_in_user().await;
    answered_from_memory(&[&app], &t.access_token).await;
    // Kill a master that does not hold this session.
    let holder = app
        .redis_keys_by_node()
        .await
        .into_iter()
        .find(|(_, keys)| keys.iter().any(|k| k.contains(":s:")))
        .map(|(node, _)| node)
        .expect("the session's node");
    let (victim, survivor) = {
        let mut others = cluster
            .nodes
            .iter()
            .filter(|n| !holder.ends_with(&n.port.to_string()));
        let victim = others.next().unwrap();
        let survivor = cluster
            .nodes
            .iter()
            .find(|n| holder.ends_with(&n.port.to_string()))
            .unwrap();
        (victim, survivor)
    };
    victim.kill();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !survivor
        .cli(&["cluster", "info"])
        .contains("cluster_state:fail")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the cluster never failed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Within the heartbeat's trust window (1 s), never 200 after.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let status = app.guard_status(&t.access_token).await;
    assert_eq!(
        status, 503,
        "a failing cluster's master answered from memory"
    );
}
