//! Short-lived second-factor state in Redis, each key with the TTL of what
//! it serves and its own hash tag (Cluster-safe, one key per call):
//!
//! - `<p>{mfa:<SHA-256 of the mfa_token>}`: a hash, `s` the login's state
//!   (JSON) and `a` the wrong answers given; 5 minutes, single use (`DEL`
//!   decides which of two concurrent finishes wins), dropped after
//!   [`MAX_MFA_ATTEMPTS`] wrong answers.
//! - `<p>{webauthn:<challenge_id>}`: a WebAuthn ceremony's state (JSON); 5
//!   minutes, single use (`GETDEL`).
//! - `<p>{u:<user>}:totp`: the step of the user's last accepted TOTP code; a
//!   code of that step or an older one is refused on every instance.

use std::time::Duration;

use deadpool_redis::redis::{self, Script};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::totp::STEP_SECS;
use crate::connections::{Call, KeySchema, Redis, StoreError};

/// How long a login's second step and a WebAuthn ceremony may take.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(300);
/// Wrong answers one `mfa_token` takes before it is dropped (each also
/// counts toward the login throttle).
pub const MAX_MFA_ATTEMPTS: u32 = 5;

#[derive(Clone)]
pub struct Challenges {
    redis: Redis,
    keys: KeySchema,
    spend_step: std::sync::Arc<Script>,
    open: std::sync::Arc<Script>,
    failed: std::sync::Arc<Script>,
}

impl Challenges {
    pub fn new(redis: Redis, prefix: &str) -> Self {
        Self {
            redis,
            keys: KeySchema::new(prefix),
            spend_step: std::sync::Arc::new(Script::new(SPEND_STEP)),
            open: std::sync::Arc::new(Script::new(OPEN)),
            failed: std::sync::Arc::new(Script::new(FAILED)),
        }
    }

    /// Accepts a code of `step` for `user` once: false when a code of this
    /// step or a later one was accepted already.
    pub async fn spend_totp_step(&self, user: Uuid, step: u64) -> Result<bool, StoreError> {
        // Past two steps, the window refuses an older code by itself.
        let ttl_ms = 3 * STEP_SECS * 1000;
        let spent: i64 = Call::new(&self.spend_step)
            .key(self.keys.totp_step(user))
            .arg(step)
            .arg(ttl_ms)
            .run_plain(&self.redis)
            .await?;
        Ok(spent == 1)
    }

    /// Opens a login's second step; returns the `mfa_token` for it.
    pub async fn open_mfa(&self, state: &str) -> Result<String, StoreError> {
        let token = random_token();
        let () = Call::new(&self.open)
            .key(self.keys.mfa_challenge(&digest(&token)))
            .arg(state)
            .arg(CHALLENGE_TTL.as_millis() as u64)
            .run_plain(&self.redis)
            .await?;
        Ok(token)
    }

    /// The state of an open second step (none: unknown, expired or used).
    pub async fn mfa_state(&self, token: &str) -> Result<Option<String>, StoreError> {
        let key = self.keys.mfa_challenge(&digest(token));
        let key = &key;
        self.redis
            .run(|mut conn| async move {
                redis::cmd("HGET")
                    .arg(key)
                    .arg("s")
                    .query_async::<Option<String>>(&mut conn)
                    .await
            })
            .await
    }

    /// A wrong answer to the second step: counted, and the step closed at
    /// the limit.
    pub async fn mfa_failed(&self, token: &str) -> Result<(), StoreError> {
        let () = Call::new(&self.failed)
            .key(self.keys.mfa_challenge(&digest(token)))
            .arg(MAX_MFA_ATTEMPTS)
            .run_plain(&self.redis)
            .await?;
        Ok(())
    }

    /// Closes the second step: true for exactly one of concurrent callers.
    pub async fn close_mfa(&self, token: &str) -> Result<bool, StoreError> {
        self.delete(self.keys.mfa_challenge(&digest(token))).await
    }

    /// Keeps a ceremony's state; returns its `challenge_id`.
    pub async fn put_ceremony(&self, state: &str) -> Result<String, StoreError> {
        let id = random_token();
        let key = self.keys.ceremony(&id);
        let (key, state) = (&key, state);
        self.redis
            .run(|mut conn| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(state)
                    .arg("PX")
                    .arg(CHALLENGE_TTL.as_millis() as u64)
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await?;
        Ok(id)
    }

    /// Takes a ceremony's state: once, on any instance.
    pub async fn take_ceremony(&self, challenge_id: &str) -> Result<Option<String>, StoreError> {
        if !is_token(challenge_id) {
            return Ok(None);
        }
        let key = self.keys.ceremony(challenge_id);
        let key = &key;
        self.redis
            .run(|mut conn| async move {
                redis::cmd("GETDEL")
                    .arg(key)
                    .query_async::<Option<String>>(&mut conn)
                    .await
            })
            .await
    }

    async fn delete(&self, key: String) -> Result<bool, StoreError> {
        let key = &key;
        let deleted: i64 = self
            .redis
            .run(|mut conn| async move { redis::cmd("DEL").arg(key).query_async(&mut conn).await })
            .await?;
        Ok(deleted == 1)
    }
}

/// 32 random bytes, base64url.
fn random_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
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
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

const SPEND_STEP: &str = r"
-- KEYS[1] the user's last accepted TOTP step; ARGV[1] this code's step;
-- ARGV[2] TTL ms. 1: accepted (and recorded), 0: this step or a later one
-- was accepted before.
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= last then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

const OPEN: &str = r"
-- KEYS[1] the second step; ARGV[1] its state; ARGV[2] TTL ms.
redis.call('HSET', KEYS[1], 's', ARGV[1], 'a', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
";

const FAILED: &str = r"
-- KEYS[1] the second step; ARGV[1] the most wrong answers it takes.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return
end
if redis.call('HINCRBY', KEYS[1], 'a', 1) >= tonumber(ARGV[1]) then
  redis.call('DEL', KEYS[1])
end
";
