//! Short-lived second-factor state in Redis, each key with the TTL of what
//! it serves and its own hash tag (Cluster-safe, one key per call):
//!
//! - `<p>{mfa:<SHA-256 of the mfa_token>}`: a hash, `s` the login's state
//!   (JSON), `a` the answers tried, `c` the nonce of the answer that closed
//!   it; 5 minutes. Each answer takes an attempt first (at most
//!   [`MAX_MFA_ATTEMPTS`], then the key is gone), and a right answer closes
//!   it: of two concurrent right answers one wins.
//! - `<p>{webauthn:<challenge_id>}`: a hash, `s` a passkey login's ceremony
//!   state (JSON), `t` the nonce of the call that took it; 5 minutes, single
//!   use.
//! - `<p>{u:<user>}:registration:<challenge_id>`: the same for a passkey
//!   registration, under the user's hash tag, with
//!   `<p>{u:<user>}:registrations` listing the user's pending ones, newest
//!   first: a new one past [`MAX_PENDING_REGISTRATIONS`] replaces the oldest,
//!   so one user's token cannot fill Redis with ceremonies.
//! - `<p>{u:<user>}:totp`: `<step>:<nonce>` of the user's last accepted TOTP
//!   code; a code of that step or an older one is refused on every instance.
//!
//! Every change carries a random nonce, so that a call the connection
//! retried after a lost reply (`Redis::run`) finds its own change and
//! answers as the first time; each waits for `AUTHD_REDIS_MIN_REPLICAS`
//! like a session change (a failover must not bring a spent code back).

use std::time::Duration;

use std::sync::Arc;

use deadpool_redis::redis::{self, Value};
use uuid::Uuid;

use crate::common::random_token;
use crate::connections::{Call, Durability, Function, KeySchema, Library, Redis, StoreError};

/// How long a login's second step and a WebAuthn ceremony may take.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(300);
/// Passkey registrations a user may have pending at once.
pub const MAX_PENDING_REGISTRATIONS: u32 = 3;
/// Answers one `mfa_token` takes (each wrong one also counts toward the
/// login throttle).
pub const MAX_MFA_ATTEMPTS: u32 = 5;
/// How long the last accepted TOTP step is remembered: far beyond the two
/// steps a code is accepted for, so an instance whose clock is behind
/// cannot take a spent code again.
const SPENT_STEP_TTL: Duration = Duration::from_secs(600);

#[derive(Clone)]
pub struct Challenges {
    redis: Redis,
    keys: KeySchema,
    durability: Option<Durability>,
    spend_step: Function,
    open: Function,
    attempt: Function,
    close: Function,
    take: Function,
    open_registration: Function,
}

/// The scripts of second-factor state: one Redis Functions library, its
/// functions in `scripts/` (each file's head lists its KEYS and ARGV).
fn library() -> Arc<Library> {
    Library::new(
        "authd_challenges",
        "",
        &[
            (
                "spend_totp_step",
                include_str!("scripts/spend_totp_step.lua"),
            ),
            ("open", include_str!("scripts/open.lua")),
            ("attempt", include_str!("scripts/attempt.lua")),
            ("close", include_str!("scripts/close.lua")),
            ("take", include_str!("scripts/take.lua")),
            (
                "open_registration",
                include_str!("scripts/open_registration.lua"),
            ),
        ],
    )
}

/// A reply that changed nothing (`0` or nil) needs no replica.
fn nothing_changed(reply: &Value) -> bool {
    matches!(reply, Value::Nil | Value::Int(0))
}

impl Challenges {
    pub fn new(redis: Redis, prefix: &str, durability: Option<Durability>) -> Self {
        let library = library();
        Self {
            redis,
            keys: KeySchema::new(prefix),
            durability,
            spend_step: library.function("spend_totp_step"),
            open: library.function("open"),
            attempt: library.function("attempt"),
            close: library.function("close"),
            take: library.function("take"),
            open_registration: library.function("open_registration"),
        }
    }

    async fn run<T: redis::FromRedisValue>(&self, call: &Call<'_>) -> Result<T, StoreError> {
        call.run(&self.redis, self.durability, nothing_changed)
            .await
    }

    /// Accepts a code of `step` for `user` once: false when a code of this
    /// step or a later one was accepted already.
    pub async fn spend_totp_step(&self, user: Uuid, step: u64) -> Result<bool, StoreError> {
        let spent: i64 = self
            .run(
                Call::new(&self.spend_step)
                    .key(self.keys.totp_step(user))
                    .arg(step)
                    .arg(nonce())
                    .arg(SPENT_STEP_TTL.as_millis() as u64),
            )
            .await?;
        Ok(spent == 1)
    }

    /// Opens a login's second step; returns the `mfa_token` for it.
    pub async fn open_mfa(&self, state: &str) -> Result<String, StoreError> {
        let token = random_token();
        let _: i64 = self
            .run(
                Call::new(&self.open)
                    .key(self.keys.mfa_challenge(&digest(&token)))
                    .arg(state)
                    .arg(CHALLENGE_TTL.as_millis() as u64),
            )
            .await?;
        Ok(token)
    }

    /// Takes one attempt at the second step of `token`; its state, or none
    /// when it is unknown, expired, closed or out of attempts.
    pub async fn mfa_attempt(&self, token: &str) -> Result<Option<String>, StoreError> {
        if !is_token(token) {
            return Ok(None);
        }
        // Counting is the point: a retried call counts twice, at worst.
        Call::new(&self.attempt)
            .key(self.keys.mfa_challenge(&digest(token)))
            .arg(MAX_MFA_ATTEMPTS)
            .run_plain(&self.redis)
            .await
    }

    /// Closes the second step: true for exactly one of concurrent callers
    /// (and again for that one, should its call be retried).
    pub async fn close_mfa(&self, token: &str) -> Result<bool, StoreError> {
        let closed: i64 = self
            .run(
                Call::new(&self.close)
                    .key(self.keys.mfa_challenge(&digest(token)))
                    .arg(nonce()),
            )
            .await?;
        Ok(closed == 1)
    }

    /// Keeps a ceremony's state; returns its `challenge_id`.
    pub async fn put_ceremony(&self, state: &str) -> Result<String, StoreError> {
        let id = random_token();
        let _: i64 = self
            .run(
                Call::new(&self.open)
                    .key(self.keys.ceremony(&id))
                    .arg(state)
                    .arg(CHALLENGE_TTL.as_millis() as u64),
            )
            .await?;
        Ok(id)
    }

    /// Takes a ceremony's state: once, on any instance.
    pub async fn take_ceremony(&self, challenge_id: &str) -> Result<Option<String>, StoreError> {
        if !is_token(challenge_id) {
            return Ok(None);
        }
        self.run(
            Call::new(&self.take)
                .key(self.keys.ceremony(challenge_id))
                .arg(nonce()),
        )
        .await
    }
}

impl Challenges {
    /// Keeps a passkey registration's state for `user`; returns its
    /// `challenge_id`. The user's oldest pending registration goes when
    /// this is one more than [`MAX_PENDING_REGISTRATIONS`].
    pub async fn put_registration(&self, user: Uuid, state: &str) -> Result<String, StoreError> {
        let id = random_token();
        let _: i64 = self
            .run(
                Call::new(&self.open_registration)
                    .key(self.keys.registrations(user))
                    .key(self.keys.registration(user, &id))
                    .arg(state)
                    .arg(CHALLENGE_TTL.as_millis() as u64)
                    .arg(&id)
                    .arg(MAX_PENDING_REGISTRATIONS)
                    .arg(self.keys.registration_prefix(user)),
            )
            .await?;
        Ok(id)
    }

    /// Takes a passkey registration's state: once, on any instance, and
    /// only for the user who started it.
    pub async fn take_registration(
        &self,
        user: Uuid,
        challenge_id: &str,
    ) -> Result<Option<String>, StoreError> {
        if !is_token(challenge_id) {
            return Ok(None);
        }
        self.run(
            Call::new(&self.take)
                .key(self.keys.registration(user, challenge_id))
                .arg(nonce()),
        )
        .await
    }
}

/// What tells a call's own change from another's.
fn nonce() -> String {
    random_token()
}

/// Whether `text` has the shape of a token this module made (so nothing
/// else reaches a key name).
fn is_token(text: &str) -> bool {
    text.len() == 43
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The key name part of a token: its SHA-256, base64url (the token itself
/// never reaches Redis).
fn digest(token: &str) -> String {
    crate::common::sha256_base64url(token)
}

#[cfg(test)]
mod tests {
    //! The scripts against a private Redis, each call made twice where a
    //! connection could retry it after losing the reply.

    use super::*;
    use authd_test_support::servers::{redis_connection, TestRedis};

    /// `FCALL`s the library's `function` with `keys` and `args`, loading
    /// the library first.
    async fn fcall(
        conn: &mut redis::aio::MultiplexedConnection,
        function: &str,
        keys: &[&str],
        args: &[&str],
    ) -> Value {
        let library = library();
        library.load(conn).await.unwrap();
        redis::cmd("FCALL")
            .arg(library.function(function).name())
            .arg(keys.len())
            .arg(keys)
            .arg(args)
            .query_async(conn)
            .await
            .unwrap()
    }

    async fn call(
        conn: &mut redis::aio::MultiplexedConnection,
        function: &str,
        key: &str,
        args: &[&str],
    ) -> Value {
        fcall(conn, function, &[key], args).await
    }

    #[tokio::test]
    async fn a_totp_step_is_spent_once_and_a_retried_spend_still_succeeds() {
        let redis = TestRedis::start();
        let mut conn = redis_connection(&redis.url()).await;
        let spend = |step: &'static str, nonce: &'static str| (step, nonce);
        let mut outcomes = Vec::new();
        for (step, nonce) in [
            spend("100", "a"),
            spend("100", "a"), // the same call, retried: still accepted
            spend("100", "b"), // the same step by another call: refused
            spend("99", "c"),  // an older step: refused
            spend("101", "d"), // a newer one: accepted
            spend("100", "a"), // the first call's retry, too late: refused
        ] {
            outcomes.push(call(&mut conn, "spend_totp_step", "t", &[step, nonce, "600000"]).await);
        }
        let ints: Vec<i64> = outcomes
            .into_iter()
            .map(|v| match v {
                Value::Int(n) => n,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ints, [1, 1, 0, 0, 1, 0]);
    }

    #[tokio::test]
    async fn a_second_step_closes_once_and_its_attempts_are_bounded() {
        let redis = TestRedis::start();
        let mut conn = redis_connection(&redis.url()).await;
        call(&mut conn, "open", "m", &["state", "60000"]).await;
        for _ in 0..2 {
            let got = call(&mut conn, "attempt", "m", &["2"]).await;
            assert_eq!(got, Value::BulkString(b"state".to_vec()));
        }
        // A third answer is over the limit: the step is gone.
        assert_eq!(call(&mut conn, "attempt", "m", &["2"]).await, Value::Nil);
        assert_eq!(call(&mut conn, "close", "m", &["x"]).await, Value::Int(0));

        call(&mut conn, "open", "n", &["state", "60000"]).await;
        assert_eq!(call(&mut conn, "close", "n", &["x"]).await, Value::Int(1));
        // Its own retry still wins; anyone else loses; no attempt after.
        assert_eq!(call(&mut conn, "close", "n", &["x"]).await, Value::Int(1));
        assert_eq!(call(&mut conn, "close", "n", &["y"]).await, Value::Int(0));
        assert_eq!(call(&mut conn, "attempt", "n", &["5"]).await, Value::Nil);
    }

    #[tokio::test]
    async fn a_users_pending_registrations_are_capped_and_the_oldest_goes() {
        let redis = TestRedis::start();
        let mut conn = redis_connection(&redis.url()).await;
        for id in ["a", "b", "c", "d", "d"] {
            let ceremony = format!("{{u}}:registration:{id}");
            let state = format!("state {id}");
            fcall(
                &mut conn,
                "open_registration",
                &["{u}:registrations", &ceremony],
                &[&state, "60000", id, "3", "{u}:registration:"],
            )
            .await;
        }
        let mut alive = Vec::new();
        for id in ["a", "b", "c", "d"] {
            let n: i64 = redis::cmd("EXISTS")
                .arg(format!("{{u}}:registration:{id}"))
                .query_async(&mut conn)
                .await
                .unwrap();
            alive.push(n);
        }
        // The retried "d" took no slot: b, c and d stay.
        assert_eq!(alive, [0, 1, 1, 1]);
        let pending: Vec<String> = redis::cmd("LRANGE")
            .arg("{u}:registrations")
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(pending, ["d", "c", "b"]);
        let ttl: i64 = redis::cmd("PTTL")
            .arg("{u}:registrations")
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!(ttl > 0);
    }

    #[tokio::test]
    async fn a_ceremony_is_taken_once_and_a_retried_take_gets_it_again() {
        let redis = TestRedis::start();
        let mut conn = redis_connection(&redis.url()).await;
        call(&mut conn, "open", "w", &["ceremony", "60000"]).await;
        let state = Value::BulkString(b"ceremony".to_vec());
        assert_eq!(call(&mut conn, "take", "w", &["x"]).await, state);
        assert_eq!(call(&mut conn, "take", "w", &["x"]).await, state);
        assert_eq!(call(&mut conn, "take", "w", &["y"]).await, Value::Nil);
        assert_eq!(call(&mut conn, "take", "gone", &["x"]).await, Value::Nil);
    }
}
