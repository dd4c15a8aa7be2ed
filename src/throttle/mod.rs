//! Login throttling, shared by every instance through Redis.
//!
//! Two counters of failed logins, each a Redis string that lives
//! `AUTHD_LOGIN_LOCKOUT` after its latest failure:
//!
//! - per account: `<prefix>{login:<SHA-256 of the normalized email>}`,
//!   counted whether or not the account exists, so a 429 reveals nothing
//!   (and the email itself is not written to Redis);
//! - per client: `<prefix>{ip:<address>}:login`, against one address
//!   spraying guesses over many accounts. IPv6 clients count per /64, the
//!   block one subscriber usually holds.
//!
//! Every attempt first takes a slot in both counters, atomically and before
//! any password hashing (`attempt.lua`): at the limit, the attempt is refused
//! with the counter's remaining lifetime; below it, the counter is bumped
//! there and then. So a burst of parallel guesses gets no more than the limit
//! through, and a throttled flood costs no Argon2 time. A success then
//! clears the account counter and gives back its IP slot.

use std::net::IpAddr;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use deadpool_redis::redis;
use sha2::{Digest, Sha256};
use uuid::Uuid;

mod settings;

pub use settings::ThrottleSettings;

use crate::connections::{Call, Function, KeySchema, Library, Redis, StoreError};

pub struct Throttle {
    redis: Redis,
    keys: KeySchema,
    max_failures: u32,
    max_failures_per_ip: u32,
    lockout_ms: u64,
    register_max_per_ip: u32,
    mail_max_per_address: u32,
    mail_max_per_ip: u32,
    attempt: Function,
    give_back: Function,
}

/// Passkey logins started count per client for a minute.
const CEREMONY_WINDOW_MS: u64 = 60_000;
/// Passkey registrations one user may start a minute (each keeps a
/// ceremony of about 1 KB in Redis for 5 minutes).
pub const REGISTRATIONS_PER_MINUTE: u32 = 10;

/// Registrations count per client for an hour after the latest one.
const REGISTER_WINDOW_MS: u64 = 3_600_000;
/// Mail requests (password reset) count for an hour after the latest one.
const MAIL_WINDOW_MS: u64 = 3_600_000;

/// A permitted attempt: the counters it took a slot in.
pub struct Attempt {
    account_key: String,
    ip_key: Option<String>,
}

pub enum Admission {
    Allowed(Attempt),
    /// Throttled: the whole seconds to put in `Retry-After`.
    Throttled {
        retry_after_secs: u64,
    },
}

impl Throttle {
    pub fn new(redis: Redis, prefix: &str, limits: &ThrottleSettings) -> Self {
        // One Redis Functions library, its functions in `scripts/`.
        let library = Library::new(
            "authd_throttle",
            "",
            &[
                ("attempt", include_str!("scripts/attempt.lua")),
                ("give_back", include_str!("scripts/give_back.lua")),
            ],
        );
        Self {
            redis,
            keys: KeySchema::new(prefix),
            max_failures: limits.login_max_failures,
            max_failures_per_ip: limits.login_max_failures_per_ip,
            lockout_ms: limits.login_lockout.as_millis() as u64,
            register_max_per_ip: limits.register_max_per_ip,
            mail_max_per_address: limits.mail_max_per_address,
            mail_max_per_ip: limits.mail_max_per_ip,
            attempt: library.function("attempt"),
            give_back: library.function("give_back"),
        }
    }

    /// `account`: the normalized email, which never reaches Redis itself.
    fn account_key(&self, account: &str) -> String {
        let digest = Sha256::digest(account.as_bytes());
        self.keys.login_failures(&URL_SAFE_NO_PAD.encode(digest))
    }

    /// Takes a registration slot for the client (kept whether or not the
    /// registration succeeds), or refuses when it has used them all.
    pub async fn admit_registration(&self, ip: Option<IpAddr>) -> Result<Option<u64>, StoreError> {
        let Some(ip) = ip else {
            return Ok(None);
        };
        let key = self.keys.client_registrations(&ip_bucket(ip));
        let slot = self
            .take_slot(&key, self.register_max_per_ip, REGISTER_WINDOW_MS)
            .await?;
        Ok(slot.err().map(|wait_ms| wait_ms.max(1).div_ceil(1000)))
    }

    /// Takes a slot for one passkey login the client starts (each keeps a
    /// ceremony in Redis for 5 minutes): `AUTHD_LOGIN_MAX_FAILURES_PER_IP`
    /// a minute, or the seconds to wait.
    pub async fn admit_ceremony(&self, ip: Option<IpAddr>) -> Result<Option<u64>, StoreError> {
        let Some(ip) = ip else {
            return Ok(None);
        };
        let key = self.keys.client_ceremonies(&ip_bucket(ip));
        let slot = self
            .take_slot(&key, self.max_failures_per_ip, CEREMONY_WINDOW_MS)
            .await?;
        Ok(slot.err().map(|wait_ms| wait_ms.max(1).div_ceil(1000)))
    }

    /// Takes a slot for one passkey registration `user` starts:
    /// [`REGISTRATIONS_PER_MINUTE`], or the seconds to wait.
    pub async fn admit_passkey_registration(&self, user: Uuid) -> Result<Option<u64>, StoreError> {
        let key = self.keys.registration_starts(user);
        let slot = self
            .take_slot(&key, REGISTRATIONS_PER_MINUTE, CEREMONY_WINDOW_MS)
            .await?;
        Ok(slot.err().map(|wait_ms| wait_ms.max(1).div_ceil(1000)))
    }

    /// Takes a slot for one mail to `account` (the normalized email)
    /// requested from `ip`, in both counters (kept whether or not a mail
    /// goes out, so a 429 tells nothing about the account), or refuses with
    /// the seconds to wait when either is full.
    pub async fn admit_mail(
        &self,
        account: &str,
        ip: Option<IpAddr>,
    ) -> Result<Option<u64>, StoreError> {
        let digest = URL_SAFE_NO_PAD.encode(Sha256::digest(account.as_bytes()));
        let address_key = self.keys.mail_requests(&digest);
        let address = self.take_slot(&address_key, self.mail_max_per_address, MAIL_WINDOW_MS);
        let client = async {
            match ip {
                Some(ip) => {
                    let key = self.keys.client_mail_requests(&ip_bucket(ip));
                    self.take_slot(&key, self.mail_max_per_ip, MAIL_WINDOW_MS)
                        .await
                }
                None => Ok(Ok(())),
            }
        };
        let (address, client) = tokio::join!(address, client);
        let wait = [address?, client?]
            .into_iter()
            .filter_map(Result::err)
            .max();
        Ok(wait.map(|wait_ms| wait_ms.max(1).div_ceil(1000)))
    }

    fn ip_key(&self, ip: IpAddr) -> String {
        self.keys.client_login_failures(&ip_bucket(ip))
    }

    /// Takes a slot for one login attempt in the account's and the client's
    /// counters, or refuses if either is at its limit.
    pub async fn admit(&self, account: &str, ip: Option<IpAddr>) -> Result<Admission, StoreError> {
        let account_key = self.account_key(account);
        let ip_key = ip.map(|ip| self.ip_key(ip));
        // Different hash tags: two one-key scripts, sent together.
        let account = self.take_slot(&account_key, self.max_failures, self.lockout_ms);
        let client = async {
            match &ip_key {
                Some(key) => self
                    .take_slot(key, self.max_failures_per_ip, self.lockout_ms)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let (account, client) = tokio::join!(account, client);
        let (account, client) = (account?, client?);
        let waits: Vec<u64> = [Some(account), client]
            .into_iter()
            .flatten()
            .filter_map(|slot| slot.err())
            .collect();
        if let Some(wait_ms) = waits.into_iter().max() {
            // A slot taken in one counter while the other refused is given back.
            if account.is_ok() {
                self.give_back(&account_key, false).await?;
            }
            if let (Some(key), Some(Ok(()))) = (&ip_key, client) {
                self.give_back(key, false).await?;
            }
            return Ok(Admission::Throttled {
                retry_after_secs: wait_ms.max(1).div_ceil(1000),
            });
        }
        Ok(Admission::Allowed(Attempt {
            account_key,
            ip_key,
        }))
    }

    /// `Ok(())` when a slot was taken, `Err(ms)` with the time left when full.
    async fn take_slot(
        &self,
        key: &str,
        limit: u32,
        window_ms: u64,
    ) -> Result<Result<(), u64>, StoreError> {
        let (allowed, wait_ms): (u8, i64) = Call::new(&self.attempt)
            .key(key)
            .arg(limit)
            .arg(window_ms)
            .run_plain(&self.redis)
            .await?;
        Ok(if allowed == 1 {
            Ok(())
        } else {
            Err(wait_ms.max(0) as u64)
        })
    }

    /// The attempt succeeded: the account's earlier failures are forgotten
    /// and the client's slot is returned.
    pub async fn succeeded(&self, attempt: Attempt) -> Result<(), StoreError> {
        self.return_slots(attempt, true).await
    }

    /// The attempt could not be decided (a store failed): it gives back its
    /// slots and counts for nothing.
    pub async fn release(&self, attempt: Attempt) -> Result<(), StoreError> {
        self.return_slots(attempt, false).await
    }

    async fn return_slots(&self, attempt: Attempt, clear_account: bool) -> Result<(), StoreError> {
        let account = self.give_back(&attempt.account_key, clear_account);
        let client = async {
            match &attempt.ip_key {
                Some(key) => self.give_back(key, false).await,
                None => Ok(()),
            }
        };
        let (account, client) = tokio::join!(account, client);
        account.and(client)
    }

    /// `clear`: forget the counter (one `DEL`, no script: a login's
    /// success costs Redis one command less); else return one slot.
    async fn give_back(&self, key: &str, clear: bool) -> Result<(), StoreError> {
        if clear {
            return self
                .redis
                .run(|mut conn| async move {
                    redis::cmd("DEL")
                        .arg(key)
                        .query_async::<()>(&mut conn)
                        .await
                })
                .await;
        }
        Call::new(&self.give_back)
            .key(key)
            .arg("one")
            .run_plain(&self.redis)
            .await
    }
}

/// What one client is counted as: its IPv4 address, or its IPv6 /64 (the
/// block one subscriber usually holds).
fn ip_bucket(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let block = u128::from(v6) & (u128::MAX << 64);
            format!("{}/64", std::net::Ipv6Addr::from(block))
        }
        v4 => v4.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> Throttle {
        let redis = Redis::new(
            &crate::common::Secret::new("redis://127.0.0.1:1"),
            None,
            std::time::Duration::from_millis(10),
            tokio::runtime::Handle::current(),
        )
        .unwrap();
        let limits = ThrottleSettings::read(&crate::common::settings::Vars::new([])).unwrap();
        Throttle::new(redis, "p:", &limits)
    }

    #[tokio::test]
    async fn ipv6_clients_share_a_bucket_per_64() {
        let t = throttle();
        let a = t.ip_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = t.ip_key("2001:db8:1:2:bbbb::9".parse().unwrap());
        let c = t.ip_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            t.ip_key("::ffff:192.0.2.1".parse().unwrap()),
            "p:{ip:192.0.2.1}:login"
        );
    }
}
