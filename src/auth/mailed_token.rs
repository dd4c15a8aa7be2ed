//! The tokens authd mails (password reset, email verification): 256 random
//! bits in base64url for the link, and the SHA-256 the database keeps.

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::common::clock::unix_now;
use crate::common::random_token;
use crate::mail::Rendered;
use crate::users::Verification;

/// Longer presented tokens are not even hashed.
const MAX_TOKEN_CHARS: usize = 128;

/// A fresh token that works for `ttl`, and the mail that carries it
/// (`mail(token, expires_at)`), ready to be stored (its hash) and queued.
pub fn issue(ttl: Duration, mail: impl FnOnce(&str, i64) -> Rendered) -> Verification {
    let token = random_token();
    let expires_at = unix_now() as i64 + ttl.as_secs() as i64;
    Verification {
        token_hash: token_hash(&token),
        expires_at,
        mail: mail(&token, expires_at),
    }
}

/// The hash to look a presented token up by; `None` for what cannot be one.
pub fn presented_hash(token: &str) -> Option<String> {
    (!token.is_empty() && token.len() <= MAX_TOKEN_CHARS).then(|| token_hash(token))
}

/// What the database keeps of a token: its SHA-256, hex.
fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
