//! Who is calling: what the guard hands to handlers after a token checks out.

use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    /// `sub`
    pub user_id: Uuid,
    /// `sid`
    pub session_id: Uuid,
}
