//! How a resource server checks that a verified token's session still
//! lives, chosen by configuration: not at all, in authd's Redis, or by
//! introspection.

use std::sync::Arc;

use crate::authd_redis::AuthdRedis;
use crate::identity::Identity;
use crate::introspection::Introspection;
use crate::session_check::SessionCheck;
use crate::unavailable::Unavailable;

/// The check a resource server chooses by configuration.
pub enum Revocation {
    /// Signature and claims only: no I/O on the guarded path; a revoked
    /// session's tokens stand until they expire.
    SignatureOnly,
    /// authd's Redis, read as authd's own guard reads it: from memory while
    /// Redis tracks the session for this process (milliseconds after a
    /// revocation), else one `EXISTS`.
    Redis(Arc<AuthdRedis>),
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
