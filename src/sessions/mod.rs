//! Refresh sessions in Redis. The design (keys, values, TTLs, scripts) is
//! described in `docs/sessions.md`; `token` owns the refresh-token format,
//! `store` the atomic operations on a session.

pub mod proofs;
pub mod refresh_token;
pub mod settings;
pub mod store;

pub use proofs::ProofLog;
pub use refresh_token::RefreshToken;
pub use settings::SessionSettings;
pub use store::{
    Created, CurrentRefresh, IssuedRefresh, RevokeByToken, RotateOutcome, SessionInfo, SessionMeta,
    SessionStore,
};
