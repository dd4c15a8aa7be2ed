//! The web flow of sign-in with a provider: the redirect to the provider,
//! and its callback back to the app (the code exchange is `/api/token`'s,
//! in `login`).

use actix_web::http::header;
use actix_web::web::{self, Bytes, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Callback;
use crate::http::body;
use crate::http::mount::open;
use crate::http::state::AppState;
use crate::http::{ApiError, ApiResult};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuthorizeQuery {
    /// A provider of `AUTHD_OIDC_PROVIDERS`.
    provider: Option<String>,
    /// Where the user comes back with authd's code: one of
    /// `AUTHD_OIDC_REDIRECT_URLS`, exactly.
    redirect_to: Option<String>,
    /// The base64url SHA-256 of the app's `code_verifier` (RFC 7636).
    code_challenge: Option<String>,
    /// `S256`.
    code_challenge_method: Option<String>,
}

/// A query field that must be there.
fn field<'a>(value: &'a Option<String>, text: &'static str) -> Result<&'a str, ApiError> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .ok_or(ApiError::InvalidRequest(text))
}

fn found(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Sends the user to the provider's sign-in page.
#[utoipa::path(get, path = "/api/oauth/authorize", operation_id = "oauth_authorize", tag = "tokens",
    params(AuthorizeQuery),
    responses(
        (status = 302, description = "To the provider's authorization endpoint, with authd's `state`, a nonce, a PKCE challenge and the callback URL"),
        (status = 400, description = "An unknown provider, a `redirect_to` not allow-listed, or a missing or malformed PKCE challenge (`invalid_request`): nobody is redirected", body = crate::http::error::ErrorBody),
        (status = 404, description = "Sign-in with providers, or its web flow, is off (`not_found`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn authorize(req: HttpRequest, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let query = Query::<AuthorizeQuery>::from_query(req.query_string())
        .map_err(|_| ApiError::InvalidRequest("the query is malformed"))?;
    let location = state
        .auth
        .authorize(
            field(&query.provider, "provider is required")?,
            field(&query.redirect_to, "redirect_to is required")?,
            field(&query.code_challenge, "code_challenge is required")?,
            field(
                &query.code_challenge_method,
                "code_challenge_method=S256 is required",
            )?,
        )
        .await?;
    Ok(found(&location))
}

/// What a provider sends back (in the query, or Apple's posted form).
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// authd's `state`.
    state: Option<String>,
    /// The provider's authorization code.
    code: Option<String>,
    /// The provider's error (`access_denied`, …).
    error: Option<String>,
}

async fn callback(state: &AppState, input: CallbackQuery) -> ApiResult<HttpResponse> {
    let location = state
        .auth
        .oauth_callback(Callback {
            state: input.state.as_deref(),
            code: input.code.as_deref(),
            error: input.error.as_deref(),
        })
        .await?;
    Ok(found(&location))
}

/// Where the provider sends the user back: on to the app's `redirect_to`.
#[utoipa::path(get, path = "/api/oauth/callback", operation_id = "oauth_callback", tag = "tokens",
    params(CallbackQuery),
    responses(
        (status = 302, description = "To the app's `redirect_to` with `code` (authd's, single use, 60 s) or `error`"),
        (status = 400, description = "An unknown, used or expired `state` (`invalid_request`): nobody is redirected", body = crate::http::error::ErrorBody),
        (status = 404, description = "Sign-in with providers, or its web flow, is off (`not_found`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn callback_get(req: HttpRequest, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let input = Query::<CallbackQuery>::from_query(req.query_string())
        .map_err(|_| ApiError::InvalidRequest("the query is malformed"))?;
    callback(&state, input.into_inner()).await
}

/// The callback as Apple's `form_post` sends it.
#[utoipa::path(post, path = "/api/oauth/callback", operation_id = "oauth_callback_form", tag = "tokens",
    request_body(content = inline(CallbackForm), content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 302, description = "To the app's `redirect_to` with `code` (authd's, single use, 60 s) or `error`"),
        (status = 400, description = "An unknown, used or expired `state` (`invalid_request`): nobody is redirected", body = crate::http::error::ErrorBody),
        (status = 404, description = "Sign-in with providers, or its web flow, is off (`not_found`)", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body not form-encoded (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn callback_post(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let input = body::optional::<CallbackForm>(&req, &body, true)?
        .map(|(form, _)| form)
        .unwrap_or_default();
    callback(
        &state,
        CallbackQuery {
            state: input.state,
            code: input.code,
            error: input.error,
        },
    )
    .await
}

/// Apple's posted callback (its `user` and `id_token` fields are not read:
/// authd takes the ID token from its own code exchange).
#[derive(Deserialize, Default, utoipa::ToSchema)]
struct CallbackForm {
    state: Option<String>,
    code: Option<String>,
    error: Option<String>,
}

/// Mounts the web flow's redirect and callback.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(open("/api/oauth/authorize", web::get().to(authorize)))
        .service(
            web::resource("/api/oauth/callback")
                .route(web::get().to(callback_get))
                .route(web::post().to(callback_post)),
        );
}
