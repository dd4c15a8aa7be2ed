//! The WebAuthn relying party (webauthn-rs): ceremonies are started and
//! finished here; their state travels through Redis (`Challenges`) as JSON,
//! so any instance finishes what another started.

use url::Url;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, DiscoverableKey, Passkey,
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Uuid, WebauthnError,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};

pub use webauthn_rs::prelude::AuthenticationResult;

use super::settings::FactorSettings;
use crate::common::settings::ConfigError;

pub struct RelyingParty {
    webauthn: Webauthn,
}

impl std::fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RelyingParty")
    }
}

impl RelyingParty {
    /// From `AUTHD_WEBAUTHN_*`, with `AUTHD_PUBLIC_URL` for what is unset.
    pub fn new(settings: &FactorSettings, public_url: Option<&str>) -> Result<Self, ConfigError> {
        let public = public_url.and_then(|url| Url::parse(url).ok());
        let rp_id = match (&settings.webauthn_rp_id, &public) {
            (Some(id), _) => id.clone(),
            (None, Some(url)) => url.host_str().unwrap_or("localhost").to_string(),
            (None, None) => "localhost".to_string(),
        };
        let origins: Vec<String> = if settings.webauthn_origins.is_empty() {
            vec![match &public {
                Some(url) => url.origin().ascii_serialization(),
                None => "http://localhost:8080".to_string(),
            }]
        } else {
            settings.webauthn_origins.clone()
        };
        let origins = origins
            .iter()
            .map(|origin| {
                Url::parse(origin).map_err(|e| {
                    ConfigError::new(
                        "AUTHD_WEBAUTHN_ORIGINS",
                        format!("`{origin}` is not an origin: {e}"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        // The builder checks its first origin against the id; the others
        // (an Android app's `android:apk-key-hash:`) are matched exactly.
        let first = origins
            .iter()
            .find(|o| o.domain().is_some())
            .ok_or_else(|| {
                ConfigError::new(
                    "AUTHD_WEBAUTHN_ORIGINS",
                    "needs at least one web origin (https://…) on AUTHD_WEBAUTHN_RP_ID",
                )
            })?;
        let mut builder = WebauthnBuilder::new(&rp_id, first)
            .map_err(|e| {
                ConfigError::new(
                    "AUTHD_WEBAUTHN_RP_ID",
                    format!("`{rp_id}` is not a domain that {first} is on ({e})"),
                )
            })?
            .rp_name(&settings.webauthn_rp_name);
        for origin in origins.iter().filter(|o| *o != first) {
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder
            .build()
            .map_err(|e| ConfigError::new("AUTHD_WEBAUTHN_RP_ID", e.to_string()))?;
        Ok(Self { webauthn })
    }

    pub fn start_registration(
        &self,
        user: Uuid,
        name: &str,
        exclude: Vec<Passkey>,
    ) -> Result<(CreationChallengeResponse, PasskeyRegistration), WebauthnError> {
        let exclude = exclude.iter().map(|p| p.cred_id().clone()).collect();
        self.webauthn
            .start_passkey_registration(user, name, name, Some(exclude))
    }

    pub fn finish_registration(
        &self,
        credential: &RegisterPublicKeyCredential,
        state: &PasskeyRegistration,
    ) -> Result<Passkey, WebauthnError> {
        self.webauthn.finish_passkey_registration(credential, state)
    }

    pub fn start_authentication(
        &self,
        passkeys: &[Passkey],
    ) -> Result<(RequestChallengeResponse, PasskeyAuthentication), WebauthnError> {
        self.webauthn.start_passkey_authentication(passkeys)
    }

    pub fn finish_authentication(
        &self,
        credential: &PublicKeyCredential,
        state: &PasskeyAuthentication,
    ) -> Result<AuthenticationResult, WebauthnError> {
        self.webauthn
            .finish_passkey_authentication(credential, state)
    }

    /// A login without a user name: the authenticator says whose passkey.
    pub fn start_discoverable(
        &self,
    ) -> Result<(RequestChallengeResponse, DiscoverableAuthentication), WebauthnError> {
        self.webauthn.start_discoverable_authentication()
    }

    /// The user handle a discoverable assertion names (unsigned: the
    /// caller must check the credential is that user's).
    pub fn discovered_user(&self, credential: &PublicKeyCredential) -> Option<Uuid> {
        self.webauthn
            .identify_discoverable_authentication(credential)
            .ok()
            .map(|(user, _)| user)
    }

    pub fn finish_discoverable(
        &self,
        credential: &PublicKeyCredential,
        state: DiscoverableAuthentication,
        passkeys: &[Passkey],
    ) -> Result<AuthenticationResult, WebauthnError> {
        let keys: Vec<DiscoverableKey> = passkeys.iter().map(DiscoverableKey::from).collect();
        self.webauthn
            .finish_discoverable_authentication(credential, state, &keys)
    }
}

/// Whether a passkey is backup eligible (synced between devices: RFC 8176
/// `swk`) as registered.
pub fn backup_eligible(passkey: &Passkey) -> bool {
    serde_json::to_value(passkey)
        .ok()
        .and_then(|v| v["cred"]["backup_eligible"].as_bool())
        .unwrap_or(false)
}
