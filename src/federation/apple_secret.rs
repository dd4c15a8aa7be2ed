//! Sign in with Apple's client secret: not a string an operator pastes (it
//! expires within six months) but an ES256 JWT authd signs with the team's
//! key (`AUTHD_OIDC_APPLE_TEAM_ID`, `_KEY_ID`, `_PRIVATE_KEY_FILE`, the
//! `.p8` file Apple gives), and signs again before it expires.

use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::common::clock::unix_now;

/// Apple's token endpoint's audience for client secrets.
const AUDIENCE: &str = "https://appleid.apple.com";
/// How long a secret authd signs lives (Apple allows up to six months).
const LIFETIME_SECS: u64 = 24 * 3600;
/// A secret this close to its end is signed anew.
const RENEW_BEFORE_SECS: u64 = 3600;

/// The team's key, and the secret signed with it last.
pub struct AppleKey {
    team_id: String,
    key_id: String,
    key: EncodingKey,
    signed: Mutex<Option<(String, u64)>>,
}

impl fmt::Debug for AppleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppleKey")
            .field("team_id", &self.team_id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: u64,
    exp: u64,
    aud: &'static str,
    sub: &'a str,
}

impl AppleKey {
    /// The key in `path` (PKCS#8 PEM, P-256), for `team_id` and `key_id`.
    pub fn load(team_id: &str, key_id: &str, path: &Path) -> Result<Self, String> {
        let pem =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let key = EncodingKey::from_ec_pem(&pem)
            .map_err(|e| format!("{} is not a P-256 private key in PEM ({e})", path.display()))?;
        Ok(Self {
            team_id: team_id.to_string(),
            key_id: key_id.to_string(),
            key,
            signed: Mutex::new(None),
        })
    }

    /// The client secret for `client_id` (the services id): the one signed
    /// before while it has more than an hour left, else a new one.
    pub fn secret(&self, client_id: &str) -> Result<String, String> {
        let now = unix_now();
        let mut signed = self.signed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((secret, expires)) = signed.as_ref() {
            if *expires > now + RENEW_BEFORE_SECS {
                return Ok(secret.clone());
            }
        }
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        let expires = now + LIFETIME_SECS;
        let claims = Claims {
            iss: &self.team_id,
            iat: now,
            exp: expires,
            aud: AUDIENCE,
            sub: client_id,
        };
        let secret = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| format!("signing Apple's client secret: {e}"))?;
        *signed = Some((secret.clone(), expires));
        Ok(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::{generate_private_key_pem, JwtAlgorithm};

    #[test]
    fn the_secret_is_an_es256_jwt_apple_accepts_and_is_reused_until_near_its_end() {
        let pem = generate_private_key_pem(JwtAlgorithm::ES256).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("AuthKey_ABC123DEFG.p8");
        std::fs::write(&path, &pem).unwrap();
        let key = AppleKey::load("TEAM123456", "ABC123DEFG", &path).unwrap();
        let secret = key.secret("com.example.web").unwrap();
        assert_eq!(key.secret("com.example.web").unwrap(), secret);

        let header = jsonwebtoken::decode_header(&secret).unwrap();
        assert_eq!(header.alg, Algorithm::ES256);
        assert_eq!(header.kid.as_deref(), Some("ABC123DEFG"));
        let public = {
            use p256::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
            p256::SecretKey::from_pkcs8_pem(&pem)
                .unwrap()
                .public_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap()
        };
        let mut validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        validation.set_audience(&[AUDIENCE]);
        validation.set_issuer(&["TEAM123456"]);
        let claims = jsonwebtoken::decode::<serde_json::Value>(
            &secret,
            &jsonwebtoken::DecodingKey::from_ec_pem(public.as_bytes()).unwrap(),
            &validation,
        )
        .unwrap()
        .claims;
        assert_eq!(claims["sub"], "com.example.web");
        let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
        assert!(lifetime <= 180 * 24 * 3600);
    }

    #[test]
    fn a_file_that_is_not_a_p256_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.p8");
        std::fs::write(
            &path,
            generate_private_key_pem(JwtAlgorithm::EdDSA).unwrap(),
        )
        .unwrap();
        assert!(AppleKey::load("T", "K", &path).is_err());
        assert!(AppleKey::load("T", "K", &dir.path().join("missing.p8")).is_err());
    }
}
