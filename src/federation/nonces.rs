//! ID-token nonces seen: each is accepted once across every instance
//! sharing the Redis (`SET NX PX`), remembered until its token could no
//! longer be accepted anyway.

use std::time::Duration;

use deadpool_redis::redis;

use crate::connections::{KeySchema, Redis, StoreError};

#[derive(Clone)]
pub struct NonceLog {
    redis: Redis,
    keys: KeySchema,
}

impl NonceLog {
    pub fn new(redis: Redis, prefix: &str) -> Self {
        Self {
            redis,
            keys: KeySchema::new(prefix),
        }
    }

    /// Records the nonce (by its `digest`) for `window`; false when it was
    /// recorded before (a replayed token, or one nonce used twice).
    pub async fn first_use(&self, digest: &str, window: Duration) -> Result<bool, StoreError> {
        let key = self.keys.id_token_nonce(digest);
        let millis = window.as_millis().clamp(1_000, 24 * 3_600_000) as u64;
        let (key, millis) = (&key, millis);
        let set: Option<String> = self
            .redis
            .run(|mut conn| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(1)
                    .arg("NX")
                    .arg("PX")
                    .arg(millis)
                    .query_async::<Option<String>>(&mut conn)
                    .await
            })
            .await?;
        Ok(set.is_some())
    }
}
