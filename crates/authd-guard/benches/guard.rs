//! The guard's in-memory path, on 1, 2, 4 and 8 threads at once: a token
//! verified before (the verified-token cache) whose session Redis tracks
//! for this process (liveness from memory). No lock is shared by all
//! threads on this path, so the time per check should stay flat up to the
//! machine's core count (beyond it, threads share cores).
//!
//!     cargo bench -p authd-guard --bench guard
//!
//! Starts a private `redis-server` on a free port.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use authd_guard::{Algorithm, AuthdRedis, DecodingKey, Guard, Keys, Rules, Verifier};
use jsonwebtoken::{encode, EncodingKey, Header};
use uuid::Uuid;

const SECRET: &[u8] = b"a benchmark secret of at least thirty-two bytes";
const PREFIX: &str = "bench:";

struct World {
    guard: Guard<AuthdRedis>,
    token: String,
    redis: Redis,
    runtime: tokio::runtime::Runtime,
}

/// The private Redis; the world is a static, so `main` stops it at the end.
struct Redis(Mutex<Child>);

impl Redis {
    fn stop(&self) {
        let mut child = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let redis = Redis(Mutex::new(
            Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server"),
        ));
        let url = format!("redis://127.0.0.1:{port}");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let key = authd_guard::session_key(PREFIX, user, session);
        let sessions = runtime.block_on(async {
            let client = redis::Client::open(url.as_str()).expect("a client");
            let deadline = Instant::now() + Duration::from_secs(5);
            let mut conn = loop {
                match client.get_multiplexed_async_connection().await {
                    Ok(conn) => break conn,
                    Err(e) if Instant::now() > deadline => panic!("redis: {e}"),
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            };
            redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("PX")
                .arg(3_600_000)
                .query_async::<()>(&mut conn)
                .await
                .expect("SET");
            AuthdRedis::connect(&[&url], PREFIX, None, Duration::from_secs(1), 100_000)
                .expect("tracking")
        });
        let verifier = Verifier::new(
            Keys::fixed([(
                "k".to_string(),
                Algorithm::HS256,
                DecodingKey::from_secret(SECRET).expect("a key"),
            )]),
            Rules {
                issuer: "authd".into(),
                audience: "authd".into(),
                leeway: Duration::from_secs(30),
                cache_entries: 100_000,
            },
        );
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("a clock")
            .as_secs();
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("at+jwt".into());
        header.kid = Some("k".into());
        let claims = serde_json::json!({
            "iss": "authd", "aud": "authd", "sub": user.to_string(), "sid": session.to_string(),
            "iat": now, "exp": now + 3600, "jti": Uuid::new_v4().to_string(),
        });
        let token = encode(
            &header,
            &claims,
            &EncodingKey::from_secret(SECRET).expect("a key"),
        )
        .expect("a token");
        let guard = Guard::new(Arc::new(verifier), sessions);
        // Until the session is answered from memory (tracking is up).
        runtime.block_on(async {
            let deadline = Instant::now() + Duration::from_secs(10);
            while guard.check().liveness().is_empty() || !from_memory(&guard, &token).await {
                let _ = guard.authenticate(Some(&token)).await;
                assert!(
                    Instant::now() < deadline,
                    "tracking never started: {:?}, {} answers held",
                    guard.authenticate(Some(&token)).await,
                    guard.check().liveness().len()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        World {
            guard,
            token,
            redis,
            runtime,
        }
    })
}

/// Whether a check completes without waiting on I/O.
async fn from_memory(guard: &Guard<AuthdRedis>, token: &str) -> bool {
    let _ = guard.authenticate(Some(token)).await;
    let check = guard.authenticate(Some(token));
    let started = Instant::now();
    check.await.is_ok() && started.elapsed() < Duration::from_micros(200)
}

#[divan::bench(threads = [1, 2, 4, 8])]
fn guard_in_memory(bencher: divan::Bencher) {
    let world = world();
    let handle = world.runtime.handle();
    bencher.bench(|| {
        let identity = handle.block_on(world.guard.authenticate(Some(&world.token)));
        assert!(identity.is_ok());
    });
}

fn main() {
    world();
    divan::main();
    world().redis.stop();
}
