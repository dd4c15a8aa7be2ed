//! Signing and verification keys: parsed once at startup into a `KeySet`
//! that knows the signing key, every key that still verifies (by `kid`, the
//! RFC 7638 thumbprint) and the JWKS document that publishes the public ones.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, KeypairBytes};
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use pkcs8::LineEnding;
use sha2::{Digest, Sha256};

use super::settings::{JwtAlgorithm, SigningKeySource};
use crate::common::settings::ConfigError;
use crate::common::Secret;

fn key_error(variable: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::new(variable, reason)
}

pub fn algorithm(alg: JwtAlgorithm) -> Algorithm {
    match alg {
        JwtAlgorithm::EdDSA => Algorithm::EdDSA,
        JwtAlgorithm::ES256 => Algorithm::ES256,
        JwtAlgorithm::RS256 => Algorithm::RS256,
        JwtAlgorithm::HS256 => Algorithm::HS256,
    }
}

/// Everything the token code needs about keys, ready to use on a request.
pub struct KeySet {
    pub algorithm: Algorithm,
    pub signing_kid: String,
    pub signing_key: EncodingKey,
    pub verifying: HashMap<String, DecodingKey>,
    /// The serialized JWKS, built once: public keys only.
    pub jwks_json: String,
    /// True when the signing key was generated at startup.
    pub ephemeral: bool,
    /// The HMAC key of DPoP server nonces: derived from the signing key, so
    /// every instance with that key makes and accepts the same nonces. Never
    /// leaves the process (not in `Debug`).
    pub nonce_key: [u8; 32],
    /// The HMAC key of passkey stand-ins (the credential ids a passkey login
    /// started with an address without passkeys lists): derived the same
    /// way, so every instance lists the same ones for an address.
    pub stand_in_key: [u8; 32],
}

/// A key for another purpose, derived from the signing key's text.
fn derive(purpose: &str, key_text: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"authd derived key v1\0")
        .chain_update(purpose.as_bytes())
        .chain_update(b"\0")
        .chain_update(key_text.as_bytes())
        .finalize()
        .into()
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("algorithm", &self.algorithm)
            .field("signing_kid", &self.signing_kid)
            .field("verifying_kids", &self.verifying.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl KeySet {
    /// Loads the signing key from `source` and every key that still
    /// verifies from `verify_key_files`.
    pub fn load(
        alg: JwtAlgorithm,
        source: &SigningKeySource,
        verify_key_files: &[PathBuf],
    ) -> Result<Self, ConfigError> {
        let (signing_key, signing_jwk, ephemeral, key_text) = match source {
            SigningKeySource::PemFile(path) => {
                let pem = read_pem(path, "AUTHD_JWT_PRIVATE_KEY_FILE")?;
                let (key, jwk) = private_key_from_pem(alg, &pem)
                    .map_err(|e| key_error("AUTHD_JWT_PRIVATE_KEY_FILE", e))?
                    .ok_or_else(|| {
                        key_error(
                            "AUTHD_JWT_PRIVATE_KEY_FILE",
                            "holds a public key; signing needs the PKCS#8 private key",
                        )
                    })?;
                (key, jwk, false, pem)
            }
            SigningKeySource::Secret(secret) => {
                let (key, jwk) = hmac_key(alg, secret)?;
                (key, jwk, false, secret.expose().to_string())
            }
            SigningKeySource::Ephemeral => {
                let pem = generate_private_key_pem(alg)
                    .map_err(|e| key_error("AUTHD_JWT_PRIVATE_KEY_FILE", e))?;
                let (key, jwk) = match alg {
                    JwtAlgorithm::HS256 => hmac_key(alg, &Secret::new(pem.clone()))?,
                    _ => private_key_from_pem(alg, &pem)
                        .map_err(|e| key_error("AUTHD_JWT_PRIVATE_KEY_FILE", e))?
                        .ok_or_else(|| key_error("AUTHD_JWT_PRIVATE_KEY_FILE", "keygen failed"))?,
                };
                (key, jwk, true, pem)
            }
        };

        let nonce_key = derive("dpop nonce", &key_text);
        let stand_in_key = derive("passkey stand-ins", &key_text);
        drop(key_text);
        let mut verifying_jwks = vec![signing_jwk];
        for path in verify_key_files {
            let pem = read_pem(path, "AUTHD_JWT_VERIFY_KEY_FILES")?;
            let jwk = public_jwk_from_pem(alg, &pem).map_err(|e| {
                key_error(
                    "AUTHD_JWT_VERIFY_KEY_FILES",
                    format!("{}: {e}", path.display()),
                )
            })?;
            verifying_jwks.push(jwk);
        }

        let mut verifying = HashMap::new();
        let mut published = Vec::new();
        let mut signing_kid = String::new();
        for (index, mut jwk) in verifying_jwks.into_iter().enumerate() {
            let kid = jwk
                .thumbprint(ThumbprintHash::SHA256)
                .map_err(|e| key_error("AUTHD_JWT_PRIVATE_KEY_FILE", format!("thumbprint: {e}")))?;
            jwk.common.key_id = Some(kid.clone());
            jwk.common.public_key_use = Some(PublicKeyUse::Signature);
            let decoding = DecodingKey::from_jwk(&jwk)
                .map_err(|e| key_error("AUTHD_JWT_VERIFY_KEY_FILES", format!("{e}")))?;
            if index == 0 {
                signing_kid = kid.clone();
            }
            if verifying.insert(kid, decoding).is_some() {
                continue; // the same key listed twice
            }
            if alg != JwtAlgorithm::HS256 {
                published.push(jwk);
            }
        }
        let jwks_json = serde_json::to_string(&JwkSet { keys: published })
            .map_err(|e| key_error("AUTHD_JWT_PRIVATE_KEY_FILE", format!("jwks: {e}")))?;

        Ok(KeySet {
            algorithm: algorithm(alg),
            signing_kid,
            signing_key,
            verifying,
            jwks_json,
            ephemeral,
            nonce_key,
            stand_in_key,
        })
    }
}

fn read_pem(path: &Path, variable: &'static str) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|e| key_error(variable, format!("cannot read {}: {e}", path.display())))
}

fn hmac_key(alg: JwtAlgorithm, secret: &Secret) -> Result<(EncodingKey, Jwk), ConfigError> {
    let key = EncodingKey::from_secret(secret.expose().as_bytes())
        .map_err(|_| key_error("AUTHD_JWT_SECRET", "is not a usable HMAC key"))?;
    let jwk = Jwk::from_encoding_key(&key, algorithm(alg))
        .map_err(|_| key_error("AUTHD_JWT_SECRET", "is not a usable HMAC key"))?;
    Ok((key, jwk))
}

fn is_private_pem(pem: &str) -> bool {
    pem.contains("PRIVATE KEY-----")
}

/// Parses a PKCS#8 private key of the configured algorithm. Returns `None`
/// for a public key.
fn private_key_from_pem(
    alg: JwtAlgorithm,
    pem: &str,
) -> Result<Option<(EncodingKey, Jwk)>, String> {
    if !is_private_pem(pem) {
        return Ok(None);
    }
    let mismatch =
        |e: jsonwebtoken::errors::Error| format!("not a {} PKCS#8 private key ({e})", alg.as_str());
    let key = match alg {
        JwtAlgorithm::EdDSA => {
            // Accept both PKCS#8 v1 and v2 (with public key), then hand
            // jsonwebtoken the 48-byte v1 form it expects.
            let signing = ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
                .map_err(|e| format!("not an Ed25519 PKCS#8 private key ({e})"))?;
            let der = ed25519_v1_der(&signing)?;
            EncodingKey::from_ed_der(&der)
        }
        JwtAlgorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()).map_err(mismatch)?,
        JwtAlgorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(mismatch)?,
        JwtAlgorithm::HS256 => return Err("HS256 uses AUTHD_JWT_SECRET, not a PEM key".into()),
    };
    let jwk = Jwk::from_encoding_key(&key, algorithm(alg)).map_err(mismatch)?;
    Ok(Some((key, jwk)))
}

/// The public JWK of a PEM key file that holds either half of a key pair.
fn public_jwk_from_pem(alg: JwtAlgorithm, pem: &str) -> Result<Jwk, String> {
    if let Some((_, jwk)) = private_key_from_pem(alg, pem)? {
        return Ok(jwk);
    }
    let mismatch =
        |e: jsonwebtoken::errors::Error| format!("not a {} public key in PEM ({e})", alg.as_str());
    let decoding = match alg {
        JwtAlgorithm::EdDSA => DecodingKey::from_ed_pem(pem.as_bytes()),
        JwtAlgorithm::ES256 => DecodingKey::from_ec_pem(pem.as_bytes()),
        JwtAlgorithm::RS256 => DecodingKey::from_rsa_pem(pem.as_bytes()),
        JwtAlgorithm::HS256 => return Err("HS256 has no public keys".into()),
    }
    .map_err(mismatch)?;
    Jwk::from_decoding_key(&decoding, Some(algorithm(alg))).map_err(mismatch)
}

fn ed25519_v1_der(signing: &ed25519_dalek::SigningKey) -> Result<Vec<u8>, String> {
    let doc = KeypairBytes {
        secret_key: signing.to_bytes(),
        public_key: None,
    }
    .to_pkcs8_der()
    .map_err(|e| format!("cannot encode the Ed25519 key ({e})"))?;
    Ok(doc.as_bytes().to_vec())
}

/// A fresh private key for `alg` as PKCS#8 PEM (`authd keygen`). For HS256,
/// a random secret of 48 bytes, base64url-encoded.
pub fn generate_private_key_pem(alg: JwtAlgorithm) -> Result<String, String> {
    use base64::Engine;
    use p256::pkcs8::EncodePrivateKey as _;
    let mut rng = rand::rng();
    match alg {
        JwtAlgorithm::EdDSA => {
            let mut seed = [0u8; 32];
            rand::fill(&mut seed);
            let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
            let pem = KeypairBytes {
                secret_key: signing.to_bytes(),
                public_key: None,
            }
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| e.to_string())?;
            Ok(pem.to_string())
        }
        JwtAlgorithm::ES256 => {
            // A uniformly random scalar; the rare out-of-range draw is retried.
            let secret = loop {
                let mut bytes = [0u8; 32];
                rand::fill(&mut bytes);
                if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                    break secret;
                }
            };
            let pem = secret
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| e.to_string())?;
            Ok(pem.to_string())
        }
        JwtAlgorithm::RS256 => {
            let key = rsa::PrivateKey::new(&mut rng, 2048).map_err(|e| e.to_string())?;
            let pem = key
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(|e| e.to_string())?;
            Ok(pem.to_string())
        }
        JwtAlgorithm::HS256 => {
            let mut secret = [0u8; 48];
            rand::fill(&mut secret);
            Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret))
        }
    }
}
