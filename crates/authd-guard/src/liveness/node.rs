//! Whether a key of one Redis node exists, answered from memory while the
//! node promises to say when that changes: server-assisted client-side
//! caching (RESP3 `CLIENT TRACKING`, default mode) on one dedicated
//! connection.
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
//! - Answers count only while a heartbeat sent less than `TRUST` ago has
//!   been answered by a master (`ROLE`, every `HEARTBEAT`). A dropped, frozen or
//!   restarted Redis (which forgets all tracking) stops the heartbeat or
//!   disconnects: everything is forgotten, and every lookup goes to Redis
//!   (the caller's fallback) until a new connection tracks again.
//! - The instance that ends a session calls `sync` (one `PING`) before it
//!   answers, so its own next request already sees the end.
//! - Expiry is also checked locally: an answer holds the key's PTTL.
//! - A read that fails (a node that no longer holds the key's slot answers
//!   `MOVED`) is not remembered: the caller's fallback answers.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use redis::aio::{AsyncPushSender, MultiplexedConnection, SendError};
use redis::{AsyncConnectionConfig, Client, PushInfo, PushKind, Value};
use tokio::runtime::Handle;

/// How often the tracking connection proves it is current (`ROLE`).
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
    /// Which connection `conn` is (each reconnect counts one up).
    generation: u64,
}

struct Shared {
    state: Mutex<State>,
    capacity: usize,
    budget: Duration,
    /// A Redis Cluster master: its heartbeat also needs `cluster_state:ok`.
    in_cluster: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Forgets everything and stops trusting until the next heartbeat. The
    /// old map is freed outside the lock.
    fn reset(&self, drop_conn: bool) {
        let (old, conn) = {
            let mut state = self.lock();
            state.trusted_until = None;
            let conn = if drop_conn { state.conn.take() } else { None };
            (std::mem::take(&mut state.entries), conn)
        };
        drop((old, conn));
    }

    /// Forgets every answer (a flush), keeping the connection and trust.
    fn forget_all(&self) {
        let old = std::mem::take(&mut self.lock().entries);
        drop(old);
    }
}

/// Applies invalidations as the connection's driver reads them. Holds the
/// liveness weakly (the connection it serves lives in the liveness) and knows
/// which connection it belongs to, so a late disconnect of an old one does
/// not reset a newer one.
struct Invalidator {
    shared: Weak<Shared>,
    generation: u64,
}

impl AsyncPushSender for Invalidator {
    fn send(&self, info: PushInfo) -> Result<(), SendError> {
        let Some(shared) = self.shared.upgrade() else {
            return Err(SendError);
        };
        match info.kind {
            PushKind::Invalidate => {
                let keys = match info.data.first() {
                    Some(Value::Array(keys)) => Some(keys),
                    // `invalidate` with a null: the whole keyspace (a flush).
                    _ => None,
                };
                let mut flush = keys.is_none();
                if let Some(keys) = keys {
                    let mut state = shared.lock();
                    for key in keys {
                        match key {
                            Value::BulkString(bytes) => match std::str::from_utf8(bytes) {
                                Ok(key) => {
                                    state.entries.remove(key);
                                }
                                Err(_) => flush = true,
                            },
                            // Not a key name: forget everything, to be safe.
                            _ => flush = true,
                        }
                    }
                }
                if flush {
                    shared.forget_all();
                }
            }
            PushKind::Disconnection if shared.lock().generation == self.generation => {
                shared.reset(true);
            }
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

/// Key existence on one node with Redis-driven invalidation; see the
/// module docs. Tracking stops when the last clone is dropped.
#[derive(Clone)]
pub struct NodeTracker {
    shared: Arc<Shared>,
}

impl NodeTracker {
    /// Starts tracking on the node `client` (RESP3) connects to, keeping at
    /// most `capacity` answers. `in_cluster`: a master of a Redis Cluster,
    /// trusted only while it also sees the cluster as healthy.
    pub fn start(
        client: Client,
        budget: Duration,
        capacity: usize,
        in_cluster: bool,
        io: &Handle,
    ) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
            budget,
            in_cluster,
        });
        io.spawn(run(client, Arc::downgrade(&shared)));
        Self { shared }
    }

    /// Whether `key` exists: from memory when Redis has promised to tell of
    /// a change, else read on the tracking connection (and remembered), else
    /// `fallback` (the ordinary pooled read).
    pub async fn exists<F, E>(&self, key: &str, fallback: F) -> Result<bool, E>
    where
        F: Future<Output = Result<bool, E>>,
    {
        let shared = &self.shared;
        let now = Instant::now();
        let (mut conn, mark) = match Self::lookup(shared, key, now) {
            Lookup::Known(exists) => return Ok(exists),
            Lookup::Ask => return fallback.await,
            Lookup::Read(conn, mark) => (conn, mark),
        };
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
        let shared = &self.shared;
        let conn = {
            let state = shared.lock();
            let trusted = state.trusted_until.is_some_and(|t| Instant::now() < t);
            trusted.then(|| state.conn.clone()).flatten()
        };
        let Some(mut conn) = conn else {
            // Not trusted now: nothing will be answered from memory until a
            // heartbeat proves the connection again, after this call.
            shared.reset(false);
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
        self.shared.lock().entries.len()
    }
}

/// Connects, turns tracking on, and proves the connection current every
/// `HEARTBEAT`; on any failure forgets everything and starts over. Ends
/// when the liveness is dropped.
async fn run(client: Client, shared: Weak<Shared>) {
    let mut generation = 0;
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        generation += 1;
        let budget = strong.budget;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(budget))
            .set_response_timeout(Some(budget))
            .set_push_sender(Invalidator {
                shared: shared.clone(),
                generation,
            });
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
                strong.reset(true);
                {
                    let mut state = strong.lock();
                    state.conn = Some(conn.clone());
                    state.generation = generation;
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

/// Asks `ROLE` until an answer fails or is not `master`; each answer from a
/// master extends the trust from its send time. (`ROLE` rather than `PING`:
/// a URL behind a proxy or a failover name could leave this connection on
/// a demoted replica while writes go elsewhere; that must stop the trust.)
/// A cluster master must also report `cluster_state:ok`: a master cut off
/// from the majority still says `master` while its replica is promoted on
/// the other side, but turns its cluster state to `fail` first.
async fn heartbeat(mut conn: MultiplexedConnection, shared: &Weak<Shared>) {
    loop {
        let Some(strong) = shared.upgrade() else {
            return;
        };
        let sent = Instant::now();
        let is_master = |reply: &[Value]| {
            matches!(reply.first(), Some(Value::BulkString(b)) if b.as_slice() == b"master")
                || matches!(reply.first(), Some(Value::SimpleString(s)) if s == "master")
        };
        let in_cluster = strong.in_cluster;
        let healthy = async {
            let reply = redis::cmd("ROLE")
                .query_async::<Vec<Value>>(&mut conn)
                .await?;
            if !in_cluster {
                return Ok::<_, redis::RedisError>(is_master(&reply));
            }
            let info = redis::cmd("CLUSTER")
                .arg("INFO")
                .query_async::<String>(&mut conn)
                .await?;
            Ok(is_master(&reply) && info.lines().any(|l| l.trim() == "cluster_state:ok"))
        };
        match tokio::time::timeout(strong.budget, healthy).await {
            Ok(Ok(true)) => {
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
