//! Who is calling: what the guard hands to handlers after a token checks out.

use uuid::Uuid;

use crate::amr::Amr;
use crate::dpop::Thumbprint;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// `sub`
    pub user_id: Uuid,
    /// `sid`
    pub session_id: Uuid,
    /// `cnf.jkt`: the key the token is bound to (DPoP, RFC 9449 §6.1);
    /// such a token is only accepted with a proof signed by that key.
    pub key: Option<Thumbprint>,
    /// `amr` (RFC 8176): how the user logged in; a token without one counts
    /// as a password alone.
    pub amr: Amr,
}
