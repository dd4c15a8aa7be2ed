//! The access-token settings: algorithm, keys, claims, lifetimes, and the
//! guard's cache of verified tokens. `signing_key` decides where the signing
//! key comes from and refuses what production must not run with.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::settings::{
    path, paths, positive_seconds, seconds, secret, text, ConfigError, Environment,
    MIN_SECRET_BYTES,
};
use crate::common::Secret;
use crate::settings_section;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtAlgorithm {
    EdDSA,
    ES256,
    RS256,
    HS256,
}

impl JwtAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EdDSA => "EdDSA",
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::HS256 => "HS256",
        }
    }
}

impl std::str::FromStr for JwtAlgorithm {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "EdDSA" => Ok(Self::EdDSA),
            "ES256" => Ok(Self::ES256),
            "RS256" => Ok(Self::RS256),
            "HS256" => Ok(Self::HS256),
            other => Err(format!(
                "unknown algorithm `{other}`: expected EdDSA, ES256, RS256 or HS256"
            )),
        }
    }
}

fn algorithm(value: &str) -> Result<JwtAlgorithm, String> {
    value.parse()
}

settings_section! {
    /// How access tokens are signed and checked.
    pub struct JwtSettings in "access tokens" {
        /// `iss` of access tokens.
        pub issuer: String = "AUTHD_ISSUER" ["authd"] => text;
        /// `aud` of access tokens.
        pub audience: String = "AUTHD_AUDIENCE" ["authd"] => text;
        /// `EdDSA`, `ES256`, `RS256` or `HS256`.
        pub algorithm: JwtAlgorithm = "AUTHD_JWT_ALGORITHM" ["EdDSA"] => algorithm;
        /// PKCS#8 PEM private key that signs (EdDSA, ES256, RS256); make one with
        /// `authd keygen`. Unset in development: an ephemeral key is generated and
        /// tokens die with the process.
        pub private_key_file: Option<PathBuf> = "AUTHD_JWT_PRIVATE_KEY_FILE" [] => path;
        /// HS256 secret, at least 32 bytes (e.g. `openssl rand -base64 48`). Only
        /// for HS256.
        pub secret: Option<Secret> = "AUTHD_JWT_SECRET" [] => secret;
        /// Comma-separated PEM files (public or private) of earlier keys that
        /// still verify.
        pub verify_key_files: Vec<PathBuf> = "AUTHD_JWT_VERIFY_KEY_FILES" [""] => paths;
        /// Seconds of clock skew tolerated on `exp`/`nbf`.
        pub leeway: Duration = "AUTHD_JWT_LEEWAY" ["30"] => seconds;
        /// Access-token lifetime, seconds.
        pub access_token_ttl: Duration = "AUTHD_ACCESS_TOKEN_TTL" ["900"] => positive_seconds;
    }
}

/// Where the signing key comes from.
#[derive(Clone, Debug)]
pub enum SigningKeySource {
    /// A PKCS#8 PEM file (EdDSA, ES256, RS256).
    PemFile(PathBuf),
    /// The HS256 shared secret.
    Secret(Secret),
    /// Nothing configured: development generates a key that dies with the process.
    Ephemeral,
}

/// Secrets that appear in documentation and examples; production refuses them.
pub const KNOWN_DEFAULT_SECRETS: &[&str] = &[
    "change-me-to-at-least-32-random-bytes!!",
    "changeme",
    "change-me",
    "secret",
];

/// Random secrets of 32 bytes or more have far more; `aaaa…` or `abcd…`
/// repeated have fewer.
pub const MIN_HS256_DISTINCT_BYTES: usize = 12;

fn bad(variable: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::new(variable, reason)
}

impl JwtSettings {
    /// The signing key these settings name, or why `environment` cannot
    /// run with them.
    pub fn signing_key(&self, environment: Environment) -> Result<SigningKeySource, ConfigError> {
        let production = environment == Environment::Production;
        let source = match (self.algorithm, &self.private_key_file, &self.secret) {
            (JwtAlgorithm::HS256, Some(_), _) => {
                return Err(bad(
                    "AUTHD_JWT_PRIVATE_KEY_FILE",
                    "HS256 signs with AUTHD_JWT_SECRET, not a key file",
                ))
            }
            (JwtAlgorithm::HS256, None, Some(secret)) => {
                check_hs256_secret(secret, production)?;
                SigningKeySource::Secret(secret.clone())
            }
            (_, _, Some(_)) => {
                return Err(bad(
                    "AUTHD_JWT_SECRET",
                    format!(
                        "is only used with HS256, but AUTHD_JWT_ALGORITHM is {}; use AUTHD_JWT_PRIVATE_KEY_FILE",
                        self.algorithm.as_str()
                    ),
                ))
            }
            (_, Some(path), None) => {
                if production {
                    refuse_shared_key_file(path)?;
                }
                SigningKeySource::PemFile(path.clone())
            }
            (_, None, None) => SigningKeySource::Ephemeral,
        };
        if matches!(source, SigningKeySource::Ephemeral) && production {
            let (variable, how) = if self.algorithm == JwtAlgorithm::HS256 {
                (
                    "AUTHD_JWT_SECRET",
                    "set a random secret of at least 32 bytes",
                )
            } else {
                (
                    "AUTHD_JWT_PRIVATE_KEY_FILE",
                    "create one with `authd keygen > key.pem` and point this variable at it",
                )
            };
            return Err(bad(
                variable,
                format!("production needs a signing key that outlives the process: {how}"),
            ));
        }
        if self.algorithm == JwtAlgorithm::HS256 && !self.verify_key_files.is_empty() {
            return Err(bad(
                "AUTHD_JWT_VERIFY_KEY_FILES",
                "holds PEM keys, which HS256 cannot use",
            ));
        }
        Ok(source)
    }
}

fn check_hs256_secret(secret: &Secret, production: bool) -> Result<(), ConfigError> {
    let bytes = secret.expose();
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(bad(
            "AUTHD_JWT_SECRET",
            format!(
                "is {} bytes; HS256 needs at least {MIN_SECRET_BYTES} random bytes (e.g. `openssl rand -base64 48`)",
                bytes.len()
            ),
        ));
    }
    if production && KNOWN_DEFAULT_SECRETS.contains(&bytes) {
        return Err(bad(
            "AUTHD_JWT_SECRET",
            "is a published example value; set a fresh random secret (e.g. `openssl rand -base64 48`)",
        ));
    }
    if production {
        let distinct = bytes.bytes().collect::<HashSet<u8>>().len();
        if distinct < MIN_HS256_DISTINCT_BYTES {
            return Err(bad(
                "AUTHD_JWT_SECRET",
                format!(
                    "has only {distinct} distinct bytes, a repeated or patterned string; set a random secret (e.g. `openssl rand -base64 48`)"
                ),
            ));
        }
    }
    Ok(())
}

/// Production refuses a private key file that group or others may read, as
/// ssh does. (A file that cannot be read at all is reported when the key
/// is loaded.)
fn refuse_shared_key_file(path: &Path) -> Result<(), ConfigError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(bad(
                    "AUTHD_JWT_PRIVATE_KEY_FILE",
                    format!(
                        "{} is readable by group or others (mode {mode:o}); make it private to the authd user: `chmod 600 {}`",
                        path.display(),
                        path.display()
                    ),
                ));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}
