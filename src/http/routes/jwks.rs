//! `/.well-known/jwks.json` (RFC 7517): the public keys that verify access
//! tokens, serialized once at startup.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::http::mount::open;
use crate::http::state::AppState;

/// The public keys that verify access tokens (RFC 7517); empty for HS256.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "oauth",
    responses((status = 200, description = "The key set", body = Object)))]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(state.auth.access_tokens().keys().jwks_json.clone())
}

/// Mounts the key set.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(open("/.well-known/jwks.json", web::get().to(jwks)));
}
