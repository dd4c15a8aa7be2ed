//! Session liveness by RFC 7662 introspection at authd, for resource servers
//! that cannot reach authd's Redis: `POST /api/introspect` with the token
//! and one of authd's `AUTHD_INTROSPECTION_SECRETS`, each answer kept for
//! `ttl` (keyed by the SHA-256 of the token, bounded). A revoked session is
//! refused within `ttl` plus one round trip.

use std::fmt;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::cache;
use crate::identity::Identity;
use crate::session_check::SessionCheck;
use crate::unavailable::Unavailable;

pub struct Introspection {
    client: reqwest::Client,
    url: String,
    secret: String,
    ttl: Duration,
    answers: Option<quick_cache::sync::Cache<[u8; 32], (bool, Instant)>>,
}

impl fmt::Debug for Introspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspection")
            .field("url", &self.url)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Answer {
    active: bool,
}

impl Introspection {
    /// `url`: authd's introspection endpoint (`<authd>/api/introspect`);
    /// `secret`: one of its introspection secrets; `ttl`: how long an answer
    /// is reused (0: ask every time); `timeout`: the budget of one call
    /// (then 503); `entries`: answers kept at most.
    pub fn new(
        url: impl Into<String>,
        secret: impl Into<String>,
        ttl: Duration,
        timeout: Duration,
        entries: usize,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            client: reqwest::Client::builder().timeout(timeout).build()?,
            url: url.into(),
            secret: secret.into(),
            ttl,
            answers: (!ttl.is_zero() && entries > 0)
                .then(|| quick_cache::sync::Cache::new(entries)),
        })
    }

    async fn ask(&self, token: &str) -> Result<bool, Unavailable> {
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.secret)
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(|e| Unavailable::new(e.without_url()))?;
        if !response.status().is_success() {
            return Err(Unavailable::new(format!(
                "introspection answered {}",
                response.status()
            )));
        }
        let answer: Answer = response
            .json()
            .await
            .map_err(|e| Unavailable::new(e.without_url()))?;
        Ok(answer.active)
    }
}

impl SessionCheck for Introspection {
    async fn is_live(&self, _identity: Identity, token: &str) -> Result<bool, Unavailable> {
        let key = cache::key(token);
        if let Some(answers) = &self.answers {
            if let Some((active, at)) = answers.get(&key) {
                if at.elapsed() < self.ttl {
                    return Ok(active);
                }
            }
        }
        let active = self.ask(token).await?;
        if let Some(answers) = &self.answers {
            answers.insert(key, (active, Instant::now()));
        }
        Ok(active)
    }
}
