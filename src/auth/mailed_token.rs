//! The tokens authd mails (password reset, email verification): 256 random
//! bits in base64url for the link, and the SHA-256 the database keeps.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

const TOKEN_BYTES: usize = 32;
/// Longer presented tokens are not even hashed.
pub const MAX_TOKEN_CHARS: usize = 128;

/// A fresh token and its hash.
pub fn new_token() -> (String, String) {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::fill(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// What the database keeps of a token: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
