//! `GET /`: where to start, for someone who opens authd's address.

use actix_web::{web, HttpResponse};

use crate::http::mount::open;

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Index {
    /// `authd`.
    service: &'static str,
    /// The OpenAPI document of every route.
    openapi: &'static str,
    /// Where the rules behind each route are written.
    docs: &'static str,
    /// The public keys that verify access tokens.
    jwks: &'static str,
    /// RFC 8414 metadata.
    metadata: &'static str,
    /// Liveness.
    health: &'static str,
}

/// Where to start: the OpenAPI document, the docs and the well-known
/// documents.
#[utoipa::path(get, path = "/", tag = "operations",
    responses((status = 200, description = "Where to start", body = Index)))]
pub async fn index() -> HttpResponse {
    HttpResponse::Ok().json(Index {
        service: "authd",
        openapi: "/openapi.json",
        docs: "docs/api.md in authd's repository (and README.md for a walk-through)",
        jwks: "/.well-known/jwks.json",
        metadata: "/.well-known/oauth-authorization-server",
        health: "/healthz",
    })
}

/// Mounts `/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(open("/", web::get().to(index)));
}
