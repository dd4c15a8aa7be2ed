//! Issuing and verifying access tokens. Everything a verification needs
//! (decoding keys by `kid`, the pinned `Validation`) is prepared once in
//! `AccessTokens::new`; a request only parses and checks.

use std::time::Duration;

use jsonwebtoken::{decode, decode_header, encode, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::keys::KeySet;
use super::settings::JwtSettings;
use super::verified::{self, VerifiedTokens};
use crate::common::clock::unix_now;
use crate::common::identity::Identity;

/// RFC 9068 §2.1: the `typ` of a JWT access token.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// Tokens longer than this are refused before any parsing.
pub const MAX_ACCESS_TOKEN_BYTES: usize = 8 * 1024;

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
}

/// The claims authd reads after jsonwebtoken has checked `iss`, `aud`,
/// `exp` and `nbf`; a token without `sid` fails to deserialize. `iss` is
/// read as a string because jsonwebtoken also accepts an array holding the
/// issuer, which the contract refuses (one issuer, one JSON string).
#[derive(Deserialize)]
struct VerifiedClaims {
    iss: String,
    sub: String,
    sid: String,
    exp: u64,
    #[serde(default)]
    iat: u64,
    #[serde(default)]
    jti: String,
    #[serde(default)]
    email_verified: bool,
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
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
    leeway_secs: u64,
    verified: VerifiedTokens,
}

/// Why a token was refused; only logged at debug level, never sent.
#[derive(Debug)]
pub struct Rejected(pub &'static str);

impl AccessTokens {
    pub fn new(keys: KeySet, settings: &JwtSettings) -> Self {
        let JwtSettings {
            issuer,
            audience,
            access_token_ttl: ttl,
            leeway,
            guard_cache_entries: cache_entries,
            ..
        } = settings.clone();
        let mut header = Header::new(keys.algorithm);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_string());
        header.kid = Some(keys.signing_kid.clone());

        let mut validation = Validation::new(keys.algorithm);
        validation.leeway = leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&issuer]);
        validation.set_audience(&[&audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);

        Self {
            keys,
            header,
            validation,
            issuer,
            audience,
            ttl,
            leeway_secs: leeway.as_secs(),
            verified: VerifiedTokens::new(cache_entries),
        }
    }

    /// How many verified tokens the guard remembers right now.
    pub fn cached(&self) -> usize {
        self.verified.len()
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
        };
        let token = encode(&self.header, &claims, &self.keys.signing_key)?;
        Ok(IssuedAccessToken {
            token,
            expires_in: exp - now,
        })
    }

    /// Checks signature and claims (RFC 8725 §3: algorithm pinned, `typ`
    /// explicit), or finds the very same token verified before and not yet
    /// expired (see `verified`). Does no I/O.
    pub fn verify(&self, token: &str) -> Result<Identity, Rejected> {
        if token.len() > MAX_ACCESS_TOKEN_BYTES {
            return Err(Rejected("token too large"));
        }
        let key = verified::key(token);
        if let Some(identity) = self.verified.get(&key, unix_now()) {
            return Ok(identity);
        }
        let (identity, claims) = self.verify_fully(token)?;
        self.verified
            .insert(key, identity, claims.exp.saturating_add(self.leeway_secs));
        Ok(identity)
    }

    fn verify_fully(&self, token: &str) -> Result<(Identity, VerifiedClaims), Rejected> {
        let header = decode_header(token).map_err(|_| Rejected("malformed header"))?;
        if header.alg != self.keys.algorithm {
            return Err(Rejected("algorithm not allowed"));
        }
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE)
                || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(Rejected("wrong typ"));
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.verifying.get(kid))
            .ok_or(Rejected("unknown kid"))?;
        let data = decode::<VerifiedClaims>(token, key, &self.validation)
            .map_err(|_| Rejected("signature or claims invalid"))?;
        let user_id = Uuid::parse_str(&data.claims.sub).map_err(|_| Rejected("bad sub"))?;
        let session_id = Uuid::parse_str(&data.claims.sid).map_err(|_| Rejected("bad sid"))?;
        Ok((
            Identity {
                user_id,
                session_id,
            },
            data.claims,
        ))
    }

    /// Full verification (never from the cache) and the claims RFC 7662
    /// reports. Does no I/O.
    pub fn inspect(&self, token: &str) -> Result<AccessClaims, Rejected> {
        if token.len() > MAX_ACCESS_TOKEN_BYTES {
            return Err(Rejected("token too large"));
        }
        let (identity, claims) = self.verify_fully(token)?;
        Ok(AccessClaims {
            identity,
            issuer: claims.iss,
            audience: self.audience.clone(),
            expires_at: claims.exp,
            issued_at: claims.iat,
            jti: claims.jti,
            email_verified: claims.email_verified,
        })
    }
}
