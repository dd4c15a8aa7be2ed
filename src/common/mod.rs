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
