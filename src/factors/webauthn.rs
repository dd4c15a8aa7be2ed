//! The WebAuthn relying party (webauthn-rs): ceremonies are started and
//! finished here; their state travels through Redis (`Challenges`) as JSON,
//! so any instance finishes what another started.

use serde_json::{json, Value};
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
    /// `None` (passkeys off, with a warning that names the settings) when
    /// neither is set and the public URL cannot serve passkeys: its host is
    /// an IP address (normal in development and behind a test load
    /// balancer), which is no relying party id. A value that is set and
    /// invalid refuses to start.
    pub fn new(
        settings: &FactorSettings,
        public_url: Option<&str>,
    ) -> Result<Option<Self>, ConfigError> {
        let derived = settings.webauthn_rp_id.is_none() && settings.webauthn_origins.is_empty();
        match Self::build(settings, public_url) {
            Ok(relying_party) => Ok(Some(relying_party)),
            Err(e) if derived => {
                log::warn!(
                    "passkeys are off: the WebAuthn relying party derived from AUTHD_PUBLIC_URL cannot serve them ({}: {}); set AUTHD_WEBAUTHN_RP_ID (a domain, such as localhost) and AUTHD_WEBAUTHN_ORIGINS (such as http://localhost:8080) to turn them on",
                    e.variable, e.reason
                );
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn build(settings: &FactorSettings, public_url: Option<&str>) -> Result<Self, ConfigError> {
        let public = public_url.and_then(|url| Url::parse(url).ok());
        let rp_id = match (&settings.webauthn_rp_id, &public) {
            (Some(id), _) => id.clone(),
            (None, Some(url)) => match url.host() {
                Some(url::Host::Domain(domain)) => domain.to_string(),
                Some(ip) => {
                    return Err(ConfigError::new(
                        "AUTHD_PUBLIC_URL",
                        format!("its host {ip} is an IP address, not a domain"),
                    ))
                }
                None => "localhost".to_string(),
            },
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

    /// A login started with an address that has `passkeys`: the
    /// `publicKey` to answer with (in the shape `stand_in_options` gives
    /// every other address) and the state to finish it.
    pub fn named_login(
        &self,
        passkeys: &[Passkey],
    ) -> Result<(Value, PasskeyAuthentication), WebauthnError> {
        let (options, state) = self.webauthn.start_passkey_authentication(passkeys)?;
        let mut public_key =
            serde_json::to_value(&options.public_key).map_err(|_| WebauthnError::Configuration)?;
        // Transports are a hint only, and stand-ins have none to give.
        if let Some(allowed) = public_key["allowCredentials"].as_array_mut() {
            for credential in allowed {
                if let Some(credential) = credential.as_object_mut() {
                    credential.remove("transports");
                }
            }
        }
        Ok((public_key, state))
    }

    /// A login started with an address without passkeys (or without an
    /// account): a fresh challenge listing `stand_ins`, in the shape of
    /// `named_login`'s. Nothing can finish it.
    pub fn stand_in_login(&self, stand_ins: &[String]) -> Result<Value, WebauthnError> {
        let (options, _) = self.webauthn.start_discoverable_authentication()?;
        let mut public_key =
            serde_json::to_value(&options.public_key).map_err(|_| WebauthnError::Configuration)?;
        let Some(members) = public_key.as_object_mut() else {
            return Err(WebauthnError::Configuration);
        };
        // What a discoverable login asks for and a named one does not.
        members.remove("extensions");
        members.insert(
            "allowCredentials".to_string(),
            stand_ins
                .iter()
                .map(|id| json!({ "type": "public-key", "id": id }))
                .collect(),
        );
        Ok(public_key)
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
