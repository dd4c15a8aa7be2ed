//! DPoP proofs seen (RFC 9449 §11.1): each proof's `jti` is accepted once
//! across every instance sharing the Redis, remembered for as long as the
//! proof could be accepted (`SET NX PX`, under the client key's hash tag).

use std::time::Duration;

use authd_guard::dpop::{BoxFuture, Proof};
use authd_guard::{ProofReplay, Unavailable};

use crate::connections::{KeySchema, Redis, StoreError};

#[derive(Clone)]
pub struct ProofLog {
    redis: Redis,
    keys: KeySchema,
}

impl ProofLog {
    pub fn new(redis: Redis, prefix: &str) -> Self {
        Self {
            redis,
            keys: KeySchema::new(prefix),
        }
    }

    /// Records `proof`'s `jti` for `window`; false when it was recorded
    /// before (a replay).
    pub async fn first_use(&self, proof: &Proof, window: Duration) -> Result<bool, StoreError> {
        let cmd = authd_guard::first_use(self.keys.prefix(), proof, window);
        let cmd = &cmd;
        let set: Option<String> = self
            .redis
            .run(|mut conn| async move { cmd.query_async::<Option<String>>(&mut conn).await })
            .await?;
        Ok(set.is_some())
    }
}

impl ProofReplay for ProofLog {
    fn first_use<'a>(
        &'a self,
        proof: &'a Proof,
        window: Duration,
    ) -> BoxFuture<'a, Result<bool, Unavailable>> {
        Box::pin(async move {
            ProofLog::first_use(self, proof, window)
                .await
                .map_err(Unavailable::new)
        })
    }
}
