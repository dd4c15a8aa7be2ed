//! Redis, and the one rule every Redis call follows: the
//! whole operation, pool wait included, fits in `AUTHD_REDIS_TIMEOUT_MS`, or
//! it fails as a `StoreError` (a 503 to the client).
//!
//! One Redis or a Redis Cluster: `AUTHD_REDIS_URL` with several
//! comma-separated `redis://` URLs selects cluster mode. Callers see one
//! connection type either way; every script's keys share a hash tag, so the
//! cluster client routes each call to the one node that owns them.
//!
//! By concern: `pool` (the pool and its manager), `worker` (each HTTP
//! worker's own connection to one Redis, so a request's Redis I/O needs no
//! hop to another thread), `script` (the one way Redis code is called: a
//! function of a Functions library), `key_schema` (authd's key names). Session
//! liveness from memory, kept current by Redis, is the guard crate's
//! `liveness`. Tests, startup, background tasks and a Redis Cluster use the
//! pool, whose connections do their I/O on the store runtime `Connections`
//! owns.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use deadpool::managed;
use deadpool_redis::redis::cluster::ClusterClientBuilder;
use deadpool_redis::redis::{
    self, AsyncConnectionConfig, Pipeline, RedisError, RedisResult, TlsCertificates, Value,
};
use tokio::runtime::Handle;

use crate::common::telemetry;
use crate::common::Secret;
use crate::connections::StoreError;

pub mod key_schema;
mod pool;
pub mod script;
mod worker;

pub use pool::Connection;
use pool::{retire, Pool, RedisManager, Target, POOL_SIZE};
pub use worker::serve_from_this_thread;

/// A node as the startup warnings see it.
pub struct NodeFacts {
    pub maxmemory_policy: String,
    /// Replicas attached to it (`INFO replication`).
    pub replicas: u64,
    /// `(major, minor)` of `redis_version` (`INFO server`).
    pub version: (u32, u32),
}

#[derive(Clone)]
pub struct Redis {
    pool: Pool,
    budget: Duration,
    /// The configured node URLs (one, or the cluster's seeds).
    nodes: Vec<Secret>,
    /// `AUTHD_REDIS_CA_FILE`'s PEM, for `rediss://` connections.
    ca: Option<Vec<u8>>,
    /// This `Redis`'s key in `WORKER_CONNECTIONS`.
    id: u64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Redis {
    /// Builds the pool; connections are made on first use, so authd starts
    /// (and reports not-ready) while Redis is down. Several comma-separated
    /// URLs mean a Redis Cluster.
    pub fn new(
        url: &Secret,
        ca: Option<Vec<u8>>,
        budget: Duration,
        io: Handle,
    ) -> Result<Self, String> {
        let urls: Vec<&str> = url
            .expose()
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        let invalid = |e: RedisError| format!("invalid Redis URL ({e})");
        let target = match urls.as_slice() {
            [] => return Err("no Redis URL".into()),
            [single] => Target::Single(
                client_for(*single, ca.as_deref()).map_err(invalid)?,
                AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(budget))
                    .set_response_timeout(Some(budget)),
            ),
            // A quarter of the budget per node connection, so a cluster
            // connection can still be made (within the budget) while one
            // node hangs; the client reconnects to that node later.
            nodes => {
                let mut builder = ClusterClientBuilder::new(nodes.to_vec())
                    .connection_timeout(budget / 4)
                    .response_timeout(budget);
                let tls = nodes
                    .iter()
                    .any(|n| n.to_ascii_lowercase().starts_with("rediss://"));
                if let Some(ca) = ca.as_ref().filter(|_| tls) {
                    builder = builder.certs(TlsCertificates {
                        client_tls: None,
                        root_cert: Some(ca.clone()),
                    });
                }
                Target::Cluster(builder.build().map_err(invalid)?)
            }
        };
        let manager = RedisManager { target, budget, io };
        let timeouts = managed::Timeouts {
            wait: Some(budget),
            create: Some(budget),
            recycle: Some(budget),
        };
        let pool = managed::Pool::builder(manager)
            .max_size(POOL_SIZE)
            .timeouts(timeouts)
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| format!("cannot build the Redis pool ({e})"))?;
        let nodes = urls.iter().map(|u| Secret::new(*u)).collect();
        Ok(Self {
            pool,
            budget,
            nodes,
            ca,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// Runs `op` on a pooled connection within the budget (pool wait
    /// included). A connection whose call failed at the transport level or
    /// did not answer in time is retired, so a dead socket is never reused.
    ///
    /// A connection that dropped while Redis itself may be up (a proxy's idle
    /// timeout, `CLIENT KILL`, a failover) costs no request a 503: the idle
    /// single-node connections, likely dropped by the same event, are
    /// discarded (a cluster connection repairs itself) and `op` runs once
    /// more, within the same budget. The scripts are written for that
    /// replay: reads are idempotent, `create` and `rotate` recognise their
    /// own earlier run by its random session id or successor and answer as
    /// it did, a revocation replayed finds nothing left to end (a session
    /// deletion may then answer 404 after it succeeded), and a throttle
    /// counter may count one attempt twice.
    pub async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let deadline = tokio::time::Instant::now() + self.budget;
        let outcome = match self.attempt(&op, deadline).await {
            Err(StoreError::Redis(e)) if e.is_connection_dropped() || e.is_io_error() => {
                log::info!("a Redis connection dropped ({e}); retrying once on a fresh one");
                self.pool
                    .retain(|conn, _| !matches!(conn, Connection::Single(_)));
                self.attempt(&op, deadline).await
            }
            outcome => outcome,
        };
        if outcome.is_err() {
            telemetry::store_error(telemetry::Store::Redis);
        }
        outcome
    }

    async fn attempt<T, F, Fut>(
        &self,
        op: &F,
        deadline: tokio::time::Instant,
    ) -> Result<T, StoreError>
    where
        F: Fn(Connection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        // One Redis only: a cluster connection routes to many nodes.
        let local = match &self.pool.manager().target {
            Target::Single(client, config) => {
                worker::connection(&self.id, client, config, deadline).await
            }
            Target::Cluster(_) => None,
        };
        if let Some(local) = local {
            let (conn, generation) = local?;
            return match tokio::time::timeout_at(deadline, op(Connection::Single(conn))).await {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(e)) => {
                    if is_transport_error(&e) {
                        worker::forget(self.id, generation);
                    }
                    Err(StoreError::Redis(e))
                }
                Err(_) => {
                    worker::forget(self.id, generation);
                    Err(StoreError::Timeout("redis"))
                }
            };
        }
        let conn = match tokio::time::timeout_at(deadline, self.pool.get()).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(e)) => return Err(StoreError::RedisPool(e)),
            Err(_) => return Err(StoreError::Timeout("redis")),
        };
        match tokio::time::timeout_at(deadline, op(Connection::clone(&conn))).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => {
                if is_transport_error(&e) {
                    retire(conn);
                }
                Err(StoreError::Redis(e))
            }
            Err(_) => {
                retire(conn);
                Err(StoreError::Timeout("redis"))
            }
        }
    }

    /// `AUTHD_REDIS_CA_FILE`'s PEM, if set.
    pub fn ca(&self) -> Option<&[u8]> {
        self.ca.as_deref()
    }

    /// The configured URLs: one Redis, or a cluster's seed nodes.
    pub fn nodes(&self) -> &[Secret] {
        &self.nodes
    }

    /// Closes the pool: idle connections are dropped, later calls fail.
    /// (Workers' own connections end with their workers.)
    pub fn close(&self) {
        self.pool.close();
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run(
            |mut conn| async move { redis::cmd("PING").query_async::<String>(&mut conn).await },
        )
        .await
        .map(|_| ())
    }

    /// What the startup warnings need of each configured node, asked node
    /// by node (a cluster client would ask one random node), one round trip
    /// each: its `maxmemory-policy` and how many replicas it has.
    pub async fn node_facts(&self) -> Vec<(String, Result<NodeFacts, StoreError>)> {
        let mut out = Vec::new();
        for node in &self.nodes {
            let facts = async {
                let client =
                    client_for(node.expose(), self.ca.as_deref()).map_err(StoreError::Redis)?;
                let ask = async {
                    let mut conn = client.get_multiplexed_async_connection().await?;
                    redis::pipe()
                        .cmd("CONFIG")
                        .arg("GET")
                        .arg("maxmemory-policy")
                        .cmd("INFO")
                        .arg("replication")
                        .cmd("INFO")
                        .arg("server")
                        .query_async::<(Vec<String>, String, String)>(&mut conn)
                        .await
                };
                match tokio::time::timeout(self.budget, ask).await {
                    Ok(Ok((policy, replication, server))) => Ok(NodeFacts {
                        version: redis_version(&server),
                        maxmemory_policy: policy.get(1).cloned().unwrap_or_default(),
                        replicas: replication
                            .lines()
                            .find_map(|l| l.trim().strip_prefix("connected_slaves:"))
                            .and_then(|n| n.parse().ok())
                            .unwrap_or(0),
                    }),
                    Ok(Err(e)) => Err(StoreError::Redis(e)),
                    Err(_) => Err(StoreError::Timeout("redis")),
                }
            }
            .await;
            out.push((node_name(node.expose()), facts));
        }
        out
    }
}

/// `(major, minor)` from `INFO server`; `(0, 0)` when it says nothing.
fn redis_version(info: &str) -> (u32, u32) {
    let version = info
        .lines()
        .find_map(|l| l.trim().strip_prefix("redis_version:"))
        .unwrap_or_default();
    let mut parts = version.split('.').map(|p| p.parse().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

/// Runs `pipe` on the node that holds `key` (its master): on one Redis the
/// connection itself; on a cluster the key's slot chooses the node, so every
/// command of the pipeline, keyed or not (`WAIT`), reaches that master.
pub async fn pipeline_at(
    conn: &mut Connection,
    pipe: &Pipeline,
    key: &[u8],
) -> RedisResult<Vec<Value>> {
    match conn {
        Connection::Single(c) => pipe.query_async(c).await,
        Connection::Cluster(c) => {
            use redis::cluster_routing::{Route, SingleNodeRoutingInfo, SlotAddr};
            let route = SingleNodeRoutingInfo::SpecificNode(Route::with_key(key, SlotAddr::Master));
            c.route_pipeline(pipe.clone(), 0, pipe.len(), route).await
        }
    }
}

/// A client for one node: over TLS for `rediss://`, verified against `ca`
/// (PEM) when given, else against the system roots.
pub use authd_guard::liveness::client_for;

/// A node's `host:port`, without credentials, for logs.
fn node_name(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    rest.split('/').next().unwrap_or(rest).to_string()
}

fn is_transport_error(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout()
}

#[cfg(test)]
mod version_tests {
    use super::redis_version;

    #[test]
    fn the_version_is_read_from_info_server() {
        assert_eq!(
            redis_version("# Server\r\nredis_version:7.0.15\r\nredis_git_sha1:0\r\n"),
            (7, 0)
        );
        assert_eq!(redis_version("redis_version:6.2.14"), (6, 2));
        assert_eq!(redis_version("nothing"), (0, 0));
    }
}
