//! A user's devices: list the live sessions, end one of them.

use uuid::Uuid;

use super::{Auth, AuthError};
use crate::common::identity::Identity;
use crate::common::telemetry::Ended;
use crate::sessions::SessionInfo;

/// A live session, and whether it is the caller's own.
pub struct DeviceSession {
    pub info: SessionInfo,
    pub current: bool,
}

impl Auth {
    /// `GET /api/sessions`: live sessions only, newest first.
    pub async fn sessions(&self, who: Identity) -> Result<Vec<DeviceSession>, AuthError> {
        let mut sessions = self.sessions.list(who.user_id).await?;
        sessions.sort_by(|a, b| b.created_ms.cmp(&a.created_ms).then(b.id.cmp(&a.id)));
        Ok(sessions
            .into_iter()
            .map(|info| DeviceSession {
                current: info.id == who.session_id,
                info,
            })
            .collect())
    }

    /// `DELETE /api/sessions/{id}`: ends one of the caller's sessions. Not
    /// found for anything else (another user's, already ended, never
    /// existed, malformed), so the answer reveals nothing about others.
    pub async fn end_session(&self, who: Identity, id: &str) -> Result<(), AuthError> {
        let session = Uuid::parse_str(id).map_err(|_| AuthError::NotFound)?;
        if self
            .sessions
            .end(who.user_id, session, Ended::Deleted)
            .await?
        {
            Ok(())
        } else {
            Err(AuthError::NotFound)
        }
    }
}
