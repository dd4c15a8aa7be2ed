//! A Redis Cluster failover with `AUTHD_REDIS_MIN_REPLICAS=1`: three
//! masters with a replica each, clients refreshing their chains as fast as
//! they can and retrying a 503 with the same token, as a phone would. A
//! master is killed with its replica in sync; or its replication link is
//! cut (replica frozen, `CLIENT KILL TYPE replica`), the master keeps being
//! asked for half a second, then dies and the replica takes over with what
//! it had. Every chain survives and every logout that answered 204 stays
//! done; the 503s are counted and printed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::helpers::*;

#[derive(Default)]
struct Counts {
    refreshes: AtomicU64,
    retries: AtomicU64,
    broken: AtomicU64,
}

/// Refreshes each chain in a loop until `stop`; a 503 is retried with the
/// same token, anything but 200 or 503 breaks the chain.
fn run_chains(
    app: Arc<TestApp>,
    tokens: Vec<String>,
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
) -> Vec<tokio::task::JoinHandle<()>> {
    tokens
        .into_iter()
        .map(|mut token| {
            let (app, stop, counts) = (app.clone(), stop.clone(), counts.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let res = app.refresh(&token).await;
                    match res.status().as_u16() {
                        200 => {
                            let t: Tokens = res.json().await.expect("token response");
                            token = t.refresh_token;
                            counts.refreshes.fetch_add(1, Ordering::Relaxed);
                        }
                        503 => {
                            counts.retries.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        other => {
                            eprintln!(
                                "chain broken: {other} {}",
                                res.text().await.unwrap_or_default()
                            );
                            counts.broken.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                }
            })
        })
        .collect()
}

/// The master holding `key` (among the current masters) and its replica.
fn master_of<'a>(cluster: &'a TestCluster, key: &str) -> (&'a TestRedis, &'a TestRedis) {
    let asked = &cluster.nodes[0];
    let slot = asked.cli(&["cluster", "keyslot", key]).trim().to_string();
    for (master, replica) in cluster.pairs(asked) {
        let owned = master.cli(&["cluster", "countkeysinslot", &slot]);
        // The owner answers a count; others answer nothing usable (MOVED).
        if owned.trim().parse::<u64>().is_ok() && !owned.contains("MOVED") {
            let here = master.cli(&["exists", key]);
            if here.trim() == "1" {
                return (master, replica.expect("a replica"));
            }
        }
    }
    panic!("no master holds {key}");
}

async fn session_key(app: &TestApp, session_id: &str) -> String {
    app.redis_keys_by_node()
        .await
        .into_iter()
        .flat_map(|(_, keys)| keys)
        .find(|k| k.ends_with(&session_id.replace('-', "")))
        .expect("the session's key")
}

async fn failover(cut_link_first: bool) {
    let cluster = TestCluster::start_replicated(1000);
    let app = Arc::new(
        crate::helpers::app()
            .redis_url(&cluster.url())
            .var("AUTHD_REDIS_MIN_REPLICAS", 1)
            .var("AUTHD_REDIS_TIMEOUT_MS", 1000)
            .var("AUTHD_REGISTER_MAX_PER_IP", 1000)
            .spawn()
            .await,
    );
    let mut chains = Vec::new();
    for _ in 0..12 {
        chains.push(app.signed_in_user().await.1);
    }
    // The master of the first chain's keys is the one that will fail.
    let key = session_key(&app, &chains[0].session_id).await;
    let (master, replica) = master_of(&cluster, &key);
    // Sessions to log out, some before the failure, some during it.
    let mut before = Vec::new();
    for _ in 0..6 {
        let (_, t) = app.signed_in_user().await;
        assert_eq!(
            app.post_with("/api/logout", &t.access_token).await.status(),
            204
        );
        before.push(t);
    }

    // Sessions to log out while the link is cut.
    let mut to_end = Vec::new();
    for _ in 0..6 {
        to_end.push(app.signed_in_user().await.1);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let tasks = run_chains(
        app.clone(),
        chains.iter().map(|t| t.refresh_token.clone()).collect(),
        stop.clone(),
        counts.clone(),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut during = Vec::new();
    if cut_link_first {
        replica.freeze();
        let killed = master.cli(&["client", "kill", "type", "replica"]);
        assert_eq!(killed.trim(), "1", "{killed}");
        // The master keeps being asked; whatever it answers 204 must last.
        for t in to_end {
            let status = app.post_with("/api/logout", &t.access_token).await.status();
            assert!(status == 204 || status == 503, "{status}");
            during.push((t, status));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    master.kill();
    if cut_link_first {
        replica.thaw();
    }
    wait_for("the replica's promotion", || {
        replica.cli(&["role"]).starts_with("master")
            && replica
                .cli(&["cluster", "info"])
                .contains("cluster_state:ok")
    });
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let refreshes = counts.refreshes.load(Ordering::Relaxed);
    let retries = counts.retries.load(Ordering::Relaxed);
    let broken = counts.broken.load(Ordering::Relaxed);
    eprintln!(
        "failover (link cut first: {cut_link_first}): {refreshes} refreshes, {retries} retries (503), {broken} broken chains of {}",
        chains.len()
    );
    assert_eq!(broken, 0, "chains broken by the failover");
    assert!(refreshes > 0);
    // Every logout that answered 204 is still done, on every path.
    let answered_204 = before
        .iter()
        .chain(during.iter().filter(|(_, s)| *s == 204).map(|(t, _)| t));
    for t in answered_204 {
        assert_eq!(
            app.refresh(&t.refresh_token).await.status(),
            400,
            "a logout came undone"
        );
        assert_eq!(app.guard_status(&t.access_token).await, 401);
    }
    // One that answered 503 is retried: 204, or 503 again while its shard
    // has no replica left to acknowledge it (the promoted replica's own
    // replica was the master that died).
    for (t, status) in &during {
        if *status == 503 {
            let again = app.post_with("/api/logout", &t.access_token).await.status();
            assert!(again == 204 || again == 503, "{again}");
        }
    }
}

#[tokio::test]
async fn a_killed_master_with_its_replica_in_sync_breaks_no_chain() {
    failover(false).await;
}

#[tokio::test]
async fn a_master_that_lost_its_replica_link_then_died_breaks_no_chain_and_undoes_no_logout() {
    failover(true).await;
}
