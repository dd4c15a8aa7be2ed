//! Refresh tokens: opaque, URL-safe strings that carry the session they
//! belong to and two secrets. Redis only ever sees SHA-256 hashes of the
//! secrets, never a value that could be presented.
//!
//! Layout before base64url: user id (16) | session id (16) | family (16) |
//! secret (32). The family secret is fixed for the session's life and proves
//! a presented token was really issued for it (so a reuse can be told from
//! a forgery); the secret changes on every rotation:
//!
//! ```text
//! secret[n+1] = HMAC-SHA256(key = secret[n], "authd/refresh/v1" | session id | nonce[n])
//! ```
//!
//! `nonce[n]` is random and kept in Redis until the next rotation, so a
//! client that presents the token just replaced (within the grace window)
//! gets the very same successor re-derived, while neither Redis alone nor an
//! older token alone can produce it.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const FAMILY_LEN: usize = 16;
const SECRET_LEN: usize = 32;
const RAW_LEN: usize = 16 + 16 + FAMILY_LEN + SECRET_LEN;
pub const NONCE_LEN: usize = 16;
const DERIVATION_LABEL: &[u8] = b"authd/refresh/v1";

#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    pub user_id: Uuid,
    pub session_id: Uuid,
    family: [u8; FAMILY_LEN],
    secret: [u8; SECRET_LEN],
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshToken")
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl RefreshToken {
    /// The first token of a new session.
    pub fn generate(user_id: Uuid) -> Self {
        let mut family = [0u8; FAMILY_LEN];
        let mut secret = [0u8; SECRET_LEN];
        rand::fill(&mut family);
        rand::fill(&mut secret);
        Self {
            user_id,
            session_id: Uuid::new_v4(),
            family,
            secret,
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() != (RAW_LEN * 4).div_ceil(3) {
            return None;
        }
        let raw = URL_SAFE_NO_PAD.decode(text).ok()?;
        if raw.len() != RAW_LEN {
            return None;
        }
        let (user, rest) = raw.split_at(16);
        let (session, rest) = rest.split_at(16);
        let (family, secret) = rest.split_at(FAMILY_LEN);
        Some(Self {
            user_id: Uuid::from_slice(user).ok()?,
            session_id: Uuid::from_slice(session).ok()?,
            family: family.try_into().ok()?,
            secret: secret.try_into().ok()?,
        })
    }

    /// The string handed to the client. Never log it.
    pub fn expose(&self) -> String {
        let mut raw = Vec::with_capacity(RAW_LEN);
        raw.extend_from_slice(self.user_id.as_bytes());
        raw.extend_from_slice(self.session_id.as_bytes());
        raw.extend_from_slice(&self.family);
        raw.extend_from_slice(&self.secret);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// What Redis stores to recognise the session's tokens.
    pub fn family_hash(&self) -> StoredHash {
        hash(b"family", &self.family)
    }

    /// What Redis stores to recognise this particular token.
    pub fn secret_hash(&self) -> StoredHash {
        hash(b"secret", &self.secret)
    }

    /// The token that replaces this one, given the rotation's nonce.
    pub fn successor(&self, nonce: &[u8]) -> Self {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(DERIVATION_LABEL);
        mac.update(self.session_id.as_bytes());
        mac.update(nonce);
        let mut secret = [0u8; SECRET_LEN];
        secret.copy_from_slice(&mac.finalize().into_bytes());
        Self {
            secret,
            ..self.clone()
        }
    }
}

/// Bytes of SHA-256 that Redis keeps of a secret: 128 bits, raw. A
/// preimage of 128 bits is as far out of reach as one of 256, and the
/// secrets behind these hashes hold 128 (family) and 256 (secret) bits.
pub const STORED_HASH_LEN: usize = 16;

/// A domain-separated SHA-256 of a secret, truncated to what Redis keeps.
pub type StoredHash = [u8; STORED_HASH_LEN];

fn hash(domain: &[u8], bytes: &[u8]) -> StoredHash {
    let mut h = Sha256::new();
    h.update(domain);
    h.update(bytes);
    let mut out = [0u8; STORED_HASH_LEN];
    out.copy_from_slice(&h.finalize()[..STORED_HASH_LEN]);
    out
}

/// A fresh rotation nonce, as stored in Redis (raw bytes). The successor is
/// derived from whatever bytes Redis holds, so nonces stored as text by
/// earlier versions keep deriving the same successors.
pub fn new_nonce() -> [u8; NONCE_LEN] {
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce);
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_survives_its_text_form() {
        let t = RefreshToken::generate(Uuid::new_v4());
        assert_eq!(RefreshToken::parse(&t.expose()), Some(t));
    }

    #[test]
    fn successors_are_deterministic_per_nonce_and_distinct_across_nonces() {
        let t = RefreshToken::generate(Uuid::new_v4());
        let n1 = new_nonce();
        let n2 = new_nonce();
        assert_eq!(t.successor(&n1), t.successor(&n1));
        assert_ne!(t.successor(&n1), t.successor(&n2));
        assert_eq!(t.successor(&n1).family_hash(), t.family_hash());
    }

    #[test]
    fn stored_hashes_do_not_contain_the_token() {
        let t = RefreshToken::generate(Uuid::new_v4());
        let raw = URL_SAFE_NO_PAD.decode(t.expose()).unwrap();
        for stored in [t.family_hash(), t.secret_hash()] {
            assert!(!raw.windows(stored.len()).any(|w| w == stored));
            assert_ne!(stored, [0; STORED_HASH_LEN]);
        }
    }

    #[test]
    fn garbage_does_not_parse() {
        assert_eq!(RefreshToken::parse(""), None);
        assert_eq!(RefreshToken::parse("not a token"), None);
        assert_eq!(RefreshToken::parse(&"A".repeat(500)), None);
    }

    #[test]
    fn debug_hides_the_secrets() {
        let t = RefreshToken::generate(Uuid::new_v4());
        assert!(!format!("{t:?}").contains(&t.expose()));
    }
}
