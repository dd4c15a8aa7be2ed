//! Verifying access tokens (RFC 9068) as authd issues them. Everything a
//! verification needs (the `Validation` per algorithm, the keys) is prepared
//! once in `Verifier::new`; a request only parses and checks. Does no I/O.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, decode_header, Algorithm, Validation};
use serde::Deserialize;
use uuid::Uuid;

use crate::amr::Amr;
use crate::cache::{self, VerifiedTokens};
use crate::dpop::Thumbprint;
use crate::identity::Identity;
use crate::keys::Keys;

/// RFC 9068 §2.1: the `typ` of a JWT access token.
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// Tokens longer than this are refused before any parsing.
pub const MAX_ACCESS_TOKEN_BYTES: usize = 8 * 1024;

/// What a token must say to be accepted.
#[derive(Clone, Debug)]
pub struct Rules {
    /// `iss`, one string (authd's `AUTHD_ISSUER`).
    pub issuer: String,
    /// `aud` (authd's `AUTHD_AUDIENCE`): the string, or an array holding it.
    pub audience: String,
    /// Allowed clock difference for `exp` and `nbf`.
    pub leeway: Duration,
    /// Verified tokens remembered (0: off).
    pub cache_entries: usize,
}

/// The claims authd reads after jsonwebtoken has checked `iss`, `aud`,
/// `exp` and `nbf`; a token without `sid` fails to deserialize. `iss` is
/// read as a string because jsonwebtoken also accepts an array holding the
/// issuer, which authd refuses (one issuer, one JSON string).
#[derive(Deserialize)]
struct Payload {
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
    #[serde(default)]
    cnf: Option<Confirmation>,
    #[serde(default)]
    amr: Vec<String>,
}

/// RFC 7800 `cnf`, as RFC 9449 §6.1 binds a token to a DPoP key.
#[derive(Deserialize)]
struct Confirmation {
    jkt: String,
}

/// A fully verified token's claims.
#[derive(Debug, Clone)]
pub struct Claims {
    pub identity: Identity,
    pub issuer: String,
    pub expires_at: u64,
    pub issued_at: u64,
    pub jti: String,
    pub email_verified: bool,
}

/// Why a token was refused; logged at debug level, never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    TooLarge,
    MalformedHeader,
    AlgorithmNotAllowed,
    WrongType,
    UnknownKid,
    /// Signature, issuer and audience right, `exp` past (with the leeway).
    Expired,
    SignatureOrClaims,
    BadSubject,
    BadConfirmation,
}

impl Rejected {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLarge => "token too large",
            Self::MalformedHeader => "malformed header",
            Self::AlgorithmNotAllowed => "algorithm not allowed",
            Self::WrongType => "wrong typ",
            Self::UnknownKid => "unknown kid",
            Self::Expired => "expired",
            Self::SignatureOrClaims => "signature or claims invalid",
            Self::BadSubject => "bad sub or sid",
            Self::BadConfirmation => "cnf without a valid jkt",
        }
    }
}

pub struct Verifier {
    keys: Keys,
    /// Per algorithm: the validation, and the same without `exp` (to tell
    /// an expired token from one that fails anything else).
    validations: Vec<(Algorithm, Validation, Validation)>,
    rules: Rules,
    verified: VerifiedTokens,
}

impl Verifier {
    pub fn new(keys: Keys, rules: Rules) -> Self {
        let validations = keys
            .algorithms()
            .into_iter()
            .map(|alg| {
                let mut validation = Validation::new(alg);
                validation.leeway = rules.leeway.as_secs();
                validation.validate_exp = true;
                validation.validate_nbf = true;
                validation.set_issuer(&[&rules.issuer]);
                validation.set_audience(&[&rules.audience]);
                validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
                let mut ignoring_exp = validation.clone();
                ignoring_exp.validate_exp = false;
                (alg, validation, ignoring_exp)
            })
            .collect();
        Self {
            keys,
            validations,
            verified: VerifiedTokens::new(rules.cache_entries),
            rules,
        }
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// How many verified tokens are remembered right now.
    pub fn cached(&self) -> usize {
        self.verified.len()
    }

    /// Checks signature and claims (RFC 8725 §3: algorithm pinned, `typ`
    /// explicit), or finds the very same token verified before and not yet
    /// expired (see [`cache`]).
    pub fn verify(&self, token: &str) -> Result<Identity, Rejected> {
        if token.len() > MAX_ACCESS_TOKEN_BYTES {
            return Err(Rejected::TooLarge);
        }
        let key = cache::key(token);
        if let Some(identity) = self.verified.get(&key, unix_now()) {
            return Ok(identity);
        }
        let claims = self.verify_fully(token)?;
        let accept_until = claims
            .expires_at
            .saturating_add(self.rules.leeway.as_secs());
        self.verified.insert(key, claims.identity, accept_until);
        Ok(claims.identity)
    }

    /// Full verification, never from the cache, and the claims.
    pub fn verify_fully(&self, token: &str) -> Result<Claims, Rejected> {
        if token.len() > MAX_ACCESS_TOKEN_BYTES {
            return Err(Rejected::TooLarge);
        }
        let header = decode_header(token).map_err(|_| Rejected::MalformedHeader)?;
        let (validation, ignoring_exp) = self
            .validations
            .iter()
            .find(|(alg, _, _)| *alg == header.alg)
            .map(|(_, v, ignoring_exp)| (v, ignoring_exp))
            .ok_or(Rejected::AlgorithmNotAllowed)?;
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE)
                || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(Rejected::WrongType);
        }
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.find(kid))
            .ok_or(Rejected::UnknownKid)?;
        // The key's own algorithm, not just any allowed one (RFC 8725 §3.1).
        if header.alg != key.algorithm {
            return Err(Rejected::AlgorithmNotAllowed);
        }
        let data = decode::<Payload>(token, &key.key, validation).map_err(|e| {
            // jsonwebtoken checks `exp` before `iss` and `aud`: "expired"
            // only for a token that passes everything else.
            let expired = *e.kind() == ErrorKind::ExpiredSignature
                && decode::<Payload>(token, &key.key, ignoring_exp).is_ok();
            match expired {
                true => Rejected::Expired,
                false => Rejected::SignatureOrClaims,
            }
        })?;
        let payload = data.claims;
        let user_id = Uuid::parse_str(&payload.sub).map_err(|_| Rejected::BadSubject)?;
        let session_id = Uuid::parse_str(&payload.sid).map_err(|_| Rejected::BadSubject)?;
        let key = match payload.cnf {
            Some(cnf) => Some(Thumbprint::from_base64(&cnf.jkt).ok_or(Rejected::BadConfirmation)?),
            None => None,
        };
        Ok(Claims {
            identity: Identity {
                user_id,
                session_id,
                key,
                amr: Amr::from_names(payload.amr.iter().map(String::as_str)),
            },
            issuer: payload.iss,
            expires_at: payload.exp,
            issued_at: payload.iat,
            jti: payload.jti,
            email_verified: payload.email_verified,
        })
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
