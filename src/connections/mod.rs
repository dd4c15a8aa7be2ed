//! One owner for every connection authd holds: the Redis pool, the SQL pool,
//! and the runtime their I/O runs on. Built once in `startup`, held by the
//! application (no process-wide static), closed on shutdown. Domain stores
//! receive the handle they need (`Redis` or `Sql`) and nothing else.

mod error;
mod hints;
mod plaintext;
pub mod redis;
mod settings;
mod sql;

pub use authd_guard::liveness::Liveness;
pub use error::StoreError;
pub use plaintext::store_transport_warnings;
pub use redis::key_schema::KeySchema;
pub use redis::script::{Call, Durability, Function, Library};
pub use redis::{client_for, pipeline_at, serve_from_this_thread, Connection, Redis};
pub use settings::{DatabaseSettings, RedisSettings};
pub use sql::{sqlite_file, Sql};

/// The runtime every store connection does its I/O on: one thread, alive as
/// long as the application, independent of the HTTP workers (which stop
/// one by one during a graceful shutdown).
struct IoRuntime(Option<tokio::runtime::Runtime>);

impl Drop for IoRuntime {
    fn drop(&mut self) {
        // Never blocks, so it may happen inside another runtime (tests).
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

pub struct Connections {
    pub redis: Redis,
    pub sql: Sql,
    /// Session liveness with Redis-driven invalidation.
    pub liveness: Liveness,
    _io: IoRuntime,
}

impl Connections {
    /// Opens the SQL pool (the database must answer: migrations run now) and
    /// builds the Redis pool (connected on first use, so authd starts while
    /// Redis is down and reports not-ready).
    /// `tracked_keys`: how many session liveness answers to keep in memory
    /// (0: none, every check asks Redis).
    pub async fn open(
        database: &DatabaseSettings,
        redis: &RedisSettings,
        redis_ca: Option<Vec<u8>>,
        tracked_keys: usize,
    ) -> Result<Self, ConnectError> {
        // TLS to the stores (rediss://, Postgres sslmode) with aws-lc, the
        // crypto jsonwebtoken uses too; a second call finds it installed.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("authd-store-io")
            .enable_all()
            .build()
            .map_err(|e| ConnectError::Runtime(e.to_string()))?;
        let io = IoRuntime(Some(runtime));
        let handle = match &io.0 {
            Some(rt) => rt.handle().clone(),
            None => return Err(ConnectError::Runtime("no runtime".into())),
        };
        let sql = Sql::connect(database.url.expose(), database.timeout, handle.clone())
            .await
            .map_err(ConnectError::Database)?;
        let budget = redis.timeout;
        let redis = Redis::new(&redis.url, redis_ca, budget, handle.clone())
            .map_err(ConnectError::Redis)?;
        let nodes: Vec<&str> = redis.nodes().iter().map(|n| n.expose()).collect();
        let liveness = Liveness::start(&nodes, redis.ca(), budget, tracked_keys, &handle);
        Ok(Self {
            redis,
            sql,
            liveness,
            _io: io,
        })
    }

    /// Readiness: the stores that do not answer within their budgets, by
    /// name (`redis`, `database`), each with why; empty when both do.
    pub async fn unanswered(&self) -> Vec<(&'static str, StoreError)> {
        let (redis, sql) = tokio::join!(self.redis.ping(), self.sql.ping());
        [("redis", redis), ("database", sql)]
            .into_iter()
            .filter_map(|(store, answer)| answer.err().map(|e| (store, e)))
            .collect()
    }

    /// Startup warnings about each Redis node: an evicting Redis silently
    /// logs users out or forgets revocations; replicas without
    /// `AUTHD_REDIS_MIN_REPLICAS` can lose acknowledged changes in a failover.
    pub async fn warn_about_redis(&self, min_replicas: u32) {
        let urls = self
            .redis
            .nodes()
            .iter()
            .map(|url| hints::redacted(url.expose()));
        for ((node, facts), tried) in self.redis.node_facts().await.into_iter().zip(urls) {
            let facts = match facts {
                Ok(facts) => facts,
                Err(e) => {
                    log::warn!(
                        "Redis {node} did not answer at startup ({}; tried {tried}): {}; requests that need it will get 503 until it does",
                        crate::common::error_chain(&e),
                        hints::START_REDIS,
                    );
                    continue;
                }
            };
            if facts.version < (7, 0) {
                log::error!(
                    "Redis {node} is version {}.{}: authd needs 7.0 or newer (its session scripts use PEXPIREAT … GT); refreshes will fail until it is upgraded",
                    facts.version.0,
                    facts.version.1
                );
            }
            if facts.maxmemory_policy != "noeviction" {
                log::warn!(
                    "Redis {node}: maxmemory-policy is `{}`: under memory pressure Redis will evict sessions and revocation markers; set it to `noeviction`",
                    facts.maxmemory_policy
                );
            }
            if facts.replicas > 0 && min_replicas == 0 {
                log::warn!(
                    "Redis {node} has {} replica(s) but AUTHD_REDIS_MIN_REPLICAS is 0: a failover can lose rotations and logouts it acknowledged (log users out, undo logouts); set it to 1",
                    facts.replicas
                );
            }
        }
    }

    /// Closes both pools; calls after this fail as a store outage.
    pub async fn close(&self) {
        self.redis.close();
        self.sql.close().await;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Database(String),
    #[error("{0}")]
    Redis(String),
    #[error("cannot start the store I/O runtime: {0}")]
    Runtime(String),
}
