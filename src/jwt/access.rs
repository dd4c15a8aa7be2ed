//! Issuing access tokens, and verifying them with the guard crate's
//! `Verifier` (the one resource servers use) over authd's own keys.

use std::sync::Arc;
use std::time::Duration;

use authd_guard::{Keys, Rules, Verifier};
use jsonwebtoken::{encode, Header};
use serde::Serialize;
use uuid::Uuid;

use super::key_set::KeySet;
use super::settings::JwtSettings;
use crate::common::clock::unix_now;
use crate::common::identity::Identity;

pub use authd_guard::{Rejected, ACCESS_TOKEN_TYPE, MAX_ACCESS_TOKEN_BYTES};

#[derive(Serialize)]
struct IssuedClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: String,
    sid: String,
    jti: String,
    iat: u64,
    exp: u64,
    email_verified: bool,
    /// RFC 9449 §6.1: the DPoP key the token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Confirmation>,
    /// RFC 8176: how the user logged in (every token of the session).
    amr: Vec<&'static str>,
    /// `aal1`, or `aal2` with a second factor or a passkey (RFC 9470).
    acr: &'static str,
}

#[derive(Serialize)]
struct Confirmation {
    jkt: String,
}

/// What introspection (RFC 7662) reports of a valid access token.
#[derive(Debug, Clone)]
pub struct AccessClaims {
    pub identity: Identity,
    pub issuer: String,
    pub audience: String,
    pub expires_at: u64,
    pub issued_at: u64,
    pub jti: String,
    pub email_verified: bool,
}

pub struct IssuedAccessToken {
    pub token: String,
    pub expires_in: u64,
}

pub struct AccessTokens {
    keys: KeySet,
    header: Header,
    issuer: String,
    audience: String,
    ttl: Duration,
    verifier: Arc<Verifier>,
}

impl AccessTokens {
    /// `cache_entries`: `AUTHD_GUARD_CACHE_ENTRIES`, the verified-token
    /// cache of authd's own guard.
    pub fn new(keys: KeySet, settings: &JwtSettings, cache_entries: usize) -> Self {
        let JwtSettings {
            issuer,
            audience,
            access_token_ttl: ttl,
            leeway,
            ..
        } = settings.clone();
        let mut header = Header::new(keys.algorithm);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_string());
        header.kid = Some(keys.signing_kid.clone());

        let verifier = Verifier::new(
            Keys::fixed(
                keys.verifying
                    .iter()
                    .map(|(kid, key)| (kid.clone(), keys.algorithm, key.clone())),
            ),
            Rules {
                issuer: issuer.clone(),
                audience: audience.clone(),
                leeway,
                cache_entries,
            },
        );

        Self {
            keys,
            header,
            issuer,
            audience,
            ttl,
            verifier: Arc::new(verifier),
        }
    }

    /// How many verified tokens the guard remembers right now.
    pub fn cached(&self) -> usize {
        self.verifier.cached()
    }

    /// The verifier the guard shares.
    pub fn verifier(&self) -> Arc<Verifier> {
        self.verifier.clone()
    }

    /// The issuer and audience tokens carry.
    pub fn rules(&self) -> (&str, &str) {
        (&self.issuer, &self.audience)
    }

    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// A token for `identity` that expires after the configured lifetime,
    /// or at `session_end` (unix seconds) if that comes first: an access
    /// token never outlives its session.
    pub fn issue(
        &self,
        identity: Identity,
        session_end: u64,
        email_verified: bool,
    ) -> Result<IssuedAccessToken, jsonwebtoken::errors::Error> {
        let now = unix_now();
        let exp = (now + self.ttl.as_secs()).min(session_end.max(now));
        let claims = IssuedClaims {
            iss: &self.issuer,
            aud: &self.audience,
            sub: identity.user_id.to_string(),
            sid: identity.session_id.to_string(),
            jti: Uuid::new_v4().to_string(),
            iat: now,
            exp,
            email_verified,
            cnf: identity.key.map(|key| Confirmation {
                jkt: key.to_base64(),
            }),
            amr: identity.amr.names().collect(),
            acr: identity.amr.acr(),
        };
        let token = encode(&self.header, &claims, &self.keys.signing_key)?;
        Ok(IssuedAccessToken {
            token,
            expires_in: exp - now,
        })
    }

    /// Signature and claims, or the same token verified before and not yet
    /// expired. Does no I/O.
    pub fn verify(&self, token: &str) -> Result<Identity, Rejected> {
        self.verifier.verify(token)
    }

    /// Full verification (never from the cache) and the claims RFC 7662
    /// reports. Does no I/O.
    pub fn inspect(&self, token: &str) -> Result<AccessClaims, Rejected> {
        let claims = self.verifier.verify_fully(token)?;
        Ok(AccessClaims {
            identity: claims.identity,
            issuer: claims.issuer,
            audience: self.audience.clone(),
            expires_at: claims.expires_at,
            issued_at: claims.issued_at,
            jti: claims.jti,
            email_verified: claims.email_verified,
        })
    }
}
