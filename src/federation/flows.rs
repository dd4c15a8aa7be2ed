//! The web flow's state between its requests, in Redis so that any
//! instance finishes a flow another began: the flow sent to the provider
//! (under authd's `state`, 10 minutes) and the one-use code handed to the
//! app (60 seconds). Both are taken with `GETDEL`: of two uses, one finds
//! it. Keys hold the SHA-256 of the handle, never the handle.

use std::time::Duration;

use deadpool_redis::redis;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::common::{random_token, sha256_base64url as digest};
use crate::connections::{KeySchema, Redis, StoreError};

/// How long a user may take at the provider.
pub const STATE_TTL: Duration = Duration::from_secs(600);
/// How long the app has to trade authd's code.
pub const CODE_TTL: Duration = Duration::from_secs(60);

/// A flow sent to the provider, waiting for its callback.
#[derive(Serialize, Deserialize)]
pub struct PendingFlow {
    pub provider: String,
    /// Where the user goes back to (allow-listed).
    pub redirect_to: String,
    /// The app's PKCE challenge (S256), that authd's code is bound to.
    pub app_challenge: String,
    /// The nonce whose SHA-256 was sent to the provider.
    pub nonce: String,
    /// authd's own PKCE verifier at the provider.
    pub verifier: String,
}

/// What authd's code stands for: a user whose identity the provider
/// vouched for, for the app that holds the verifier.
#[derive(Serialize, Deserialize)]
pub struct IssuedCode {
    pub user: Uuid,
    pub app_challenge: String,
    /// Which provider vouched (for the metrics).
    pub provider: String,
}

#[derive(Clone)]
pub struct Flows {
    redis: Redis,
    keys: KeySchema,
}

impl Flows {
    pub fn new(redis: Redis, prefix: &str) -> Self {
        Self {
            redis,
            keys: KeySchema::new(prefix),
        }
    }

    async fn put(&self, key: String, value: String, ttl: Duration) -> Result<(), StoreError> {
        let (key, value) = (&key, &value);
        let millis = ttl.as_millis() as u64;
        self.redis
            .run(|mut conn| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("PX")
                    .arg(millis)
                    .query_async::<()>(&mut conn)
                    .await
            })
            .await
    }

    async fn take(&self, key: String) -> Result<Option<String>, StoreError> {
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

    /// Stores `flow`; the `state` that names it.
    pub async fn open(&self, flow: &PendingFlow) -> Result<String, StoreError> {
        let state = random_token();
        let value = serde_json::to_string(flow)
            .map_err(|e| StoreError::RedisReply(format!("a web flow: {e}")))?;
        self.put(self.keys.oauth_state(&digest(&state)), value, STATE_TTL)
            .await?;
        Ok(state)
    }

    /// The flow `state` names, once; none when unknown, used or expired.
    pub async fn take_flow(&self, state: &str) -> Result<Option<PendingFlow>, StoreError> {
        let value = self.take(self.keys.oauth_state(&digest(state))).await?;
        Ok(value.and_then(|v| serde_json::from_str(&v).ok()))
    }

    /// Stores `code`; the handle the app trades.
    pub async fn issue_code(&self, code: &IssuedCode) -> Result<String, StoreError> {
        let handle = random_token();
        let value = serde_json::to_string(code)
            .map_err(|e| StoreError::RedisReply(format!("an app code: {e}")))?;
        self.put(self.keys.oauth_code(&digest(&handle)), value, CODE_TTL)
            .await?;
        Ok(handle)
    }

    /// What the app's code stands for, once.
    pub async fn take_code(&self, handle: &str) -> Result<Option<IssuedCode>, StoreError> {
        let value = self.take(self.keys.oauth_code(&digest(handle))).await?;
        Ok(value.and_then(|v| serde_json::from_str(&v).ok()))
    }
}

/// The S256 PKCE challenge of `verifier` (RFC 7636 §4.2).
pub use crate::common::sha256_base64url as s256;
