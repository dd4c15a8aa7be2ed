//! The Redis connection pool: deadpool over deadpool-redis's connection
//! types with authd's own manager, which hands out its multiplexed
//! connections as they are (deadpool-redis's own pings on every checkout,
//! doubling a refresh's round trips), pings only connections idle for a
//! while, and makes every connection on the store I/O runtime.

use std::time::Duration;

use deadpool::managed::{self, Metrics, Object, RecycleError, RecycleResult};
use deadpool_redis::redis::aio::{ConnectionLike, MultiplexedConnection};
use deadpool_redis::redis::cluster::ClusterClient;
use deadpool_redis::redis::cluster_async::ClusterConnection;
use deadpool_redis::redis::{
    self, AsyncConnectionConfig, Client, Cmd, Pipeline, RedisError, RedisFuture, Value,
};
use tokio::runtime::Handle;

/// Connections idle longer than this are pinged before reuse.
pub(super) const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);
pub(super) const POOL_SIZE: usize = 16;

/// A connection to one Redis or to a cluster; both multiplex and clone
/// cheaply.
#[derive(Clone)]
pub enum Connection {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Self::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

#[derive(Clone)]
pub(super) enum Target {
    Single(Client, AsyncConnectionConfig),
    Cluster(ClusterClient),
}

pub struct RedisManager {
    pub(super) target: Target,
    pub(super) budget: Duration,
    /// The runtime every connection's I/O task runs on (see `Connections`).
    pub(super) io: Handle,
}

impl managed::Manager for RedisManager {
    type Type = Connection;
    type Error = RedisError;

    async fn create(&self) -> Result<Connection, RedisError> {
        // A connection's I/O task runs on the runtime that makes it. Made on
        // an HTTP worker, it would die with that worker during a graceful
        // shutdown, under requests other workers are still finishing; so
        // every connection is made on the I/O runtime `Connections` owns.
        let target = self.target.clone();
        let connect = async move {
            match target {
                Target::Single(client, config) => client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map(Connection::Single),
                Target::Cluster(client) => {
                    client.get_async_connection().await.map(Connection::Cluster)
                }
            }
        };
        self.io
            .spawn(connect)
            .await
            .map_err(|e| RedisError::from(std::io::Error::other(e)))?
    }

    async fn recycle(&self, conn: &mut Connection, metrics: &Metrics) -> RecycleResult<RedisError> {
        if metrics.last_used() < IDLE_BEFORE_PING {
            return Ok(());
        }
        let ping = redis::cmd("PING");
        match tokio::time::timeout(self.budget, ping.query_async::<String>(conn)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(RecycleError::Backend(e)),
            Err(_) => Err(RecycleError::message("PING timed out")),
        }
    }
}

pub type Pool = managed::Pool<RedisManager>;

/// Drops a connection that failed or hung. A cluster connection is kept: it
/// reconnects to each node by itself, and building a new one waits on every
/// node, so one frozen master would otherwise starve requests for the others.
pub(super) fn retire(conn: Object<RedisManager>) {
    if matches!(*conn, Connection::Single(_)) {
        let _ = Object::take(conn);
    }
}
