//! Small pieces every layer may use; this module imports nothing else of
//! authd's.

pub mod clock;
pub mod identity;
pub mod secret;
pub mod settings;
pub mod telemetry;

pub use secret::Secret;

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
