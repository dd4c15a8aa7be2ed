//! Secrets at rest: AES-256-GCM under `AUTHD_ENCRYPTION_KEY_FILE`, with
//! associated data naming what the secret belongs to (a user's id for a
//! TOTP secret, the recipient of a mail with a link), so a sealed value
//! copied elsewhere does not open. Stored as `v1:` and base64 of nonce,
//! ciphertext and tag. Without a key, development keeps `plain:` and the
//! base32 of TOTP secrets (and mail unsealed); production refuses to.

use std::path::Path;

use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::common::settings::{read_file, ConfigError};

const VARIABLE: &str = "AUTHD_ENCRYPTION_KEY_FILE";
const SEALED: &str = "v1:";
const PLAIN: &str = "plain:";

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// Production without `AUTHD_ENCRYPTION_KEY_FILE`.
    #[error("AUTHD_ENCRYPTION_KEY_FILE is not set: secrets cannot be sealed in production")]
    NoKey,
    /// A stored value that does not open with this key (another key, or
    /// another owner's row): never which.
    #[error("a stored secret does not open with AUTHD_ENCRYPTION_KEY_FILE")]
    Unreadable,
}

pub struct Sealer {
    key: Option<RandomizedNonceKey>,
    /// A secret derived from the key for other purposes (`derive`).
    root: Option<[u8; 32]>,
    /// Development without a key: `plain:` values.
    plain_allowed: bool,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("keyed", &self.key.is_some())
            .finish()
    }
}

impl Sealer {
    /// The key from `file` (32 bytes, raw or base64); none and
    /// `production`: every seal fails with `NoKey`.
    pub fn load(file: Option<&Path>, production: bool) -> Result<Self, ConfigError> {
        let key = read_file(VARIABLE, file)?
            .map(|bytes| {
                let key = key_bytes(&bytes).ok_or_else(|| {
                    ConfigError::new(
                        VARIABLE,
                        "must hold 32 random bytes, raw or base64 (openssl rand -base64 32)",
                    )
                })?;
                let sealing = RandomizedNonceKey::new(&AES_256_GCM, &key)
                    .map_err(|_| ConfigError::new(VARIABLE, "not an AES-256 key"))?;
                let root: [u8; 32] = Sha256::new()
                    .chain_update(b"authd encryption-key derived v1\0")
                    .chain_update(key)
                    .finalize()
                    .into();
                Ok::<_, ConfigError>((sealing, root))
            })
            .transpose()?;
        let (key, root) = key.unzip();
        Ok(Self {
            key,
            root,
            plain_allowed: !production,
        })
    }

    pub fn keyed(&self) -> bool {
        self.key.is_some()
    }

    /// A 32-byte secret for `purpose`, derived from the key (one-way: it
    /// tells nothing of the key), or none without one. Lives as long as the
    /// key, which is rotated far less often than a signing key.
    pub fn derive(&self, purpose: &str) -> Option<[u8; 32]> {
        self.root.map(|root| {
            Sha256::new()
                .chain_update(root)
                .chain_update(purpose.as_bytes())
                .finalize()
                .into()
        })
    }

    pub fn seal(&self, secret: &[u8], user: &[u8]) -> Result<String, SealError> {
        let Some(key) = &self.key else {
            return if self.plain_allowed {
                Ok(format!("{PLAIN}{}", base32(secret)))
            } else {
                Err(SealError::NoKey)
            };
        };
        let mut sealed = secret.to_vec();
        let nonce = key
            .seal_in_place_append_tag(Aad::from(user), &mut sealed)
            .map_err(|_| SealError::Unreadable)?;
        let mut out = nonce.as_ref().to_vec();
        out.extend_from_slice(&sealed);
        Ok(format!("{SEALED}{}", STANDARD.encode(out)))
    }

    pub fn open(&self, stored: &str, user: &[u8]) -> Result<Vec<u8>, SealError> {
        if let Some(plain) = stored.strip_prefix(PLAIN) {
            // Production never trusts an unsealed secret.
            if !self.plain_allowed {
                return Err(SealError::Unreadable);
            }
            return from_base32(plain).ok_or(SealError::Unreadable);
        }
        let key = self.key.as_ref().ok_or(SealError::NoKey)?;
        let bytes = stored
            .strip_prefix(SEALED)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or(SealError::Unreadable)?;
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Unreadable)?;
        let mut buffer = sealed.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(user), &mut buffer)
            .map_err(|_| SealError::Unreadable)?;
        Ok(plain.to_vec())
    }
}

/// 32 raw bytes, or their base64 (a trailing newline allowed).
fn key_bytes(file: &[u8]) -> Option<[u8; 32]> {
    if let Ok(raw) = <[u8; 32]>::try_from(file) {
        return Some(raw);
    }
    let text = std::str::from_utf8(file).ok()?.trim();
    STANDARD.decode(text).ok()?.try_into().ok()
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding (what authenticator apps take).
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let value = BASE32.iter().position(|&b| b == c)? as u32;
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed() -> Sealer {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, format!("{}\n", STANDARD.encode([7u8; 32]))).unwrap();
        Sealer::load(Some(&file), true).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_only_for_its_user() {
        let sealer = keyed();
        let sealed = sealer.seal(b"twenty byte secret!!", b"alice").unwrap();
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("twenty"));
        assert_eq!(
            sealer.open(&sealed, b"alice").unwrap(),
            b"twenty byte secret!!"
        );
        assert!(matches!(
            sealer.open(&sealed, b"bob"),
            Err(SealError::Unreadable)
        ));
        // A fresh nonce each time.
        assert_ne!(
            sealed,
            sealer.seal(b"twenty byte secret!!", b"alice").unwrap()
        );
    }

    #[test]
    fn production_without_a_key_refuses_and_development_keeps_base32() {
        let production = Sealer::load(None, true).unwrap();
        assert!(matches!(production.seal(b"x", b"u"), Err(SealError::NoKey)));
        assert!(matches!(
            production.open("plain:NBSWY3DP", b"u"),
            Err(SealError::Unreadable)
        ));
        let development = Sealer::load(None, false).unwrap();
        let stored = development.seal(b"hello", b"u").unwrap();
        assert_eq!(stored, "plain:NBSWY3DP");
        assert_eq!(development.open(&stored, b"u").unwrap(), b"hello");
    }

    #[test]
    fn derived_secrets_need_a_key_and_differ_by_purpose() {
        let sealer = keyed();
        let a = sealer.derive("a").unwrap();
        assert_eq!(Some(a), keyed().derive("a"));
        assert_ne!(Some(a), sealer.derive("b"));
        assert_eq!(Sealer::load(None, false).unwrap().derive("a"), None);
    }

    #[test]
    fn a_key_file_must_hold_32_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "short").unwrap();
        assert!(Sealer::load(Some(&file), false).is_err());
        std::fs::write(&file, [1u8; 32]).unwrap();
        assert!(Sealer::load(Some(&file), false).unwrap().keyed());
    }
}
