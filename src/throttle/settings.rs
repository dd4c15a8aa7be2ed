//! The throttle's limits: failed logins per account and per client IP, how
//! long a lockout lasts, registrations per client IP.

use std::time::Duration;

use crate::common::settings::{positive, positive_seconds};
use crate::settings_section;

settings_section! {
    /// Limits of the login and registration throttle.
    pub struct ThrottleSettings in "throttling" {
        /// Failed logins for one email (existing or not) before it is throttled.
        pub login_max_failures: u32 = "AUTHD_LOGIN_MAX_FAILURES" ["5"] => positive;
        /// Seconds a throttle lasts after the latest failure.
        pub login_lockout: Duration = "AUTHD_LOGIN_LOCKOUT" ["300"] => positive_seconds;
        /// Failed logins from one client IP, over all accounts, before that IP is
        /// throttled for `AUTHD_LOGIN_LOCKOUT`; against password spraying (authd's
        /// addition to the contract).
        pub login_max_failures_per_ip: u32 = "AUTHD_LOGIN_MAX_FAILURES_PER_IP" ["50"] => positive;
        /// Registrations (successful or not) from one client IP per hour; then 429
        /// `rate_limited` with `Retry-After`.
        pub register_max_per_ip: u32 = "AUTHD_REGISTER_MAX_PER_IP" ["20"] => positive;
        /// Password-reset requests for one email address (existing or not) per
        /// hour; then 429 with `Retry-After`, the same for every address (authd's
        /// choice of limit).
        pub mail_max_per_address: u32 = "AUTHD_MAIL_MAX_PER_ADDRESS" ["5"] => positive;
        /// Password-reset requests from one client IP per hour, over all
        /// addresses; then 429 (authd's choice of limit).
        pub mail_max_per_ip: u32 = "AUTHD_MAIL_MAX_PER_IP" ["20"] => positive;
    }
}
