//! HTTP handlers, one file per resource.

pub mod account;
pub mod body;
pub mod health;
pub mod jwks;
pub mod sessions;
pub mod tokens;
