//! The one way authd calls Redis code (sessions, throttling and second
//! factors alike): a function of a Redis Functions library by `FCALL`,
//! loading the library on a node that does not know it yet (`Function not
//! found`: a new node, a restart without persistence). A library's name
//! holds a digest of its code, so instances of two authd versions never
//! call each other's functions; `FUNCTION LOAD` goes to every master of a
//! cluster and is replicated like a write, so replicas that take over have
//! it. A call keeps its keys and arguments, so that it can run either as a
//! plain `FCALL`, or, when changes must reach replicas before authd answers
//! (`AUTHD_REDIS_MIN_REPLICAS`), in one pipeline on the master that holds
//! its keys:
//!
//! ```text
//! FCALL <function> …;  SET <prefix>{u:<user>}:ack 1 PX 1000;  WAIT <n> <ms>
//! ```
//!
//! Replication is one ordered stream per master, so the small write that
//! `WAIT` measures comes after everything the script (or an earlier call,
//! for a grace-window answer that writes nothing) wrote there: when `n`
//! replicas have it, they have those writes too. The three go to one node
//! in one round trip: were the master to change in between, the script
//! would fail there (`MOVED`) instead of being acknowledged by another.

use std::sync::Arc;

use deadpool_redis::redis::{self, Cmd, FromRedisValue, RedisResult, ToRedisArgs, Value};
use sha2::{Digest, Sha256};

use super::key_schema::ack_key;
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

/// A Redis Functions library (Redis 7.0+): Lua helpers defined once when
/// it loads, and functions registered by name. Its functions run without
/// re-creating the helpers on every call, as a script prepended with them
/// would.
pub struct Library {
    name: String,
    code: String,
}

/// One function of a library.
#[derive(Clone)]
pub struct Function {
    library: Arc<Library>,
    name: String,
}

impl Function {
    /// The name `FCALL` takes: `<library>_<function>`.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Library {
    /// `prelude` (helpers, `local` only) and `functions`: a name and a
    /// body that reads `KEYS` and `ARGV` as a script does. Named
    /// `<base>_<digest>`, each function `<library>_<name>`.
    pub fn new(base: &str, prelude: &str, functions: &[(&str, &str)]) -> Arc<Self> {
        let mut body = String::from(prelude);
        for (name, code) in functions {
            body.push_str(&format!(
                "redis.register_function('{{LIBRARY}}_{name}', function(KEYS, ARGV)\n{code}\nend)\n"
            ));
        }
        let digest = Sha256::digest(body.as_bytes());
        let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("{base}_{hex}");
        let code = format!("#!lua name={name}\n{}", body.replace("{LIBRARY}", &name));
        Arc::new(Self { name, code })
    }

    pub fn function(self: &Arc<Self>, name: &str) -> Function {
        Function {
            library: self.clone(),
            name: format!("{}_{name}", self.name),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Loads the library on the node `conn` reaches (`Call` does so on a
    /// node that lacks it).
    pub async fn load<C: redis::aio::ConnectionLike>(&self, conn: &mut C) -> RedisResult<()> {
        redis::cmd("FUNCTION")
            .arg("LOAD")
            .arg("REPLACE")
            .arg(&self.code)
            .query_async::<Value>(conn)
            .await
            .map(drop)
    }
}

pub struct Call<'a> {
    function: &'a Function,
    keys: Vec<Vec<u8>>,
    args: Vec<Vec<u8>>,
}

impl<'a> Call<'a> {
    pub fn new(function: &'a Function) -> Self {
        Self {
            function,
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

    fn command(&self) -> Cmd {
        let mut cmd = redis::cmd("FCALL");
        cmd.arg(&self.function.name);
        cmd.arg(self.keys.len());
        for key in &self.keys {
            cmd.arg(key.as_slice());
        }
        for arg in &self.args {
            cmd.arg(arg.as_slice());
        }
        cmd
    }

    /// Runs the call as a plain `FCALL`, for state no replica must
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
            let cmd = self.command();
            let cmd = &cmd;
            let reply = redis
                .run(|mut conn| async move {
                    let first = cmd.query_async::<Value>(&mut conn).await;
                    if !unknown_function(first.as_ref().map(std::slice::from_ref)) {
                        return first;
                    }
                    self.function.library.load(&mut conn).await?;
                    cmd.query_async(&mut conn).await
                })
                .await?;
            return T::from_redis_value(reply).map_err(|e| StoreError::Redis(e.into()));
        };
        let mut pipe = redis::pipe();
        pipe.add_command(self.command())
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
                if !unknown_function(first.as_deref()) {
                    return first;
                }
                self.function.library.load(&mut conn).await?;
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

/// Whether the function's library was not loaded on the node that ran the
/// call: an error, or (in a cluster pipeline) the first reply. Redis has no
/// error code of its own for it: `ERR Function not found`.
fn unknown_function(outcome: Result<&[Value], &redis::RedisError>) -> bool {
    match outcome {
        // A pipeline's error keeps its replies' details only in its text.
        Err(e) => e.code() == Some("ERR") && e.to_string().contains(FUNCTION_NOT_FOUND),
        Ok(replies) => matches!(replies.first(), Some(Value::ServerError(e))
            if no_function(Some(e.code()), e.details())),
    }
}

/// `ERR Function not found` (Redis has no error code of its own for it).
const FUNCTION_NOT_FOUND: &str = "Function not found";

fn no_function(code: Option<&str>, detail: Option<&str>) -> bool {
    code == Some("ERR") && detail.is_some_and(|d| d.starts_with(FUNCTION_NOT_FOUND))
}
