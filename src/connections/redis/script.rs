//! The one way authd calls a Redis script (sessions and throttling alike):
//! `EVALSHA`, loading the script on a node that does not know it yet
//! (`NOSCRIPT`). A call keeps its keys and arguments, so that it can run either
//! as a plain `EVALSHA`, or, when changes must reach replicas before authd
//! answers (`AUTHD_REDIS_MIN_REPLICAS`), in one pipeline on the master that
//! holds its keys:
//!
//! ```text
//! EVALSHA <script> …;  SET <prefix>{u:<user>}:ack 1 PX 1000;  WAIT <n> <ms>
//! ```
//!
//! Replication is one ordered stream per master, so the small write that
//! `WAIT` measures comes after everything the script (or an earlier call,
//! for a grace-window answer that writes nothing) wrote there: when `n`
//! replicas have it, they have those writes too. The three go to one node
//! in one round trip: were the master to change in between, the script
//! would fail there (`MOVED`) instead of being acknowledged by another.

use deadpool_redis::redis::{
    self, Cmd, ErrorKind, FromRedisValue, Script, ServerErrorKind, ToRedisArgs, Value,
};

use super::keys::ack_key;
use super::{pipeline_at, Redis};
use crate::connections::StoreError;

/// How many replicas must acknowledge a change, and how long `WAIT` may
/// block on the server (less than the Redis budget, so the answer, good or
/// bad, arrives before the client gives up on the connection).
#[derive(Debug, Clone, Copy)]
pub struct Durability {
    pub replicas: u32,
    pub wait_ms: u64,
}

pub struct Call<'a> {
    script: &'a Script,
    keys: Vec<Vec<u8>>,
    args: Vec<Vec<u8>>,
}

impl<'a> Call<'a> {
    pub fn new(script: &'a Script) -> Self {
        Self {
            script,
            keys: Vec::new(),
            args: Vec::new(),
        }
    }

    pub fn key(&mut self, key: impl ToRedisArgs) -> &mut Self {
        self.keys.extend(key.to_redis_args());
        self
    }

    pub fn arg(&mut self, arg: impl ToRedisArgs) -> &mut Self {
        self.args.extend(arg.to_redis_args());
        self
    }

    fn evalsha(&self) -> Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(self.script.get_hash()).arg(self.keys.len());
        for key in &self.keys {
            cmd.arg(key.as_slice());
        }
        for arg in &self.args {
            cmd.arg(arg.as_slice());
        }
        cmd
    }

    /// Runs the call as a plain `EVALSHA`, for state no replica must
    /// acknowledge (counters that only slow an attacker down).
    pub async fn run_plain<T: FromRedisValue>(&self, redis: &Redis) -> Result<T, StoreError> {
        self.run(redis, None, |_| true).await
    }

    /// Runs the call (retried once by `Redis::run` if its connection
    /// dropped), acknowledged by replicas when `durability` says so.
    /// `changed_nothing` tells a reply that reports no change of state (and
    /// promises nothing about earlier ones): it needs no acknowledgement.
    pub async fn run<T: FromRedisValue>(
        &self,
        redis: &Redis,
        durability: Option<Durability>,
        changed_nothing: fn(&Value) -> bool,
    ) -> Result<T, StoreError> {
        let Some(durability) = durability else {
            let cmd = self.evalsha();
            let cmd = &cmd;
            let reply = redis
                .run(|mut conn| async move {
                    let first = cmd.query_async::<Value>(&mut conn).await;
                    if !unknown_script(first.as_ref().map(std::slice::from_ref)) {
                        return first;
                    }
                    self.script.load_async(&mut conn).await?;
                    cmd.query_async(&mut conn).await
                })
                .await?;
            return T::from_redis_value(reply).map_err(|e| StoreError::Redis(e.into()));
        };
        let mut pipe = redis::pipe();
        pipe.add_command(self.evalsha())
            .cmd("SET")
            .arg(ack_key(
                self.keys.first().map(Vec::as_slice).unwrap_or_default(),
            ))
            .arg(1)
            .arg("PX")
            .arg(1000)
            .cmd("WAIT")
            .arg(durability.replicas)
            .arg(durability.wait_ms);
        let pipe = &pipe;
        let key = self.keys.first().map(Vec::as_slice).unwrap_or_default();
        let replies: Vec<Value> = redis
            .run(|mut conn| async move {
                let first = pipeline_at(&mut conn, pipe, key).await;
                if !unknown_script(first.as_deref()) {
                    return first;
                }
                self.script.load_async(&mut conn).await?;
                pipeline_at(&mut conn, pipe, key).await
            })
            .await?;
        let mut replies = replies.into_iter();
        let (Some(reply), Some(_), Some(acked)) = (replies.next(), replies.next(), replies.next())
        else {
            return Err(StoreError::RedisReply("a short pipeline reply".into()));
        };
        let acked = match acked {
            Value::Int(n) => n,
            other => return Err(StoreError::RedisReply(format!("WAIT: {other:?}"))),
        };
        if acked < i64::from(durability.replicas) && !changed_nothing(&reply) {
            return Err(StoreError::NotReplicated {
                wanted: durability.replicas,
                acked,
            });
        }
        T::from_redis_value(reply).map_err(|e| StoreError::Redis(e.into()))
    }
}

/// Whether the script was not loaded on the node that ran the call: an
/// error, or (in a cluster pipeline) the first reply.
fn unknown_script(outcome: Result<&[Value], &redis::RedisError>) -> bool {
    let no_script = Some(ServerErrorKind::NoScript);
    match outcome {
        Err(e) => e.kind() == ErrorKind::Server(ServerErrorKind::NoScript),
        Ok(replies) => {
            matches!(replies.first(), Some(Value::ServerError(e)) if e.kind() == no_script)
        }
    }
}
