//! The OAuth 2.0 family: revocation (RFC 7009), introspection (RFC 7662)
//! and authorization server metadata (RFC 8414).

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{AuthError, TokenState};
use crate::http::body;
use crate::http::mount::open;
use crate::http::state::AppState;
use crate::http::{ApiError, ApiResult};
use authd_guard::dpop::SIGNING_ALGORITHMS;
use authd_guard::{bearer_token, Presented, TokenProblem};

/// RFC 7009 §2.1 and RFC 7662 §2.1, form or JSON. The hint is accepted
/// and not needed: refresh and access tokens differ in form.
#[derive(Deserialize, ToSchema)]
struct TokenRequest {
    token: Option<String>,
    /// `refresh_token` or `access_token`; not needed.
    #[allow(dead_code)]
    token_type_hint: Option<String>,
}

fn token_of(req: &HttpRequest, body: &Bytes) -> Result<String, ApiError> {
    let (input, _) = body::required::<TokenRequest>(req, body, true)?;
    input
        .token
        .filter(|t| !t.trim().is_empty())
        .map(|t| t.trim().to_string())
        .ok_or(ApiError::InvalidRequest("token is required"))
}

/// Token revocation (RFC 7009): ends the session of a refresh token, or of
/// an access token unless `AUTHD_REVOKE_ACCESS_TOKENS=false`; 200 for
/// anything well-formed.
#[utoipa::path(post, path = "/api/revoke", tag = "oauth",
    params(("DPoP" = Option<String>, Header, description = "An RFC 9449 proof (docs/api.md, DPoP): binds the session to its key, or proves the key a bound session needs")),
    request_body(content(
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "application/json")
    )),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke"),
        (status = 400, description = "Malformed or invalid input (`invalid_request`); a token of a session bound to a DPoP key without a proof by that key (`invalid_dpop_proof`, nothing ends), or `use_dpop_nonce`", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body neither JSON nor (where allowed) form-encoded (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn revoke(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let token = token_of(&req, &body)?;
    let presented = Presented::from_request(&req, state.auth.dpop_public_base());
    state.auth.revoke(&token, &presented).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// RFC 7662 §2.2. Fields a token does not have are left out.
#[derive(Serialize, Default, ToSchema)]
struct IntrospectionResponse {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    /// Whether the user's email address is verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
    /// RFC 9449 §6.2: `{"jkt"}`, the DPoP key an access token is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    cnf: Option<serde_json::Value>,
    /// An access token's RFC 8176 methods: how the user logged in.
    #[serde(skip_serializing_if = "Option::is_none")]
    amr: Option<Vec<&'static str>>,
    /// An access token's `acr`: `aal2` with a second factor or passkey,
    /// else `aal1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    acr: Option<&'static str>,
    /// With sign-in with providers on: the providers the user signs in
    /// with (`apple`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    providers: Option<Vec<String>>,
}

/// Token introspection (RFC 7662) for resource servers holding one of
/// `AUTHD_INTROSPECTION_SECRETS`. Reads only.
#[utoipa::path(post, path = "/api/introspect", tag = "oauth", security(("introspection" = [])),
    request_body(content(
        (TokenRequest = "application/x-www-form-urlencoded"),
        (TokenRequest = "application/json")
    )),
    responses(
        (status = 200, description = "`active`, and the token's claims when it is", body = IntrospectionResponse),
        (status = 401, description = "No or a wrong introspection secret (`invalid_token`)", body = crate::http::error::ErrorBody),
        (status = 404, description = "Introspection is off (`not_found`)", body = crate::http::error::ErrorBody),
        (status = 400, description = "Malformed or invalid input (`invalid_request`)", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body neither JSON nor (where allowed) form-encoded (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn introspect(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let Some(callers) = &state.introspection else {
        return Err(ApiError::NotFound);
    };
    let caller = bearer_token(req.headers());
    if !caller.is_some_and(|secret| callers.admits(secret)) {
        return Err(AuthError::InvalidToken(match caller {
            Some(_) => TokenProblem::UnknownSecret,
            None => TokenProblem::Missing,
        })
        .into());
    }
    let token = token_of(&req, &body)?;
    let answer = match state.auth.introspect(&token).await? {
        TokenState::Inactive => IntrospectionResponse::default(),
        TokenState::Access(claims, providers) => IntrospectionResponse {
            active: true,
            token_type: Some("access_token"),
            sub: Some(claims.identity.user_id.to_string()),
            sid: Some(claims.identity.session_id.to_string()),
            iss: Some(claims.issuer),
            aud: Some(claims.audience),
            exp: Some(claims.expires_at),
            iat: Some(claims.issued_at),
            jti: Some(claims.jti),
            email_verified: Some(claims.email_verified),
            cnf: claims
                .identity
                .key
                .map(|key| serde_json::json!({ "jkt": key.to_base64() })),
            amr: Some(claims.identity.amr.names().collect()),
            acr: Some(claims.identity.amr.acr()),
            providers,
        },
        TokenState::Refresh {
            identity,
            issuer,
            audience,
            expires_at,
            issued_at,
            email_verified,
            providers,
        } => IntrospectionResponse {
            active: true,
            token_type: Some("refresh_token"),
            sub: Some(identity.user_id.to_string()),
            sid: Some(identity.session_id.to_string()),
            iss: Some(issuer),
            aud: Some(audience),
            exp: Some(expires_at),
            iat: Some(issued_at),
            jti: None,
            email_verified: Some(email_verified),
            cnf: None,
            amr: None,
            acr: None,
            providers,
        },
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer))
}

/// `/.well-known/oauth-authorization-server`, rendered once at startup.
/// Authorization server metadata (RFC 8414).
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    responses((status = 200, description = "The metadata", body = Object)))]
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(state.metadata.clone())
}

/// RFC 8414 §2 for what authd serves: no authorization endpoint (clients
/// log in with a password at `/api/login`), the refresh grant at the token
/// endpoint, public clients (no client authentication). One extension:
/// `refresh_token_reuse_grace`, the seconds within which a client that lost
/// a refresh response may retry with the same token (clients schedule their
/// retries by it). DPoP (RFC 9449 §5.1): the algorithms proofs may use.
pub fn metadata_json(
    issuer: &str,
    public_url: &str,
    introspection: bool,
    reuse_grace_secs: u64,
) -> String {
    let mut doc = serde_json::json!({
        "issuer": issuer,
        "token_endpoint": format!("{public_url}/api/token"),
        "jwks_uri": format!("{public_url}/.well-known/jwks.json"),
        "revocation_endpoint": format!("{public_url}/api/revoke"),
        "grant_types_supported": ["refresh_token"],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "refresh_token_reuse_grace": reuse_grace_secs,
        "dpop_signing_alg_values_supported": SIGNING_ALGORITHMS,
    });
    if introspection {
        doc["introspection_endpoint"] = format!("{public_url}/api/introspect").into();
    }
    doc.to_string()
}

/// Mounts revocation, introspection and the metadata.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(open("/api/revoke", web::post().to(revoke)))
        .service(open("/api/introspect", web::post().to(introspect)))
        .service(open(
            "/.well-known/oauth-authorization-server",
            web::get().to(metadata),
        ));
}
