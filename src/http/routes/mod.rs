//! HTTP handlers, one file per resource: parse the request, call `auth`,
//! render the answer; each file mounts its own resources (`configure`,
//! with `http::mount`). They import `http` and `auth`, never each other.

pub mod account;
pub mod admin;
pub mod health;
pub mod identities;
pub mod index;
pub mod jwks;
pub mod login;
pub mod metrics;
pub mod mfa;
pub mod oauth;
pub mod pages;
pub mod passkeys;
pub mod recovery;
pub mod sessions;
pub mod verification;
pub mod web_flow;

use actix_web::web;

use crate::http::mount::{open, Guards};
use crate::http::{openapi, ApiError};

/// The whole route table: each file's resources, the OpenAPI document,
/// `/metrics` unless it has a listener of its own, and a JSON 404 for the
/// rest. Guarded resources each wrap their guard, so an unknown path is a
/// 404 whether or not a token came with it; another method on a known one
/// is a 405.
pub fn configure(cfg: &mut web::ServiceConfig, guards: &Guards, with_metrics: bool) {
    if with_metrics {
        metrics::configure(cfg);
    }
    account::configure(cfg, guards);
    login::configure(cfg, guards);
    identities::configure(cfg, guards);
    mfa::configure(cfg, guards);
    passkeys::configure(cfg, guards);
    sessions::configure(cfg, guards);
    verification::configure(cfg, guards);
    recovery::configure(cfg);
    oauth::configure(cfg);
    web_flow::configure(cfg);
    pages::configure(cfg);
    admin::configure(cfg);
    jwks::configure(cfg);
    health::configure(cfg);
    index::configure(cfg);
    cfg.service(open("/openapi.json", web::get().to(openapi::openapi)))
        .default_service(web::to(not_found));
}

/// Any other path.
pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}
