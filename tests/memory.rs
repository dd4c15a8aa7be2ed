//! Resident memory of the real `authd` process: bounded by the hashing
//! slots after any burst of logins, and flat under refreshes and guarded
//! requests. Read from `/proc/<pid>/status`; nothing here is timed.

use std::time::Duration;

use serde_json::{json, Value};

use authd_test_support::authd_bin;
use authd_test_support::servers::{fresh_database, TestRedis};
use authd_test_support::service::Service;
use authd_test_support::values::PASSWORD;

const MIB: u64 = 1024 * 1024;

struct World {
    service: Service,
    http: reqwest::Client,
    _redis: TestRedis,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let url = redis.url();
    // A generous hashing queue: the burst below waits for its slot, it is
    // not refused.
    let service = Service::start(
        authd_bin!(),
        dir.path(),
        &[
            ("AUTHD_DATABASE_URL", db.as_str()),
            ("AUTHD_REDIS_URL", url.as_str()),
            ("AUTHD_DATABASE_TIMEOUT_MS", "30000"),
            ("RUST_LOG", "info"),
        ],
    );
    World {
        service,
        http: reqwest::Client::new(),
        _redis: redis,
        _dir: dir,
    }
}

impl World {
    /// What authd said at startup about its hashing slots: (slots, bytes each).
    fn hashing_memory(&self) -> (u64, u64) {
        let line = self
            .service
            .startup_log
            .iter()
            .find(|l| l.contains("password hashing:"))
            .expect("authd logs its hashing slots at startup");
        let numbers: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        match numbers.as_slice() {
            [slots, mib, ..] => (*slots, mib * MIB),
            _ => panic!("unexpected line {line}"),
        }
    }

    async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.service.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn register(&self, email: &str) {
        let res = self
            .post(
                "/api/register",
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        assert_eq!(res.status(), 201);
    }

    async fn login(&self, email: &str) -> Value {
        let res = self
            .post("/api/login", json!({"email": email, "password": PASSWORD}))
            .await;
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        res.json().await.unwrap()
    }

    /// `total` logins over `accounts`, `parallel` at a time.
    async fn login_burst(&self, accounts: &[String], total: usize, parallel: usize) {
        let mut next = 0;
        while next < total {
            let batch = (next..total.min(next + parallel))
                .map(|i| self.login(&accounts[i % accounts.len()]));
            futures::future::join_all(batch).await;
            next += parallel;
        }
    }

    /// Resident memory once the process has settled.
    async fn resident(&self) -> u64 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.service.resident_bytes()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_burst_leaves_no_more_than_the_hashing_slots_resident() {
    let world = world().await;
    let (slots, per_slot) = world.hashing_memory();
    let baseline = world.resident().await;
    let accounts: Vec<String> = (0..8).map(|i| format!("burst{i}@example.com")).collect();
    for email in &accounts {
        world.register(email).await;
    }
    world.login_burst(&accounts, 160, 16).await;
    let after_burst = world.resident().await;
    // Baseline, plus every slot's Argon2 memory, plus a small margin for
    // what the first requests allocate (pools, buffers, caches).
    let bound = baseline + slots * per_slot + 12 * MIB;
    assert!(
        after_burst <= bound,
        "{} MiB resident after the burst; bound {} MiB ({} MiB at start, {slots} slots of {} MiB)",
        after_burst / MIB,
        bound / MIB,
        baseline / MIB,
        per_slot / MIB
    );
    eprintln!(
        "resident: {} MiB at start, {} MiB after the burst",
        baseline / MIB,
        after_burst / MIB
    );
    // More logins do not climb.
    world.login_burst(&accounts, 160, 16).await;
    let after_second = world.resident().await;
    assert!(
        after_second <= after_burst + 4 * MIB,
        "{} MiB after a second burst, {} MiB after the first",
        after_second / MIB,
        after_burst / MIB
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_and_guarded_requests_do_not_grow_resident_memory() {
    let world = world().await;
    world.register("steady@example.com").await;
    let mut chains = Vec::new();
    for _ in 0..8 {
        chains.push(world.login("steady@example.com").await);
    }

    // Each chain refreshes and calls a guarded route `rounds` times.
    async fn run(world: &World, chains: &mut [Value], rounds: usize) {
        let work = chains.iter_mut().map(|tokens| async move {
            for _ in 0..rounds {
                let res = world
                    .post(
                        "/api/token",
                        json!({"refresh_token": tokens["refresh_token"]}),
                    )
                    .await;
                assert_eq!(res.status(), 200);
                *tokens = res.json().await.unwrap();
                let at = tokens["access_token"].as_str().unwrap();
                let res = world
                    .http
                    .get(world.service.url("/api/secure"))
                    .bearer_auth(at)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
            }
        });
        futures::future::join_all(work).await;
    }

    // Warm up: pools, connections and buffers reach their working size.
    run(&world, &mut chains, 50).await;
    let before = world.resident().await;
    run(&world, &mut chains, 300).await; // 2,400 refreshes and 2,400 guarded requests
    let after = world.resident().await;
    assert!(
        after < before + 4 * MIB,
        "resident memory grew from {} KiB to {} KiB",
        before / 1024,
        after / 1024
    );
}
