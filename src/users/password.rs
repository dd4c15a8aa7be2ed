//! Argon2id hashing on tokio's blocking pool, a few at a time. A flood of
//! logins waits for a permit (bounded in time) instead of piling work onto
//! the async workers or into memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::Argon2;
use tokio::sync::Semaphore;

use super::credentials::Password;
use crate::error::StoreError;

#[derive(Clone)]
pub struct PasswordHasher {
    permits: Arc<Semaphore>,
    /// How long a login may wait for a hashing slot before it gets a 503.
    queue_budget: Duration,
    /// Argon2 runs so far: lets tests prove a path did no hashing.
    runs: Arc<AtomicU64>,
    /// A real Argon2id hash of a random password, verified for unknown
    /// emails so that they cost the same time as a wrong password.
    dummy_hash: Arc<String>,
}

impl PasswordHasher {
    /// Hashes one random password (about 50 ms) to make the dummy.
    pub fn new(queue_budget: Duration) -> Result<Self, String> {
        let parallel = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        // Leave a core to the async workers so refreshes and the guard stay
        // quick while logins queue.
        let permits = parallel.saturating_sub(1).max(1);
        let mut random = [0u8; 32];
        rand::fill(&mut random);
        let dummy_hash = Argon2::default()
            .hash_password(&random)
            .map_err(|e| format!("argon2: {e}"))?
            .to_string();
        Ok(Self {
            permits: Arc::new(Semaphore::new(permits)),
            queue_budget,
            dummy_hash: Arc::new(dummy_hash),
            runs: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Argon2id (m=19 MiB, t=2, p=1: the OWASP minimum), PHC string format.
    pub async fn hash(&self, password: Password) -> Result<String, StoreError> {
        self.on_blocking_pool(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| StoreError::Hashing(e.to_string()))
        })
        .await?
    }

    /// Verifies against `stored`, or against the dummy when there is no
    /// account, so both take the same time.
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<String>,
    ) -> Result<bool, StoreError> {
        let known = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.dummy_hash.as_str().to_owned());
        let matched = self
            .on_blocking_pool(move || {
                Argon2::default()
                    .verify_password(password.as_bytes(), hash.as_str())
                    .is_ok()
            })
            .await?;
        Ok(known && matched)
    }

    /// How many hashes and verifications this process has run.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    async fn on_blocking_pool<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = tokio::time::timeout(self.queue_budget, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| StoreError::Busy)?
            .map_err(|_| StoreError::Busy)?;
        self.runs.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|e| StoreError::Hashing(e.to_string()))
    }
}

/// A short public name for a password hash: what Redis keeps to tell which
/// password a login was checked against (see `revoke_all.lua`). It reveals
/// nothing about the password: the hash it is taken from is salted Argon2id.
pub fn fingerprint(password_hash: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(password_hash.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}
