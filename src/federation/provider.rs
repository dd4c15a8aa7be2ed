//! One OpenID provider as authd meets it: its discovery document (fetched
//! once, on first use) and its JWKS (the guard crate's [`Jwks`], held in
//! memory). An unknown `kid` fetches the JWKS again, so a provider's new
//! key takes effect at once: at most [`FETCHES_PER_MINUTE`] times a
//! minute, and requests that missed while a fetch ran use that fetch
//! instead of starting their own.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use authd_guard::{Algorithm, Jwks, VerifyingKey};
use serde::Deserialize;

use super::settings::ProviderSettings;

/// How many JWKS fetches unknown `kid`s may cause per provider a minute.
pub const FETCHES_PER_MINUTE: usize = 6;
/// How long a key set is used before it is fetched again in the background.
const KEYS_MAX_AGE: Duration = Duration::from_secs(3600);
/// After a failed discovery, requests are answered 503 for this long
/// without trying again (a provider down is not hammered).
const DISCOVERY_RETRY: Duration = Duration::from_secs(10);

/// The asymmetric algorithms an ID token may be signed with (never `none`
/// or HS*: a provider's keys are public).
const ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The provider could not be reached, or answered what authd cannot use:
/// the request is answered 503 and may be retried.
#[derive(Debug, thiserror::Error)]
#[error("OpenID provider {provider}: {reason}")]
pub struct ProviderUnavailable {
    pub provider: String,
    pub reason: String,
}

/// What a key lookup found.
pub enum KeyLookup {
    Found(Arc<VerifyingKey>),
    /// The provider's set has no such key, even fetched again.
    Unknown,
}

pub struct Provider {
    pub settings: ProviderSettings,
    client: reqwest::Client,
    discovered: tokio::sync::OnceCell<Discovered>,
    last_failed_discovery: std::sync::Mutex<Option<Instant>>,
    /// Held while a JWKS fetch runs, so the requests that miss meanwhile
    /// wait for it.
    fetches: tokio::sync::Mutex<Fetches>,
}

#[derive(Default)]
struct Fetches {
    /// When the fetches of the last minute started.
    started: VecDeque<Instant>,
    /// When the latest one ended.
    ended: Option<Instant>,
}

/// What authd uses of the discovery document (OpenID Connect Discovery
/// 1.0 §3).
#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    jwks_uri: String,
    /// The web flow's: where users are sent, where codes are exchanged.
    #[serde(default)]
    authorization_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint: Option<String>,
}

struct Discovered {
    keys: Jwks,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
}

/// Why a code exchange gave no ID token.
#[derive(Debug)]
pub enum ExchangeError {
    /// The provider refused the code (4xx), or answered without an
    /// `id_token`.
    Refused(String),
    Unavailable(ProviderUnavailable),
}

#[derive(Deserialize)]
struct TokenAnswer {
    #[serde(default)]
    id_token: Option<String>,
}

impl Provider {
    pub fn new(settings: ProviderSettings, client: reqwest::Client) -> Self {
        Self {
            settings,
            client,
            discovered: tokio::sync::OnceCell::new(),
            last_failed_discovery: std::sync::Mutex::new(None),
            fetches: tokio::sync::Mutex::new(Fetches::default()),
        }
    }

    fn unavailable(&self, reason: impl Into<String>) -> ProviderUnavailable {
        ProviderUnavailable {
            provider: self.settings.name.clone(),
            reason: reason.into(),
        }
    }

    /// The discovery document, fetched on first use; a failure is tried
    /// again on a later request, at most once per [`DISCOVERY_RETRY`].
    async fn discovered(&self) -> Result<&Discovered, ProviderUnavailable> {
        if let Some(discovered) = self.discovered.get() {
            return Ok(discovered);
        }
        {
            let last = self
                .last_failed_discovery
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|at| at.elapsed() < DISCOVERY_RETRY) {
                return Err(self.unavailable("discovery failed moments ago"));
            }
        }
        let outcome = self.discovered.get_or_try_init(|| self.discover()).await;
        if outcome.is_err() {
            *self
                .last_failed_discovery
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        }
        outcome
    }

    async fn discover(&self) -> Result<Discovered, ProviderUnavailable> {
        let url = format!("{}/.well-known/openid-configuration", self.settings.issuer);
        let metadata: Metadata = self
            .client
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| self.unavailable(format!("{url}: {e}")))?
            .json()
            .await
            .map_err(|e| self.unavailable(format!("{url} is not a discovery document: {e}")))?;
        // OpenID Connect Discovery §4.3: the document names the issuer it
        // was fetched for, exactly.
        if metadata.issuer.trim_end_matches('/') != self.settings.issuer {
            return Err(self.unavailable(format!(
                "{url} names issuer `{}`, not `{}`",
                metadata.issuer, self.settings.issuer
            )));
        }
        let keys = Jwks::with_intervals(
            metadata.jwks_uri,
            &ALGORITHMS,
            Duration::from_secs(60) / FETCHES_PER_MINUTE as u32,
            KEYS_MAX_AGE,
        )
        .inferring_algorithms();
        Ok(Discovered {
            keys,
            authorization_endpoint: metadata.authorization_endpoint,
            token_endpoint: metadata.token_endpoint,
        })
    }

    /// The key named `kid`: from the held set, else from the set fetched
    /// again (within the budget of fetches). An unreachable provider, when
    /// a key is needed, is `ProviderUnavailable`.
    pub async fn key(&self, kid: &str) -> Result<KeyLookup, ProviderUnavailable> {
        let keys = &self.discovered().await?.keys;
        if let Some(key) = keys.find(kid) {
            return Ok(KeyLookup::Found(key));
        }
        let missed_at = Instant::now();
        let mut fetches = self.fetches.lock().await;
        // A fetch that ended after this request missed (it ran meanwhile,
        // and this request waited for it) is this request's fetch too.
        let shared = fetches.ended.is_some_and(|ended| ended >= missed_at);
        if !shared {
            let started = &mut fetches.started;
            while started
                .front()
                .is_some_and(|at| at.elapsed() >= Duration::from_secs(60))
            {
                started.pop_front();
            }
            // Over budget, what is held decides.
            if started.len() < FETCHES_PER_MINUTE {
                started.push_back(Instant::now());
                let fetched = keys.fetch().await;
                fetches.ended = Some(Instant::now());
                if let Err(e) = fetched {
                    return Err(self.unavailable(e.to_string()));
                }
            }
        }
        drop(fetches);
        match keys.find(kid) {
            Some(key) => Ok(KeyLookup::Found(key)),
            None if keys.fetched() => Ok(KeyLookup::Unknown),
            None => Err(self.unavailable("its JWKS could not be fetched")),
        }
    }

    /// The client secret the web flow authenticates with at the token
    /// endpoint, if any (a public client proves itself with PKCE alone).
    pub fn client_secret(&self) -> Option<String> {
        if let Some(key) = &self.settings.apple_key {
            let client_id = self.settings.client_ids.first()?;
            return match key.secret(client_id) {
                Ok(secret) => Some(secret),
                Err(e) => {
                    log::error!("provider {}: {e}", self.settings.name);
                    None
                }
            };
        }
        self.settings
            .client_secret
            .as_ref()
            .map(|s| s.expose().to_string())
    }

    /// Where the web flow sends the user (the discovery document's).
    pub async fn authorization_endpoint(&self) -> Result<String, ProviderUnavailable> {
        self.discovered()
            .await?
            .authorization_endpoint
            .clone()
            .ok_or_else(|| {
                self.unavailable("its discovery document names no authorization_endpoint")
            })
    }

    /// Exchanges an authorization `code` (RFC 6749 §4.1.3, with the PKCE
    /// `verifier`, RFC 7636 §4.5) for the provider's ID token; the client
    /// authenticates with `client_secret` in the body when there is one.
    pub async fn exchange(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
        client_secret: Option<&str>,
    ) -> Result<String, ExchangeError> {
        let endpoint = self
            .discovered()
            .await
            .map_err(ExchangeError::Unavailable)?
            .token_endpoint
            .clone()
            .ok_or_else(|| {
                ExchangeError::Unavailable(
                    self.unavailable("its discovery document names no token_endpoint"),
                )
            })?;
        let client_id = self
            .settings
            .client_ids
            .first()
            .map(String::as_str)
            .unwrap_or_default();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("client_id", client_id),
            ("code_verifier", verifier),
        ];
        if let Some(secret) = client_secret {
            form.push(("client_secret", secret));
        }
        let response = self
            .client
            .post(&endpoint)
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                ExchangeError::Unavailable(self.unavailable(format!("{endpoint}: {e}")))
            })?;
        let status = response.status();
        if status.is_server_error() {
            return Err(ExchangeError::Unavailable(
                self.unavailable(format!("{endpoint} answered {status}")),
            ));
        }
        if !status.is_success() {
            return Err(ExchangeError::Refused(format!(
                "{endpoint} answered {status}"
            )));
        }
        response
            .json::<TokenAnswer>()
            .await
            .ok()
            .and_then(|answer| answer.id_token)
            .ok_or_else(|| ExchangeError::Refused(format!("{endpoint} gave no id_token")))
    }

    /// Whether `iss` is one this provider signs with.
    pub fn issues_as(&self, iss: &str) -> bool {
        iss == self.settings.issuer || self.settings.other_issuers.iter().any(|o| o == iss)
    }
}

/// The HTTP client providers are fetched with: short timeouts (a login
/// waits for it), no redirects to elsewhere.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(3))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}
