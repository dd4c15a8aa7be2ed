//! Refresh sessions in Redis. The design (keys, values, TTLs, scripts) is
//! described in `docs/sessions.md`: `refresh_token` owns the refresh-token
//! format, `store` the atomic operations on a session, `library` the
//! scripts they run, `outcomes` what they answer, `replies` the values
//! between Rust and Redis; `proofs` the DPoP proofs seen.

mod library;
pub mod outcomes;
pub mod proofs;
pub mod refresh_token;
mod replies;
pub mod settings;
pub mod store;

pub use outcomes::{
    Created, CurrentRefresh, EndByToken, IssuedRefresh, RotateOutcome, SessionInfo, SessionMeta,
};
pub use proofs::ProofLog;
pub use refresh_token::RefreshToken;
pub use settings::SessionSettings;
pub use store::SessionStore;
