//! authd: login, short-lived JWT access tokens, rotating refresh tokens in
//! Redis, and a Bearer guard. `startup::Application` is the entry point.

pub mod client_ip;
pub mod config;
pub mod error;
pub mod guard;
pub mod identity;
pub mod logging;
pub mod redis_pool;
pub mod request_id;
pub mod routes;
pub mod sessions;
pub mod startup;
pub mod state;
pub mod throttle;
pub mod tokens;
pub mod users;
