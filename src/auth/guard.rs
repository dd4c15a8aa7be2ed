//! The guard of authd's own routes: the guard crate (the one resource
//! servers use) over authd's verifier and, in `session` mode, its session
//! store (from memory while Redis tracks the session, else one read).

use std::sync::Arc;

use authd_guard::{Guard, SessionCheck, Unavailable};

use super::{AccessTokenCheck, Auth};
use crate::common::identity::Identity;
use crate::sessions::SessionStore;

/// Sessions checked in authd's own store.
pub struct LiveSessions(Arc<SessionStore>);

impl SessionCheck for LiveSessions {
    async fn is_live(&self, identity: Identity, _token: &str) -> Result<bool, Unavailable> {
        self.0
            .is_live(identity.user_id, identity.session_id)
            .await
            .map_err(Unavailable::new)
    }
}

/// `None`: `signature` mode, no session check.
pub type AuthdGuard = Guard<Option<LiveSessions>>;

impl Auth {
    pub fn guard(&self) -> AuthdGuard {
        self.enrolment_guard()
            .with_required_mfa(self.settings.tokens.require_mfa)
    }

    /// The guard of the routes that enrol a second factor: a token from a
    /// password alone passes even with `AUTHD_REQUIRE_MFA` (else nobody
    /// could enrol a first factor).
    pub fn enrolment_guard(&self) -> AuthdGuard {
        let check = (self.settings.tokens.access_token_check == AccessTokenCheck::Session)
            .then(|| LiveSessions(self.sessions.clone()));
        Guard::new(self.access_tokens.verifier(), check).with_dpop(self.dpop_policy())
    }
}
