//! Whether a verified token's session still lives: what makes a logout,
//! a password change or a lost-device revocation reach the resource server
//! before the access token expires.

use std::future::Future;
use std::sync::Arc;

use crate::error::Unavailable;
use crate::identity::Identity;
use crate::introspection::Introspection;
use crate::redis_sessions::RedisSessions;

pub trait SessionCheck {
    /// `token`: the access token itself, verified already.
    fn is_live(
        &self,
        identity: Identity,
        token: &str,
    ) -> impl Future<Output = Result<bool, Unavailable>>;
}

/// No check: signature and claims only; a token stands until it expires.
impl<C: SessionCheck> SessionCheck for Option<C> {
    async fn is_live(&self, identity: Identity, token: &str) -> Result<bool, Unavailable> {
        match self {
            Some(check) => check.is_live(identity, token).await,
            None => Ok(true),
        }
    }
}

/// The check a resource server chooses by configuration.
pub enum Revocation {
    /// Signature and claims only: no I/O on the guarded path; a revoked
    /// session's tokens stand until they expire.
    SignatureOnly,
    /// authd's Redis, read as authd's own guard reads it: from memory while
    /// Redis tracks the session for this process (milliseconds after a
    /// revocation), else one `EXISTS`.
    Redis(Arc<RedisSessions>),
    /// authd's `POST /api/introspect`, each answer kept for a short while.
    Introspection(Introspection),
}

impl SessionCheck for Revocation {
    async fn is_live(&self, identity: Identity, token: &str) -> Result<bool, Unavailable> {
        match self {
            Self::SignatureOnly => Ok(true),
            Self::Redis(redis) => redis.is_live(identity, token).await,
            Self::Introspection(introspection) => introspection.is_live(identity, token).await,
        }
    }
}
