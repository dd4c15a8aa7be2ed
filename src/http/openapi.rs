//! `GET /openapi.json`: the OpenAPI 3.1 document of every route, generated
//! from the handlers' annotations and the request and response types
//! themselves (utoipa), rendered once.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::HttpResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::routes::{
    account, admin, health, identities, index, jwks, login, metrics, mfa, oauth, passkeys,
    recovery, sessions, verification, web_flow,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "authd",
        description = "Login, short-lived JWT access tokens, rotating refresh tokens and \
                       instant revocation. Errors are `{\"error\", \"error_description\"}`; \
                       docs/api.md has the rules behind each route."
    ),
    paths(
        account::register,
        login::login,
        login::login_mfa,
        login::login_id_token,
        login::passkey_login_start,
        login::passkey_login_finish,
        login::refresh,
        web_flow::authorize,
        web_flow::callback_get,
        web_flow::callback_post,
        login::logout,
        login::logout_all,
        sessions::list,
        sessions::end,
        account::change_password,
        mfa::enrol,
        mfa::confirm,
        mfa::disable,
        passkeys::register_start,
        passkeys::register_finish,
        passkeys::list,
        passkeys::delete,
        recovery::forgot,
        recovery::reset,
        verification::verify,
        verification::resend,
        admin::list,
        admin::show,
        admin::disable,
        admin::enable,
        admin::logout_all,
        admin::verify_email,
        admin::delete,
        admin::remove_factors,
        admin::unlink_identity,
        account::me,
        account::delete,
        account::secure,
        identities::list,
        identities::link,
        identities::unlink,
        oauth::revoke,
        oauth::introspect,
        oauth::metadata,
        jwks::jwks,
        openapi,
        metrics::metrics,
        health::healthz,
        health::readyz,
        index::index,
    ),
    modifiers(&Schemes),
    tags(
        (name = "account", description = "Registration, the account, its password"),
        (name = "tokens", description = "Login, refresh, logout"),
        (name = "sessions", description = "A user's devices"),
        (name = "second factors", description = "TOTP and recovery codes"),
        (name = "passkeys", description = "WebAuthn passkeys: registration and login"),
        (name = "oauth", description = "RFC 7009, 7662, 8414 and the JWKS"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
        (name = "admin", description = "Operators: users, with an admin secret"),
    )
)]
struct ApiDoc;

/// The Bearer schemes: access tokens, introspection secrets, admin secrets.
struct Schemes;

impl Modify for Schemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("An access token from /api/login or /api/token"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "introspection",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("One of AUTHD_INTROSPECTION_SECRETS"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The secret of one of AUTHD_ADMIN_SECRETS"))
                    .build(),
            ),
        );
    }
}

/// The document as JSON.
pub fn document() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        ApiDoc::openapi().to_json().unwrap_or_else(|e| {
            format!("{{\"error\":\"server_error\",\"error_description\":\"{e}\"}}")
        })
    })
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(document())
}
