//! Small pieces every layer may use; this module imports nothing else of
//! authd's.

pub mod clock;
pub mod identity;
pub mod sealing;
pub mod secret;
pub mod settings;
pub mod telemetry;

pub use secret::Secret;

/// 256 random bits in base64url (43 characters): what authd hands out as a
/// one-time token (a mailed link, a second-step or ceremony handle) or uses
/// as a nonce.
pub fn random_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of `text` in lowercase hex: what the database keeps of a
/// mailed token, and what an ID token's `nonce` claim carries.
pub fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The SHA-256 of `text` in unpadded base64url: a Redis key's part for a
/// handle (the handle itself never reaches Redis), and a PKCE S256
/// challenge (RFC 7636 §4.2).
pub fn sha256_base64url(text: &str) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(text.as_bytes()))
}

/// An error and its causes on one line, for the log: `outer: inner: root`.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_in_hex_and_in_base64url() {
        // Computed apart with Python's hashlib and base64.
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_base64url("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gXFrTMjXk"),
            "SBY8fz4oc0r-c-z59B7buC57-mXnbfH38ulirz18jyI"
        );
    }
}
