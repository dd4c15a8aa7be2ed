//! What the session store answers: a refresh token handed out, a session
//! as listed, and the outcome of each operation that can go more than one
//! way.

use std::time::Duration;

use authd_guard::Amr;
use uuid::Uuid;

use super::refresh_token::RefreshToken;

/// A refresh token the client may use, how long it stays valid, and when
/// its session ends whatever happens (unix seconds).
pub struct IssuedRefresh {
    pub token: RefreshToken,
    pub expires_in: Duration,
    pub session_end: u64,
    /// Whether the user's email address is verified, as the session knows.
    pub email_verified: bool,
    /// How the session's login authenticated (RFC 8176).
    pub amr: Amr,
}

/// What a session records about the device that opened it.
#[derive(Debug, Clone, Default)]
pub struct SessionMeta {
    pub device: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<std::net::IpAddr>,
}

/// A live session as `GET /api/sessions` shows it. Times in unix ms.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: Uuid,
    pub created_ms: i64,
    pub last_used_ms: i64,
    pub expires_ms: i64,
    pub device: Option<String>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    /// Bound to a DPoP key: only requests proving that key refresh it.
    pub dpop_bound: bool,
}

/// What a logout or revocation by refresh token did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndByToken {
    /// Whether a session ended (false: it had ended already, or the token
    /// is not of its family).
    Done(bool),
    /// The session is bound to a DPoP key the request did not prove:
    /// nothing ended.
    WrongKey,
}

/// What a login's `create` made of it.
pub enum Created {
    Session(IssuedRefresh),
    /// A password change newer than the one the login verified has landed:
    /// no session.
    Stale,
    /// Redis has not yet seen the password change the login verified (its
    /// Redis step did not run): finish it, then create again.
    Lagging,
}

/// A refresh token that is the current one of its live session.
#[derive(Debug, Clone, Copy)]
pub struct CurrentRefresh {
    /// Until the session (and so the token) expires.
    pub expires_in: Duration,
    /// When the token was issued (its rotation, or the login): unix ms.
    pub issued_at_ms: i64,
    pub email_verified: bool,
}

pub enum RotateOutcome {
    /// A successor was issued.
    Rotated(IssuedRefresh),
    /// The token had just been replaced: the same successor, again.
    Grace(IssuedRefresh),
    /// The token had been replaced before: the session is now revoked.
    Reused,
    /// Unknown, expired, revoked or forged.
    Invalid,
    /// The session is bound to a DPoP key this request did not prove:
    /// nothing changed.
    WrongKey,
}
