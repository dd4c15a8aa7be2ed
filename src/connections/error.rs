//! A store that did not answer: Redis or the database down, slow, or
//! replying nonsense. The cause is kept for the log; clients see a 503.

use deadpool::managed::PoolError;
use deadpool_redis::redis::RedisError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("redis")]
    Redis(#[source] RedisError),
    #[error("redis connection pool")]
    RedisPool(#[source] PoolError<RedisError>),
    #[error("redis: unexpected reply: {0}")]
    RedisReply(String),
    #[error("database")]
    Database(#[source] sqlx::Error),
    #[error("database: unexpected row: {0}")]
    DatabaseRow(String),
    #[error("{0} did not answer within its budget")]
    Timeout(&'static str),
    /// Fewer replicas than `AUTHD_REDIS_MIN_REPLICAS` acknowledged a change.
    #[error("redis: {acked} of {wanted} replicas acknowledged the change in time")]
    NotReplicated { wanted: u32, acked: i64 },
}
