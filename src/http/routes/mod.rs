//! HTTP handlers, one file per resource: parse the request, call `auth`,
//! render the answer. They import `http` and `auth`, never each other.

pub mod account;
pub mod admin;
pub mod health;
pub mod jwks;
pub mod login;
pub mod metrics;
pub mod mfa;
pub mod oauth;
pub mod passkeys;
pub mod recovery;
pub mod sessions;
pub mod verification;
