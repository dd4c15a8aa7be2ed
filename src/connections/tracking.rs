//! Whether a key exists, answered from memory while Redis promises to say
//! when that changes: server-assisted client-side caching (RESP3
//! `CLIENT TRACKING`, default mode) on one dedicated connection.
//!
//! Why this is safe (it fails closed):
//! - Keys are read on the tracking connection itself, so Redis remembers
//!   that this client holds them and sends an `invalidate` push when any
//!   client changes, deletes, expires or evicts one of them, and an
//!   `invalidate` with no keys on `FLUSHALL`/`FLUSHDB`.
//! - Pushes are applied inside the connection's driver as they are read
//!   (`Invalidator` is the connection's push sender), in stream order with
//!   the replies. So when the reply to a `PING` arrives, every invalidation
//!   Redis produced before that `PING` has been applied.
//! - A read whose answer races an invalidation of the same key cannot be
//!   stored stale: the read marks the key `Pending` first, an invalidation
//!   removes the mark, and the answer is kept only if its mark survived.
//! - Answers count only while a `PING` sent less than `TRUST` ago has been
//!   answered (a heartbeat every `HEARTBEAT`). A dropped, frozen or
//!   restarted Redis (which forgets all tracking) stops the heartbeat or
//!   disconnects: everything is forgotten, and every lookup goes to Redis
//!   (the caller's fallback) until a new connection tracks again.
//! - The instance that ends a session calls `sync` (one `PING`) before it
//!   answers, so its own next request already sees the end.
//! - Expiry is also checked locally: an answer holds the key's PTTL.
//!
//! Redis Cluster is not tracked (each node would need its own tracking
//! connection and slot moves their own invalidation): there every lookup
//! goes to Redis, as before.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use deadpool_redis::redis::aio::{AsyncPushSender, MultiplexedConnection, SendError};
use deadpool_redis::redis::{
    self, AsyncConnectionConfig, Client, IntoConnectionInfo, ProtocolVersion, PushInfo, PushKind,
    Value,
};
use tokio::runtime::Handle;

use super::StoreError;
use crate::common::Secret;

/// How often the tracking connection proves it is current.
const HEARTBEAT: Duration = Duration::from_millis(100);
/// How long after a `PING` was sent its answer vouches for the cache.
const TRUST: Duration = Duration::from_millis(1000);
/// Wait before reconnecting after the tracking connection failed.
const RECONNECT: Duration = Duration::from_millis(200);

#[derive(Clone, Copy)]
enum Entry {
    /// A read is in flight; its answer counts only if this mark survives.
    Pending(u64),
    /// The key exists until this instant (or for good).
    Live(Option<Instant>),
    /// The key does not exist.
    Gone,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    next_mark: u64,
    /// Answers count until then; `None` while the connection is not proven.
    trusted_until: Option<Instant>,
    conn: Option<MultiplexedConnection>,
}

struct Shared {
    state: Mutex<State>,
    capacity: usize,
    budget: Duration,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets everything and stops trusting until the next heartbeat.
    fn reset(&self, drop_conn: bool) {
        let mut state = self.lock();
        state.entries.clear();
        state.trusted_until = None;
        if drop_conn {
            state.conn = None;
        }
    }
}

/// Applies invalidations as the connection's driver reads them.
struct Invalidator(Arc<Shared>);

impl AsyncPushSender for Invalidator {
    fn send(&self, info: PushInfo) -> Result<(), SendError> {
        match info.kind {
            PushKind::Invalidate => {
                let keys = match info.data.first() {
                    Some(Value::Array(keys)) => Some(keys),
                    // `invalidate` with a null: the whole keyspace (a flush).
                    _ => None,
                };
                let mut state = self.0.lock();
                match keys {
                    Some(keys) => {
                        for key in keys {
                            if let Value::BulkString(bytes) = key {
                                if let Ok(key) = std::str::from_utf8(bytes) {
                                    state.entries.remove(key);
                                }
                            } else {
                                state.entries.clear();
                            }
                        }
                    }
                    None => state.entries.clear(),
                }
            }
            PushKind::Disconnection => self.0.reset(true),
            _ => {}
        }
        Ok(())
    }
}

/// What memory says about a key.
enum Lookup {
    /// Known: exists or not.
    Known(bool),
    /// Read it on the tracking connection, marked `Pending(mark)`.
    Read(MultiplexedConnection, u64),
    /// Not tracked now: ask Redis the usual way.
    Ask,
}

/// Key existence with Redis-driven invalidation; see the module docs.
#[derive(Clone)]
pub struct Tracker {
    shared: Option<Arc<Shared>>,
}

impl Tracker {
    /// Starts tracking on a single-node Redis (`url`); `None` (Redis
    /// Cluster) or a capacity of 0 gives a tracker that always asks Redis.
    pub fn start(url: Option<&Secret>, budget: Duration, capacity: usize, io: &Handle) -> Self {
        let Some(url) = url.filter(|_| capacity > 0) else {
            return Self { shared: None };
        };
        let client = match resp3_client(url.expose()) {
            Ok(client) => client,
            Err(e) => {
                log::warn!("session tracking is off: {e}");
                return Self { shared: None };
            }
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            capacity,
            budget,
        });
        io.spawn(run(client, Arc::downgrade(&shared)));
        Self {
            shared: Some(shared),
        }
    }

    /// Whether `key` exists: from memory when Redis has promised to tell of
    /// a change, else read on the tracking connection (and remembered), else
    /// `fallback` (the ordinary pooled read).
    pub async fn exists<F>(&self, key: &str, fallback: F) -> Result<bool, StoreError>
    where
        F: Future<Output = Result<bool, StoreError>>,
    {
        let Some(shared) = &self.shared else {
            return fallback.await;
        };
        let now = Instant::now();
        let (conn, mark) = match Self::lookup(shared, key, now) {
            Lookup::Known(exists) => return Ok(exists),
            Lookup::Ask => return fallback.await,
            Lookup::Read(conn, mark) => (conn, mark),
        };
        let mut conn = conn;
        let mut pttl_cmd = redis::cmd("PTTL");
        pttl_cmd.arg(key);
        let read = pttl_cmd.query_async::<i64>(&mut conn);
        match tokio::time::timeout(shared.budget, read).await {
            Ok(Ok(pttl)) => {
                let answer = match pttl {
                    -2 => Entry::Gone,
                    -1 => Entry::Live(None),
                    ms => Entry::Live(Some(now + Duration::from_millis(ms.max(0) as u64))),
                };
                let mut state = shared.lock();
                if let Some(Entry::Pending(m)) = state.entries.get(key) {
                    if *m == mark {
                        state.entries.insert(key.to_string(), answer);
                    }
                }
                Ok(pttl != -2)
            }
            _ => {
                shared.lock().entries.remove(key);
                fallback.await
            }
        }
    }

    /// The remembered answer, or a connection and a fresh `Pending` mark to
    /// read with, or: ask Redis the usual way.
    fn lookup(shared: &Shared, key: &str, now: Instant) -> Lookup {
        let mut state = shared.lock();
        let trusted = state.trusted_until.is_some_and(|t| now < t);
        if !trusted {
            return Lookup::Ask;
        }
        match state.entries.get(key).copied() {
            Some(Entry::Live(until)) if until.is_none_or(|u| now < u) => {
                return Lookup::Known(true)
            }
            Some(Entry::Gone) => return Lookup::Known(false),
            _ => {}
        }
        let Some(conn) = state.conn.clone() else {
            return Lookup::Ask;
        };
        if state.entries.len() >= shared.capacity {
            state.entries.clear();
        }
        state.next_mark += 1;
        let mark = state.next_mark;
        state.entries.insert(key.to_string(), Entry::Pending(mark));
        Lookup::Read(conn, mark)
    }

    /// Returns once every invalidation Redis produced before this call has
    /// been applied (one `PING` on the tracking connection). A failure only
    /// stops the cache from being trusted.
    pub async fn sync(&self) {
        let Some(shared) = &self.shared else {
            return;
        };
        let conn = shared.lock().conn.clone();
        let Some(mut conn) = conn else {
            return;
        };
        let ping_cmd = redis::cmd("PING");
        let ping = ping_cmd.query_async::<String>(&mut conn);
        if !matches!(tokio::time::timeout(shared.budget, ping).await, Ok(Ok(_))) {
            shared.reset(false);
        }
    }

    /// Entries held now (for tests of the bound).
    pub fn len(&self) -> usize {
        self.shared.as_ref().map_or(0, |s| s.lock().entries.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn resp3_client(url: &str) -> Result<Client, String> {
    let info = url
        .into_connection_info()
        .map_err(|e| format!("invalid Redis URL ({e})"))?;
    let settings = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    Client::open(info.set_redis_settings(settings)).map_err(|e| format!("invalid Redis URL ({e})"))
}

/// Connects, turns tracking on, and proves the connection current every
/// `HEARTBEAT`; on any failure forgets everything and starts over. Ends
/// when the tracker is dropped.
async fn run(client: Client, shared: std::sync::Weak<Shared>) {
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let budget = strong.budget;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(budget))
            .set_response_timeout(Some(budget))
            .set_push_sender(Invalidator(strong.clone()));
        let connected = async {
            let mut conn = client
                .get_multiplexed_async_connection_with_config(&config)
                .await?;
            redis::cmd("CLIENT")
                .arg("TRACKING")
                .arg("ON")
                .query_async::<()>(&mut conn)
                .await?;
            Ok::<_, redis::RedisError>(conn)
        };
        match tokio::time::timeout(budget, connected).await {
            Ok(Ok(conn)) => {
                {
                    let mut state = strong.lock();
                    state.entries.clear();
                    state.trusted_until = None;
                    state.conn = Some(conn.clone());
                }
                drop(strong);
                heartbeat(conn, &shared).await;
            }
            Ok(Err(e)) => log::debug!("session tracking: cannot connect ({e})"),
            Err(_) => log::debug!("session tracking: connecting timed out"),
        }
        if let Some(strong) = shared.upgrade() {
            strong.reset(true);
        }
        tokio::time::sleep(RECONNECT).await;
    }
}

/// PINGs until one fails; each answer extends the trust from its send time.
async fn heartbeat(mut conn: MultiplexedConnection, shared: &std::sync::Weak<Shared>) {
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let sent = Instant::now();
        let ping_cmd = redis::cmd("PING");
        let ping = ping_cmd.query_async::<String>(&mut conn);
        match tokio::time::timeout(strong.budget, ping).await {
            Ok(Ok(_)) => {
                let mut state = strong.lock();
                if state.conn.is_none() {
                    // Disconnected meanwhile (the push said so).
                    return;
                }
                state.trusted_until = Some(sent + TRUST);
            }
            _ => return,
        }
        drop(strong);
        tokio::time::sleep(HEARTBEAT).await;
    }
}
