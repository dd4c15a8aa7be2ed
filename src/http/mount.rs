//! How a route is mounted: open to anyone, or behind one of authd's Bearer
//! guards. Each file of `routes/` mounts its own resources with these in
//! its `configure`; `routes::configure` puts the files together.

use actix_web::dev::HttpServiceFactory;
use actix_web::{web, Route};
use authd_guard::RequireToken;

use crate::auth::LiveSessions;

/// The guard crate's middleware over authd's own guard.
pub type Require = RequireToken<Option<LiveSessions>>;

/// The guards routes are mounted behind.
#[derive(Clone)]
pub struct Guards {
    /// Protected routes (with `AUTHD_REQUIRE_MFA`, a second factor too).
    pub require: Require,
    /// The routes that enrol a factor: a token from a password alone
    /// passes even with `AUTHD_REQUIRE_MFA` (else nobody could enrol).
    pub enrol: Require,
}

/// A resource open to anyone (it may check a secret of its own).
pub fn open(path: &str, route: Route) -> impl HttpServiceFactory {
    web::resource(path).route(route)
}

/// A resource behind `guard`.
pub fn guarded(guard: &Require, path: &str, route: Route) -> impl HttpServiceFactory {
    web::resource(path).wrap(guard.clone()).route(route)
}
