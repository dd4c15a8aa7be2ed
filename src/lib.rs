//! authd: login, short-lived JWT access tokens, rotating refresh tokens in
//! Redis, and a Bearer guard. `startup::Application` is the entry point;
//! `docs/architecture.md` shows the layers and what each may import.

pub mod auth;
pub mod client_ip;
pub mod common;
pub mod config;
pub mod connections;
pub mod http;
pub mod identity;
pub mod logging;
pub mod routes;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod throttle;
pub mod tokens;
pub mod users;
