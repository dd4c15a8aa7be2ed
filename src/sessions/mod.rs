//! Refresh sessions in Redis. The design (keys, values, TTLs, scripts) is
//! described in `docs/sessions.md`; `token` owns the refresh-token format,
//! `store` the atomic operations on a session.

pub mod call;
pub mod refresh_token;
pub mod store;

pub use call::Durability;
pub use refresh_token::RefreshToken;
pub use store::{
    Created, CurrentRefresh, IssuedRefresh, Lifetimes, RotateOutcome, SessionInfo, SessionMeta,
    SessionStore,
};
