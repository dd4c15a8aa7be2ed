//! A string that must never be printed (the settings crate's type, shared
//! with `authd-guard`).

pub use authd_settings::Secret;
