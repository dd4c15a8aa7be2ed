//! How a setting is declared: the shared `authd-settings` crate (authd and
//! `authd-guard` declare theirs the same way), and what only authd's
//! settings need (`Environment`).

pub use authd_settings::*;

/// Development or production: production refuses what only a developer's
/// machine may get away with (ephemeral keys, published secrets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// `development` or `production`.
pub fn environment(value: &str) -> Result<Environment, String> {
    match value {
        "development" => Ok(Environment::Development),
        "production" => Ok(Environment::Production),
        other => Err(format!(
            "`{other}` is neither `development` nor `production`"
        )),
    }
}
