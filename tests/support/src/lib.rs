//! What authd's test crates (`tests/api`, `tests/cli`, `tests/rules.rs`,
//! `tests/memory.rs`) share. A dev-dependency of authd that depends on
//! authd's library: integration tests link that same library, so the types
//! here are theirs.
//!
//! - [`servers`]: a private `redis-server` (single, replicated or a Redis
//!   Cluster) and PostgreSQL, and a fresh database per test.
//! - [`stores`]: one test's Redis prefix and database, and the settings of
//!   an app on them.
//! - [`app`]: an `Application` on a free port ([`app::TestApp`], built with
//!   [`app::app`]) and its HTTP helpers.
//! - [`keys`]: signing key files.
//! - [`service`]: the real `authd` process (see [`authd_bin!`]).
//! - [`provider`]: an OpenID provider (discovery and JWKS over HTTP) that
//!   mints ID tokens with its own keys.
//! - [`smtp`]: a real SMTP server (aiosmtpd) that keeps what it receives.
//! - [`values`]: the values tests share, such as [`values::PASSWORD`].

pub mod app;
pub mod keys;
pub mod provider;
pub mod servers;
pub mod service;
pub mod smtp;
pub mod stores;
pub mod values;
