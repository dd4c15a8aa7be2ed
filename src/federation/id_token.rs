//! Checking an ID token (OpenID Connect Core §3.1.3.7) the way the contract
//! asks: signed by a key of the provider's JWKS with the key's own
//! asymmetric algorithm, from the provider's issuer, for one of its client
//! ids (`aud`, and `azp` when present), unexpired, not issued in the
//! future, and carrying the SHA-256 of the nonce the app kept. Whether the
//! nonce was used before is the caller's to ask (it needs Redis).

use std::time::Duration;

use jsonwebtoken::{decode, decode_header, Validation};
use serde::Deserialize;

use super::provider::{KeyLookup, Provider, ProviderUnavailable};
use crate::common::clock::unix_now;

/// Allowed clock difference with the provider, for `exp` and `iat`.
pub const LEEWAY: Duration = Duration::from_secs(60);
/// ID tokens longer than this are refused unparsed.
const MAX_ID_TOKEN_BYTES: usize = 16 * 1024;

/// Why an ID token was refused: 400 `invalid_grant`, with this text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub &'static str);

#[derive(Debug)]
pub enum IdTokenError {
    Refused(Refused),
    Unavailable(ProviderUnavailable),
}

impl From<Refused> for IdTokenError {
    fn from(r: Refused) -> Self {
        Self::Refused(r)
    }
}

/// What a verified ID token says of the user.
#[derive(Debug, Clone)]
pub struct VerifiedIdToken {
    /// The provider's issuer as configured (Apple's second issuer maps to
    /// its first: one user, one identity).
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    /// The token's `nonce` claim: the SHA-256 hex of the app's nonce.
    pub nonce_digest: String,
    pub issued_at: u64,
    pub expires_at: u64,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    exp: u64,
    iat: u64,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    email: Option<String>,
    /// A boolean, or (Apple) the string `"true"`.
    #[serde(default)]
    email_verified: Option<serde_json::Value>,
}

/// The lowercase hex SHA-256 of `nonce`: what the app gives the provider.
pub fn nonce_digest(nonce: &str) -> String {
    crate::common::sha256_hex(nonce)
}

impl Provider {
    /// `token`, checked in full against this provider and `nonce`.
    pub async fn verify(&self, token: &str, nonce: &str) -> Result<VerifiedIdToken, IdTokenError> {
        if token.len() > MAX_ID_TOKEN_BYTES {
            return Err(Refused("the ID token is too large").into());
        }
        let header =
            decode_header(token).map_err(|_| Refused("the id_token is not a signed JWT"))?;
        let kid = header
            .kid
            .ok_or(Refused("the ID token's header names no key (kid)"))?;
        let key = match self.key(&kid).await.map_err(IdTokenError::Unavailable)? {
            KeyLookup::Found(key) => key,
            KeyLookup::Unknown => {
                return Err(Refused(
                    "the ID token is signed by a key the provider does not publish",
                )
                .into())
            }
        };
        // RFC 8725 §3.1: the algorithm is the key's, whatever the header says.
        if header.alg != key.algorithm {
            return Err(Refused("the ID token's algorithm is not its key's").into());
        }
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = LEEWAY.as_secs();
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let mut issuers = vec![self.settings.issuer.as_str()];
        issuers.extend(self.settings.other_issuers.iter().map(String::as_str));
        validation.set_issuer(&issuers);
        validation.set_audience(&self.settings.client_ids);
        let claims = decode::<Claims>(token, &key.key, &validation)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                Refused(match e.kind() {
                    ErrorKind::ExpiredSignature => "the ID token has expired",
                    ErrorKind::InvalidIssuer => "the ID token is not from this provider's issuer",
                    ErrorKind::InvalidAudience => {
                        "the ID token is not for one of this provider's client ids"
                    }
                    ErrorKind::InvalidSignature => "the ID token's signature does not verify",
                    _ => "the ID token is not a valid ID token of this provider",
                })
            })?
            .claims;
        if !self.issues_as(&claims.iss) {
            return Err(Refused("the ID token is not from this provider's issuer").into());
        }
        if claims
            .azp
            .as_ref()
            .is_some_and(|azp| !self.settings.client_ids.contains(azp))
        {
            return Err(Refused("the ID token was issued to another client (azp)").into());
        }
        if claims.iat > unix_now() + LEEWAY.as_secs() {
            return Err(Refused("the ID token is issued in the future (iat)").into());
        }
        let sent = nonce_digest(nonce);
        if claims.nonce.as_deref() != Some(sent.as_str()) {
            return Err(Refused(
                "the ID token's nonce is not the SHA-256 (lowercase hex) of the nonce sent",
            )
            .into());
        }
        let email_verified = match &claims.email_verified {
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::String(s)) => s == "true",
            _ => false,
        };
        if claims.sub.is_empty() || claims.sub.len() > 255 {
            return Err(
                Refused("the ID token's sub is empty or longer than 255 characters").into(),
            );
        }
        Ok(VerifiedIdToken {
            issuer: self.settings.issuer.clone(),
            subject: claims.sub,
            email: claims.email.filter(|e| !e.is_empty()),
            email_verified,
            nonce_digest: sent,
            issued_at: claims.iat,
            expires_at: claims.exp,
        })
    }
}
