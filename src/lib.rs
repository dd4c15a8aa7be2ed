//! authd: login, short-lived JWT access tokens, rotating refresh tokens in
//! Redis, and a Bearer guard. `app::startup::Application` is the entry
//! point. The folders are the layers, each importing only those below it:
//! `app` → `http` → `auth` → stores (`sessions`, `users`, `throttle`, `jwt`,
//! `factors`, `federation`)
//! → the mail outbox (`mail`) → `connections` → `common`; `docs/architecture.md` tells what each owns,
//! and `tests/layers.rs` checks the `use` lines.

pub mod app;
pub mod auth;
pub mod common;
pub mod connections;
pub mod factors;
pub mod federation;
pub mod http;
pub mod jwt;
pub mod mail;
pub mod sessions;
pub mod throttle;
pub mod users;

/// How every section of settings is declared (the `authd-settings` crate,
/// shared with `authd-guard`).
pub use authd_settings::settings_section;
