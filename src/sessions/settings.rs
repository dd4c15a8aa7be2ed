//! The session settings: how long a session lives idle and in all, the
//! grace window of a rotation, and how many sessions a user may hold.

use std::time::Duration;

use crate::common::settings::{positive, positive_seconds, seconds};
use crate::settings_section;

settings_section! {
    /// Lifetimes and limits of sessions.
    pub struct SessionSettings in "sessions" {
        /// Idle lifetime of a session, seconds: each refresh extends it by this
        /// much.
        pub refresh_token_ttl: Duration = "AUTHD_REFRESH_TOKEN_TTL" ["2592000"] => positive_seconds;
        /// Absolute lifetime of a session from login, seconds, whatever the
        /// refreshes.
        pub max_age: Duration = "AUTHD_SESSION_MAX_AGE" ["7776000"] => positive_seconds;
        /// Seconds during which the refresh token just replaced may be presented
        /// again and gets the same successor (safe retries for clients on flaky
        /// networks); 0: no grace at all.
        pub reuse_grace: Duration = "AUTHD_REFRESH_REUSE_GRACE" ["10"] => seconds;
        /// Most live sessions per user; a login beyond it ends the user's least
        /// recently used session. No Redis call touches more sessions than this,
        /// and `GET /api/sessions` lists at most this many.
        pub max_per_user: u32 = "AUTHD_MAX_SESSIONS_PER_USER" ["100"] => positive;
    }
}
