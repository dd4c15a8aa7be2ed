//! The account itself: registration, who-am-I, password change, deletion.

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::FreshProof;
use crate::common::clock::rfc3339;
use crate::common::identity::Identity;
use crate::http::body;
use crate::http::client::client;
use crate::http::mount::{guarded, open, Guards};
use crate::http::state::AppState;
use crate::http::{ApiError, ApiResult};
use crate::users::User;

#[derive(Deserialize, ToSchema)]
struct RegisterRequest {
    /// An email address (stored normalized: trimmed, lowercase domain).
    #[schema(format = "email", max_length = 254)]
    email: String,
    /// 8 to 1024 characters, any Unicode (normalized to NFC).
    #[schema(min_length = 8, max_length = 1024)]
    password: String,
}

#[derive(Serialize, ToSchema)]
struct UserResponse {
    /// UUID.
    id: String,
    /// `null` for an account a provider sign-in made without an address.
    email: Option<String>,
    /// RFC 3339.
    created_at: String,
    /// Whether the address has been proven (by the mailed link, an
    /// operator, or the provider that made the account).
    email_verified: bool,
    /// `/api/me`: the providers the user signs in with (`apple`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    providers: Option<Vec<String>>,
}

fn user_response(
    status: actix_web::http::StatusCode,
    user: User,
    providers: Option<Vec<String>>,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(UserResponse {
            id: user.id.to_string(),
            email: (!user.email.is_empty()).then_some(user.email),
            created_at: rfc3339(user.created_at),
            email_verified: user.email_verified,
            providers,
        })
}

/// Creates an account.
#[utoipa::path(post, path = "/api/register", tag = "account",
    request_body(content = RegisterRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created", body = UserResponse),
        (status = 400, description = "Malformed or invalid input (`invalid_request`)", body = crate::http::error::ErrorBody),
        (status = 409, description = "The email has an account (`email_taken`)", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body neither JSON nor (where allowed) form-encoded (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        (status = 429, description = "Throttled (`rate_limited`), with `Retry-After`", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn register(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<RegisterRequest>(&req, &body, false)?;
    let client = client(&req, &state.trusted_proxies);
    let user = state
        .auth
        .register(&input.email, &input.password, &client)
        .await?;
    Ok(user_response(
        actix_web::http::StatusCode::CREATED,
        user,
        None,
    ))
}

/// A fresh ID token of one of the caller's identities, in place of the
/// password (an account made by a provider sign-in has none).
#[derive(Deserialize, ToSchema)]
struct IdTokenProof {
    /// The provider of the identity.
    #[schema(min_length = 1)]
    provider: Option<String>,
    /// An ID token of a linked identity, issued in the last 10 minutes.
    #[schema(min_length = 1)]
    id_token: Option<String>,
    /// The nonce whose SHA-256 the ID token carries.
    #[schema(min_length = 1, max_length = 512)]
    nonce: Option<String>,
}

/// The password, or the ID token: exactly one.
fn fresh_proof<'a>(
    password: Option<&'a str>,
    token: &'a IdTokenProof,
) -> Result<FreshProof<'a>, ApiError> {
    match (password, token.id_token.as_deref()) {
        (Some(password), None) => Ok(FreshProof::Password(password)),
        (None, Some(id_token)) => Ok(FreshProof::IdToken {
            provider: token.provider.as_deref().ok_or(ApiError::InvalidRequest(
                "provider is required with id_token",
            ))?,
            id_token,
            nonce: token.nonce.as_deref().ok_or(ApiError::InvalidRequest(
                "nonce is required with id_token",
            ))?,
        }),
        _ => Err(ApiError::InvalidRequest(
            "send the password, or an ID token of a linked identity (id_token, provider, nonce): exactly one",
        )),
    }
}

#[derive(Deserialize, ToSchema)]
struct PasswordChange {
    /// The current password; or, instead, an ID token of a linked identity.
    #[schema(min_length = 1, max_length = 1024)]
    current_password: Option<String>,
    /// 8 to 1024 characters, any Unicode (normalized to NFC).
    #[schema(min_length = 8, max_length = 1024)]
    new_password: String,
    #[serde(flatten)]
    #[schema(inline)]
    id_token: IdTokenProof,
}

/// Changes the password; every other session of the user ends.
#[utoipa::path(post, path = "/api/password", tag = "account", security(("bearer" = [])),
    request_body(content = PasswordChange, content_type = "application/json"),
    responses(
        (status = 204, description = "Changed"),
        (status = 400, description = "Invalid input, or the current password is wrong, or the ID token is refused or not of a linked identity (`invalid_request`, `invalid_grant`)", body = crate::http::error::ErrorBody),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body neither JSON nor (where allowed) form-encoded (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        (status = 403, description = "The user has a second factor and the token's login used none of theirs (`insufficient_user_authentication`, RFC 9470 step-up)", body = crate::http::error::ErrorBody),
        (status = 429, description = "Throttled (`rate_limited`), with `Retry-After`", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn change_password(
    req: HttpRequest,
    body: Bytes,
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<PasswordChange>(&req, &body, false)?;
    let client = client(&req, &state.trusted_proxies);
    state
        .auth
        .change_password(
            *identity,
            fresh_proof(input.current_password.as_deref(), &input.id_token)?,
            &input.new_password,
            &client,
        )
        .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

#[derive(Deserialize, ToSchema)]
struct AccountDeletion {
    /// The current password; or, instead, an ID token of a linked identity.
    #[schema(min_length = 1, max_length = 1024)]
    password: Option<String>,
    #[serde(flatten)]
    #[schema(inline)]
    id_token: IdTokenProof,
}

/// Deletes the caller's account: every session ends on every instance, a
/// confirmation is mailed, and the address can register again.
#[utoipa::path(delete, path = "/api/account", operation_id = "delete_account", tag = "account", security(("bearer" = [])),
    request_body(content = AccountDeletion, content_type = "application/json"),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid input, or the password is wrong, or the ID token is refused or not of a linked identity (`invalid_request`, `invalid_grant`)", body = crate::http::error::ErrorBody),
        (status = 401, description = "No valid access token, or the account is gone (`invalid_token`), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body not JSON (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        (status = 403, description = "The user has a second factor and the token's login used none of theirs (`insufficient_user_authentication`, RFC 9470 step-up)", body = crate::http::error::ErrorBody),
        (status = 429, description = "Throttled (`rate_limited`), with `Retry-After`", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn delete(
    req: HttpRequest,
    body: Bytes,
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<AccountDeletion>(&req, &body, false)?;
    let client = client(&req, &state.trusted_proxies);
    state
        .auth
        .delete_account(
            *identity,
            fresh_proof(input.password.as_deref(), &input.id_token)?,
            &client,
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's account.
#[utoipa::path(get, path = "/api/me", tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, description = "The account", body = UserResponse),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        (status = 404, description = "Not found (`not_found`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn me(
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (user, providers) = state.auth.me(*identity).await?;
    Ok(user_response(
        actix_web::http::StatusCode::OK,
        user,
        Some(providers),
    ))
}

#[derive(Serialize, ToSchema)]
struct SecureResponse {
    message: &'static str,
    user_id: String,
}

/// A protected route for trying a token.
#[utoipa::path(get, path = "/api/secure", tag = "account", security(("bearer" = [])),
    responses(
        (status = 200, description = "The token is valid", body = SecureResponse),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn secure(identity: web::ReqData<Identity>) -> HttpResponse {
    HttpResponse::Ok().json(SecureResponse {
        message: "I am secured...",
        user_id: identity.user_id.to_string(),
    })
}

/// Mounts the account's resources.
pub fn configure(cfg: &mut web::ServiceConfig, guards: &Guards) {
    let require = &guards.require;
    cfg.service(open("/api/register", web::post().to(register)))
        .service(guarded(require, "/api/me", web::get().to(me)))
        .service(guarded(require, "/api/account", web::delete().to(delete)))
        .service(guarded(
            require,
            "/api/password",
            web::post().to(change_password),
        ))
        .service(guarded(require, "/api/secure", web::get().to(secure)));
}
