//! The guard's cache of verified access tokens: a token that passed full
//! verification (signature, `typ`, `kid`, `iss`, `aud`, `exp`, `nbf`) is not
//! verified cryptographically again until it expires.
//!
//! - Keyed by the SHA-256 of the whole token string, so a tampered copy of a
//!   cached token (any byte changed) is a different key: a miss, verified in
//!   full, refused. Nothing but a fully verified token is ever inserted.
//! - `exp` (plus the configured leeway, as in full verification) is checked
//!   on every hit; an expired entry is dropped.
//! - Bounded: quick_cache (S3-FIFO) holds at most `AUTHD_GUARD_CACHE_ENTRIES`
//!   entries of 32 + 40 bytes and some bookkeeping, however many distinct
//!   valid tokens arrive; no background threads. 0 turns the cache off.
//!
//! Whether the token's session still lives is not cached here: in `session`
//! mode the guard still asks (see `SessionCheck`).

use sha2::{Digest, Sha256};

use crate::identity::Identity;

#[derive(Clone, Copy)]
struct Verified {
    identity: Identity,
    /// `exp` + leeway, unix seconds: the last second the token is accepted.
    accept_until: u64,
}

pub struct VerifiedTokens {
    cache: Option<quick_cache::sync::Cache<[u8; 32], Verified>>,
}

impl VerifiedTokens {
    pub fn new(entries: usize) -> Self {
        Self {
            cache: (entries > 0).then(|| quick_cache::sync::Cache::new(entries)),
        }
    }

    /// The identity of a token verified before and not expired at `now`.
    pub fn get(&self, key: &[u8; 32], now: u64) -> Option<Identity> {
        let cache = self.cache.as_ref()?;
        let hit = cache.get(key)?;
        if now <= hit.accept_until {
            Some(hit.identity)
        } else {
            cache.remove(key);
            None
        }
    }

    /// Remembers a token that has just passed full verification.
    pub fn insert(&self, key: [u8; 32], identity: Identity, accept_until: u64) {
        if let Some(cache) = &self.cache {
            cache.insert(
                key,
                Verified {
                    identity,
                    accept_until,
                },
            );
        }
    }

    pub fn len(&self) -> usize {
        self.cache.as_ref().map_or(0, |c| c.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The cache key of a token.
pub fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn someone() -> Identity {
        Identity {
            key: None,
            amr: crate::Amr::PASSWORD,
            user_id: Uuid::new_v4(),
            session_id: Uuid::new_v4(),
        }
    }

    #[test]
    fn a_hit_counts_only_until_expiry() {
        let cache = VerifiedTokens::new(10);
        let who = someone();
        cache.insert(key("token"), who, 100);
        assert_eq!(cache.get(&key("token"), 100), Some(who));
        assert_eq!(cache.get(&key("token"), 101), None);
        // Dropped once expired.
        assert_eq!(cache.get(&key("token"), 50), None);
    }

    #[test]
    fn a_different_token_is_a_miss() {
        let cache = VerifiedTokens::new(10);
        cache.insert(key("header.payload.signature"), someone(), 100);
        assert_eq!(cache.get(&key("header.payload.signaturf"), 10), None);
    }

    #[test]
    fn the_cache_stays_within_its_bound() {
        let cache = VerifiedTokens::new(100);
        for i in 0..10_000 {
            cache.insert(key(&format!("token {i}")), someone(), 100);
        }
        assert!(cache.len() <= 110, "{}", cache.len());
    }

    #[test]
    fn zero_entries_turns_it_off() {
        let cache = VerifiedTokens::new(0);
        cache.insert(key("t"), someone(), 100);
        assert_eq!(cache.get(&key("t"), 1), None);
    }
}
