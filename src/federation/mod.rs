//! Sign-in with OpenID providers (Apple, Google, any other): the providers
//! configured (`settings`), each one's discovery document and keys
//! (`provider`), the checks an ID token must pass (`id_token`), and the
//! nonces already used (`nonces`). Who the user then is, and the session,
//! are `auth`'s to decide.

pub mod apple_secret;
pub mod flows;
pub mod id_token;
pub mod nonces;
pub mod provider;
pub mod settings;

use std::collections::HashMap;
use std::time::Duration;

pub use flows::{s256, Flows, IssuedCode, PendingFlow};
pub use id_token::{nonce_digest, IdTokenError, Refused, VerifiedIdToken, LEEWAY};
pub use nonces::NonceLog;
pub use provider::{ExchangeError, Provider, ProviderUnavailable, FETCHES_PER_MINUTE};
pub use settings::{FederationSettings, ProviderSettings};

use crate::common::clock::unix_now;
use crate::connections::StoreError;

/// The configured providers, by name, the nonces they have seen, and the
/// web flow's state.
pub struct Federation {
    providers: HashMap<String, Provider>,
    nonces: NonceLog,
    pub flows: Flows,
    /// `AUTHD_OIDC_REDIRECT_URLS`.
    pub redirect_urls: Vec<String>,
    /// `AUTHD_PUBLIC_URL` + `/api/oauth/callback`; none without a public URL
    /// (the web flow is then off).
    pub callback_url: Option<String>,
}

/// Why an ID token did not sign anybody in.
#[derive(Debug)]
pub enum FederationError {
    /// No provider of that name is configured (400 `invalid_request`).
    UnknownProvider,
    /// 400 `invalid_grant`, saying why.
    Refused(Refused),
    /// The provider could not be reached (503).
    Unavailable(ProviderUnavailable),
    Store(StoreError),
}

impl Federation {
    pub fn new(
        providers: Vec<ProviderSettings>,
        nonces: NonceLog,
        flows: Flows,
        redirect_urls: Vec<String>,
        public_url: Option<&str>,
    ) -> Self {
        let client = provider::http_client();
        Self {
            flows,
            redirect_urls,
            callback_url: public_url.map(|base| format!("{base}/api/oauth/callback")),
            providers: providers
                .into_iter()
                .map(|settings| {
                    (
                        settings.name.clone(),
                        Provider::new(settings, client.clone()),
                    )
                })
                .collect(),
            nonces,
        }
    }

    /// Whether any provider is configured (else the routes answer 404).
    pub fn is_on(&self) -> bool {
        !self.providers.is_empty()
    }

    /// The provider `name` names, if configured.
    pub fn provider(&self, name: &str) -> Option<&Provider> {
        self.providers.get(name)
    }

    /// `id_token` from provider `name`, checked in full, its nonce spent:
    /// of two uses of one nonce, on any instances, one succeeds.
    pub async fn verify(
        &self,
        name: &str,
        id_token: &str,
        nonce: &str,
    ) -> Result<VerifiedIdToken, FederationError> {
        let provider = self
            .provider(name)
            .ok_or(FederationError::UnknownProvider)?;
        let verified = provider
            .verify(id_token, nonce)
            .await
            .map_err(|e| match e {
                IdTokenError::Refused(r) => FederationError::Refused(r),
                IdTokenError::Unavailable(u) => FederationError::Unavailable(u),
            })?;
        // Remembered as long as the token could pass the expiry check.
        let window = Duration::from_secs(
            verified
                .expires_at
                .saturating_sub(unix_now())
                .saturating_add(LEEWAY.as_secs()),
        );
        if !self
            .nonces
            .first_use(&verified.nonce_digest, window)
            .await
            .map_err(FederationError::Store)?
        {
            return Err(FederationError::Refused(Refused(
                "this nonce was used already: make a new one for each sign-in",
            )));
        }
        Ok(verified)
    }
}
