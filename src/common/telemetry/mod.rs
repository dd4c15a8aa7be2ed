//! Prometheus metrics: the names and labels of everything authd counts, in
//! one place, recorded through the `metrics` facade (so the rules in `auth`
//! count without knowing about HTTP) and rendered by its Prometheus
//! exporter at `GET /metrics`. One recorder per process. The two metrics
//! every request writes are kept per thread instead ([`requests`]), so
//! answering a request writes nothing another worker writes too.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, describe_counter, describe_gauge, gauge, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

mod requests;

const LOGINS: &str = "authd_logins_total";
const ID_TOKEN_LOGINS: &str = "authd_id_token_logins_total";
const REFRESHES: &str = "authd_refreshes_total";
const SESSIONS_ENDED: &str = "authd_sessions_ended_total";
const STORE_ERRORS: &str = "authd_store_errors_total";
const MAIL: &str = "authd_mail_total";
const ADMIN_ACTIONS: &str = "authd_admin_actions_total";
const MAIL_OLDEST: &str = "authd_mail_queue_oldest_seconds";

/// The route label of a request no route matched: scanners' paths share it.
pub const UNMATCHED_ROUTE: &str = "unmatched";

#[derive(Debug, Clone, Copy)]
pub enum Login {
    Success,
    /// The password was right; a second factor must follow.
    SecondStep,
    Invalid,
    Throttled,
    Unavailable,
}

/// What became of a sign-in with a provider's ID token.
#[derive(Debug, Clone, Copy)]
pub enum IdTokenLogin {
    Success,
    /// The token was right; a second factor must follow.
    SecondStep,
    /// The token was refused, or the provider is not configured.
    Invalid,
    /// 409: the address is another account's, or not verified.
    Conflict,
    /// The provider or a store could not be reached.
    Unavailable,
}

impl IdTokenLogin {
    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::SecondStep => "mfa_required",
            Self::Invalid => "invalid",
            Self::Conflict => "conflict",
            Self::Unavailable => "unavailable",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Refresh {
    Rotated,
    Grace,
    Reused,
    Invalid,
    Unavailable,
}

/// Why sessions ended.
#[derive(Debug, Clone, Copy)]
pub enum Ended {
    Logout,
    LogoutAll,
    Deleted,
    PasswordChange,
    Reused,
    Evicted,
    Revoked,
    /// The account was deleted.
    AccountDeleted,
}

#[derive(Debug, Clone, Copy)]
pub enum Store {
    Redis,
    Database,
}

impl Login {
    const ALL: [Self; 5] = [
        Self::Success,
        Self::SecondStep,
        Self::Invalid,
        Self::Throttled,
        Self::Unavailable,
    ];
    fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::SecondStep => "mfa_required",
            Self::Invalid => "invalid",
            Self::Throttled => "throttled",
            Self::Unavailable => "unavailable",
        }
    }
}

impl Refresh {
    const ALL: [Self; 5] = [
        Self::Rotated,
        Self::Grace,
        Self::Reused,
        Self::Invalid,
        Self::Unavailable,
    ];
    fn label(self) -> &'static str {
        match self {
            Self::Rotated => "rotated",
            Self::Grace => "grace",
            Self::Reused => "reused",
            Self::Invalid => "invalid",
            Self::Unavailable => "unavailable",
        }
    }
}

impl Ended {
    const ALL: [Self; 8] = [
        Self::Logout,
        Self::LogoutAll,
        Self::Deleted,
        Self::PasswordChange,
        Self::Reused,
        Self::Evicted,
        Self::Revoked,
        Self::AccountDeleted,
    ];
    fn label(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::Deleted => "deleted",
            Self::PasswordChange => "password_change",
            Self::Reused => "reused",
            Self::Evicted => "evicted",
            Self::Revoked => "revoked",
            Self::AccountDeleted => "account_deleted",
        }
    }
}

impl Store {
    fn label(self) -> &'static str {
        match self {
            Self::Redis => "redis",
            Self::Database => "database",
        }
    }
}

pub fn login(outcome: Login) {
    counter!(LOGINS, "outcome" => outcome.label()).increment(1);
}

/// `provider`: a configured provider's name, or `unknown` (the label set
/// stays bounded whatever clients send).
pub fn id_token_login(provider: &str, outcome: IdTokenLogin) {
    counter!(ID_TOKEN_LOGINS, "provider" => provider.to_string(), "outcome" => outcome.label())
        .increment(1);
}

pub fn refresh(outcome: Refresh) {
    counter!(REFRESHES, "outcome" => outcome.label()).increment(1);
}

pub fn sessions_ended(reason: Ended, count: u64) {
    if count > 0 {
        counter!(SESSIONS_ENDED, "reason" => reason.label()).increment(count);
    }
}

/// What became of a mail: `queued`, `sent` or `failed` (an attempt that
/// will be retried). `kind` is one of a fixed set.
#[derive(Debug, Clone, Copy)]
pub enum Mail {
    Queued,
    Sent,
    Failed,
}

impl Mail {
    const ALL: [Self; 3] = [Self::Queued, Self::Sent, Self::Failed];
    fn label(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

/// The kinds of mail, for the zeroed counters of a first scrape.
pub const MAIL_KINDS: [&str; 7] = [
    "reset",
    "verify",
    "password_changed",
    "account_deleted",
    "factor_added",
    "recovery_code_used",
    "factors_removed",
];

pub fn mail(kind: &'static str, outcome: Mail) {
    counter!(MAIL, "kind" => kind, "outcome" => outcome.label()).increment(1);
}

/// The age of the oldest mail still waiting (0 when none waits).
pub fn mail_queue_oldest(age: Duration) {
    gauge!(MAIL_OLDEST).set(age.as_secs_f64());
}

/// The admin actions, for the zeroed counters of a first scrape.
pub const ADMIN_ACTIONS_ALL: [&str; 7] = [
    "disable",
    "enable",
    "logout_all",
    "verify_email",
    "delete",
    "remove_factors",
    "unlink_identity",
];

pub fn admin_action(action: &'static str) {
    counter!(ADMIN_ACTIONS, "action" => action).increment(1);
}

pub fn store_error(store: Store) {
    counter!(STORE_ERRORS, "store" => store.label()).increment(1);
}

/// One answered request: `route` is its route pattern (or
/// `UNMATCHED_ROUTE`), never the path, so the label set stays bounded.
/// Counted by the calling thread alone ([`requests`]).
pub fn http_request(method: &str, route: &str, status: u16, took: Duration) {
    requests::record(known_method(method), route, status, took);
}

/// Methods outside the standard set share one label, like unknown paths.
fn known_method(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The process's recorder, installed on first use; every counter starts
/// at 0, so a scrape shows them all from the start.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            log::warn!("metrics: another recorder is installed; /metrics stays empty");
        }
        describe();
        handle
    })
}

fn describe() {
    describe_counter!(LOGINS, "Logins, by outcome");
    describe_counter!(
        ID_TOKEN_LOGINS,
        "Sign-ins with a provider's ID token, by provider and outcome"
    );
    describe_counter!(REFRESHES, "Refresh token presentations, by outcome");
    describe_counter!(SESSIONS_ENDED, "Sessions ended, by reason");
    describe_counter!(STORE_ERRORS, "Failed or timed-out store calls, by store");
    for outcome in Login::ALL {
        counter!(LOGINS, "outcome" => outcome.label()).increment(0);
    }
    for outcome in Refresh::ALL {
        counter!(REFRESHES, "outcome" => outcome.label()).increment(0);
    }
    for reason in Ended::ALL {
        counter!(SESSIONS_ENDED, "reason" => reason.label()).increment(0);
    }
    describe_counter!(
        MAIL,
        "Mails queued, sent and failed (to be retried), by kind"
    );
    describe_gauge!(
        MAIL_OLDEST,
        Unit::Seconds,
        "Age of the oldest mail waiting in the outbox"
    );
    for kind in MAIL_KINDS {
        for outcome in Mail::ALL {
            counter!(MAIL, "kind" => kind, "outcome" => outcome.label()).increment(0);
        }
    }
    gauge!(MAIL_OLDEST).set(0.0);
    describe_counter!(ADMIN_ACTIONS, "Admin actions, by action");
    for action in ADMIN_ACTIONS_ALL {
        counter!(ADMIN_ACTIONS, "action" => action).increment(0);
    }
    for store in [Store::Redis, Store::Database] {
        counter!(STORE_ERRORS, "store" => store.label()).increment(0);
    }
}

/// The text exposition of every metric.
pub fn render() -> String {
    let mut text = handle().render();
    requests::render(&mut text);
    text
}
