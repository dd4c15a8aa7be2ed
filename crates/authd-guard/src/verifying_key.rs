//! A key a verifier trusts, with the one algorithm it verifies (RFC 8725
//! §3.1: a token's `alg` must match it).

use jsonwebtoken::{Algorithm, DecodingKey};

pub struct VerifyingKey {
    pub algorithm: Algorithm,
    pub key: DecodingKey,
}
