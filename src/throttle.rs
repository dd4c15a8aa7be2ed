//! Login throttling, shared by every instance through Redis.
//!
//! Two counters of failed logins, each a Redis string that lives
//! `AUTHD_LOGIN_LOCKOUT` after its latest failure:
//!
//! - per account: `<prefix>{login:<SHA-256 of the normalized email>}`,
//!   counted whether or not the account exists, so a 429 reveals nothing
//!   (and no email address is written to Redis);
//! - per client IP: `<prefix>{ip:<address>}:login`, against one address
//!   spraying guesses over many accounts.
//!
//! A login is refused with 429 while either counter is at its limit. The
//! check is one pipelined read made before any password hashing, so a
//! throttled flood costs no Argon2 time.

use std::net::IpAddr;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use deadpool_redis::redis;
use sha2::{Digest, Sha256};

use crate::error::StoreError;
use crate::redis_pool::Redis;
use crate::users::Email;

/// Counts one failure and (re)starts the lockout clock, atomically, so the
/// counter never exists without its TTL.
/// KEYS[1] the counter; ARGV[1] lockout in ms. Returns the new count.
const RECORD_FAILURE: &str = "local n = redis.call('INCR', KEYS[1]) \
     redis.call('PEXPIRE', KEYS[1], ARGV[1]) return n";

pub struct LoginThrottle {
    redis: Redis,
    prefix: String,
    max_failures: u32,
    max_failures_per_ip: u32,
    lockout_ms: u64,
}

/// What a check found: whether the caller may try, and the state of the
/// account counter (so a success only clears a counter that exists).
pub struct Verdict {
    /// `Some(wait)` when throttled: the whole seconds to put in Retry-After.
    pub retry_after: Option<u64>,
    account_failures: u32,
}

impl LoginThrottle {
    pub fn new(
        redis: Redis,
        prefix: &str,
        max_failures: u32,
        max_failures_per_ip: u32,
        lockout: Duration,
    ) -> Self {
        Self {
            redis,
            prefix: prefix.to_string(),
            max_failures,
            max_failures_per_ip,
            lockout_ms: lockout.as_millis() as u64,
        }
    }

    fn account_key(&self, email: &Email) -> String {
        let digest = Sha256::digest(email.normalized.as_bytes());
        format!(
            "{}{{login:{}}}",
            self.prefix,
            URL_SAFE_NO_PAD.encode(digest)
        )
    }

    fn ip_key(&self, ip: IpAddr) -> String {
        format!("{}{{ip:{ip}}}:login", self.prefix)
    }

    pub async fn check(&self, email: &Email, ip: Option<IpAddr>) -> Result<Verdict, StoreError> {
        let mut pipe = redis::pipe();
        let account = self.account_key(email);
        pipe.cmd("GET").arg(&account).cmd("PTTL").arg(&account);
        if let Some(ip) = ip {
            let key = self.ip_key(ip);
            pipe.cmd("GET").arg(&key).cmd("PTTL").arg(&key);
        }
        let with_ip = ip.is_some();
        let replies: Vec<(Option<u32>, i64)> = self
            .redis
            .run(|mut conn| async move {
                if with_ip {
                    let (a, a_ttl, b, b_ttl): (Option<u32>, i64, Option<u32>, i64) =
                        pipe.query_async(&mut conn).await?;
                    Ok(vec![(a, a_ttl), (b, b_ttl)])
                } else {
                    let (a, a_ttl): (Option<u32>, i64) = pipe.query_async(&mut conn).await?;
                    Ok(vec![(a, a_ttl)])
                }
            })
            .await?;
        let limits = [self.max_failures, self.max_failures_per_ip];
        let retry_after = replies
            .iter()
            .zip(limits)
            .filter(|((count, _), limit)| count.unwrap_or(0) >= *limit)
            .map(|((_, ttl_ms), _)| (*ttl_ms).max(1000) as u64)
            .max()
            .map(|ms| ms.div_ceil(1000));
        Ok(Verdict {
            retry_after,
            account_failures: replies.first().and_then(|(c, _)| *c).unwrap_or(0),
        })
    }

    pub async fn record_failure(
        &self,
        email: &Email,
        ip: Option<IpAddr>,
    ) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        let mut keys = vec![self.account_key(email)];
        keys.extend(ip.map(|ip| self.ip_key(ip)));
        for key in &keys {
            pipe.cmd("EVAL")
                .arg(RECORD_FAILURE)
                .arg(1)
                .arg(key)
                .arg(self.lockout_ms)
                .ignore();
        }
        self.redis
            .run(|mut conn| async move { pipe.query_async::<()>(&mut conn).await })
            .await
    }

    /// A successful login forgets the account's earlier failures.
    pub async fn reset(&self, email: &Email, verdict: &Verdict) -> Result<(), StoreError> {
        if verdict.account_failures == 0 {
            return Ok(());
        }
        let key = self.account_key(email);
        self.redis
            .run(|mut conn| async move {
                redis::cmd("DEL")
                    .arg(&key)
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await
    }
}
