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
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
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

/// Answers are spread over this many independently locked maps, so that
/// guarded requests on different threads do not wait for one lock.
const SHARDS: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// A read is in flight; its answer counts only if this mark survives.
    Pending(u64),
    /// The key exists until this instant (or for good).
    Live(Option<Instant>),
    /// The key does not exist.
    Gone,
}

/// An answer and the epoch it belongs to: every reset or flush starts a
/// new epoch, and an answer of an older one no longer counts (so a reset
/// is instant for every reader, though the maps are cleared one by one).
#[derive(Clone, Copy)]
struct Stamped {
    entry: Entry,
    epoch: u64,
}

/// What only connecting, reconnecting and a miss touch.
#[derive(Default)]
struct Control {
    conn: Option<MultiplexedConnection>,
    /// Which connection `conn` is (each reconnect counts one up).
    generation: u64,
}

struct Shared {
    control: Mutex<Control>,
    /// Answers count until `base` + this many nanoseconds; 0 while the
    /// connection is not proven. Written under `control`, read without it.
    trust: AtomicU64,
    epoch: AtomicU64,
    next_mark: AtomicU64,
    shards: Box<[Mutex<HashMap<String, Stamped>>]>,
    hasher: RandomState,
    base: Instant,
    capacity_per_shard: usize,
    budget: Duration,
    /// A Redis Cluster master: its heartbeat also needs `cluster_state:ok`.
    in_cluster: bool,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn control(&self) -> MutexGuard<'_, Control> {
        locked(&self.control)
    }

    fn shard(&self, key: &str) -> MutexGuard<'_, HashMap<String, Stamped>> {
        let index = self.hasher.hash_one(key) as usize % self.shards.len();
        locked(&self.shards[index])
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    fn trusted(&self, now: Instant) -> bool {
        let until = self.trust.load(Ordering::Acquire);
        until != 0 && self.nanos(now) < until
    }

    /// Forgets everything and stops trusting until the next heartbeat.
    fn reset(&self, drop_conn: bool) {
        let conn = {
            let mut control = self.control();
            self.trust.store(0, Ordering::Release);
            self.epoch.fetch_add(1, Ordering::AcqRel);
            if drop_conn {
                control.conn.take()
            } else {
                None
            }
        };
        drop(conn);
        self.clear_shards();
    }

    /// Forgets every answer (a flush), keeping the connection and trust.
    fn forget_all(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.clear_shards();
    }

    /// Frees the maps' memory (their answers stopped counting already);
    /// each map is dropped outside its lock.
    fn clear_shards(&self) {
        for shard in self.shards.iter() {
            let old = std::mem::take(&mut *locked(shard));
            drop(old);
        }
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
                    for key in keys {
                        match key {
                            Value::BulkString(bytes) => match std::str::from_utf8(bytes) {
                                Ok(key) => {
                                    shared.shard(key).remove(key);
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
            PushKind::Disconnection if shared.control().generation == self.generation => {
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
        // At least 16 answers a map, and never more than `capacity` in all.
        let capacity = capacity.max(1);
        let shards = (capacity / 16).clamp(1, SHARDS);
        let shared = Arc::new(Shared {
            control: Mutex::new(Control::default()),
            trust: AtomicU64::new(0),
            epoch: AtomicU64::new(0),
            next_mark: AtomicU64::new(0),
            shards: (0..shards).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            base: Instant::now(),
            capacity_per_shard: capacity / shards,
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
                let mut shard = shared.shard(key);
                if let Some(stamped) = shard.get_mut(key) {
                    if stamped.entry == Entry::Pending(mark) {
                        stamped.entry = answer;
                    }
                }
                Ok(pttl != -2)
            }
            _ => {
                shared.shard(key).remove(key);
                fallback.await
            }
        }
    }

    /// The remembered answer, or a connection and a fresh `Pending` mark to
    /// read with, or: ask Redis the usual way.
    fn lookup(shared: &Shared, key: &str, now: Instant) -> Lookup {
        if !shared.trusted(now) {
            return Lookup::Ask;
        }
        {
            let shard = shared.shard(key);
            let epoch = shared.epoch.load(Ordering::Acquire);
            match shard.get(key).filter(|s| s.epoch == epoch).map(|s| s.entry) {
                Some(Entry::Live(until)) if until.is_none_or(|u| now < u) => {
                    return Lookup::Known(true)
                }
                Some(Entry::Gone) => return Lookup::Known(false),
                _ => {}
            }
        }
        let Some(conn) = shared.control().conn.clone() else {
            return Lookup::Ask;
        };
        let mark = shared.next_mark.fetch_add(1, Ordering::Relaxed) + 1;
        let epoch = shared.epoch.load(Ordering::Acquire);
        let mut shard = shared.shard(key);
        if shard.len() >= shared.capacity_per_shard {
            shard.clear();
        }
        shard.insert(
            key.to_string(),
            Stamped {
                entry: Entry::Pending(mark),
                epoch,
            },
        );
        Lookup::Read(conn, mark)
    }

    /// Returns once every invalidation Redis produced before this call has
    /// been applied (one `PING` on the tracking connection). A failure only
    /// stops the cache from being trusted.
    pub async fn sync(&self) {
        let shared = &self.shared;
        let conn = if shared.trusted(Instant::now()) {
            shared.control().conn.clone()
        } else {
            None
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
        self.shared.shards.iter().map(|s| locked(s).len()).sum()
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
                    let mut control = strong.control();
                    control.conn = Some(conn.clone());
                    control.generation = generation;
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
                let control = strong.control();
                if control.conn.is_none() {
                    // Disconnected meanwhile (the push said so).
                    return;
                }
                strong
                    .trust
                    .store(strong.nanos(sent + TRUST), Ordering::Release);
            }
            _ => return,
        }
        drop(strong);
        tokio::time::sleep(HEARTBEAT).await;
    }
}
