//! Access tokens: RFC 9068 JWTs signed with the configured key, and the keys
//! themselves (RFC 7517 JWKS, RFC 7638 key ids).

pub mod access;
pub mod key_set;
pub mod settings;

pub use access::{AccessClaims, AccessTokens, IssuedAccessToken};
pub use key_set::{generate_private_key_pem, KeySet};
pub use settings::{JwtAlgorithm, JwtSettings, SigningKeySource, KNOWN_DEFAULT_SECRETS};
