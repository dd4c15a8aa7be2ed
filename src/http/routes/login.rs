//! Login, refresh and logout: the routes that hand out or end sessions.

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{LoginOutcome, SecondFactor, TokenPair};
use crate::common::identity::Identity;
use crate::http::body::{self, Encoding};
use crate::http::client::client;
use crate::http::mount::{guarded, open, Guards};
use crate::http::responses::Ceremony;
use crate::http::state::AppState;
use crate::http::{ApiError, ApiResult};
use authd_guard::Presented;

/// RFC 6749 §5.1 plus what a mobile client needs to schedule its refresh.
#[derive(Serialize, ToSchema)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
    refresh_token_expires_in: u64,
    session_id: String,
}

/// What a sign-in answers: the token response, or the contract's 403 with
/// the second step to come.
fn signed_in(outcome: LoginOutcome, state: &AppState) -> ApiResult<HttpResponse> {
    match outcome {
        LoginOutcome::Session(pair) => Ok(token_response(pair, state)),
        LoginOutcome::SecondStep(challenge) => Err(ApiError::MfaRequired(Box::new(challenge))),
    }
}

fn token_response(pair: TokenPair, state: &AppState) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    // The nonce the next proof needs, so a client seldom meets
    // `use_dpop_nonce` (RFC 9449 §8.2).
    if let Some(nonce) = state.auth.dpop_nonce() {
        res.insert_header(("DPoP-Nonce", nonce));
    }
    res.json(TokenResponse {
        access_token: pair.access_token,
        token_type: if pair.dpop_bound { "DPoP" } else { "Bearer" },
        expires_in: pair.expires_in,
        refresh_token: pair.refresh_token,
        refresh_token_expires_in: pair.refresh_token_expires_in,
        session_id: pair.session_id.to_string(),
    })
}

#[derive(Deserialize, ToSchema)]
struct LoginRequest {
    #[schema(format = "email", max_length = 254)]
    email: String,
    #[schema(min_length = 8, max_length = 1024)]
    password: String,
    /// A name for the device (at most 100 characters), shown in the
    /// session list.
    #[schema(max_length = 100)]
    device: Option<String>,
}

/// Logs in: a session, its first refresh token and an access token.
#[utoipa::path(post, path = "/api/login", tag = "tokens",
    params(("DPoP" = Option<String>, Header, description = "An RFC 9449 proof (docs/api.md, DPoP): binds the session to its key, or proves the key a bound session needs")),
    request_body(content = LoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, description = "Invalid input, or wrong email or password (`invalid_request`, `invalid_grant`); a bad DPoP proof (`invalid_dpop_proof`) or one without the server nonce (`use_dpop_nonce`, with `DPoP-Nonce`)", body = crate::http::error::ErrorBody),
        (status = 403, description = "The password is right and the user has a second factor (`mfa_required`): finish at `/api/login/mfa`; or `email_not_verified`", body = crate::http::error::MfaRequiredBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body neither JSON nor (where allowed) form-encoded (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        (status = 404, description = "Passkeys are off on this server and a passkey is the user's only second factor (`not_found`)", body = crate::http::error::ErrorBody),
        (status = 429, description = "Throttled (`rate_limited`), with `Retry-After`", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn login(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<LoginRequest>(&req, &body, false)?;
    let client = client(&req, &state.trusted_proxies);
    let presented = Presented::from_request(&req, state.auth.dpop_public_base());
    let outcome = state
        .auth
        .login(
            &input.email,
            &input.password,
            input.device.as_deref(),
            &client,
            &presented,
        )
        .await?;
    signed_in(outcome, &state)
}

/// A sign-in with an OpenID provider's ID token (docs/api.md, "Sign in with
/// Apple, Google and other providers").
#[derive(Deserialize, ToSchema)]
struct IdTokenLoginRequest {
    /// A provider of `AUTHD_OIDC_PROVIDERS` (`apple`, `google`, …).
    #[schema(min_length = 1)]
    provider: String,
    /// The ID token the platform's sign-in sheet gave the app.
    #[schema(min_length = 1)]
    id_token: String,
    /// The nonce the app kept: the ID token's `nonce` claim is its
    /// SHA-256 (lowercase hex). Each nonce signs in once.
    #[schema(min_length = 1, max_length = 512)]
    nonce: String,
    /// A name for the device (at most 100 characters), shown in the
    /// session list.
    #[schema(max_length = 100)]
    device: Option<String>,
}

/// Signs in with a provider's ID token: a session, as after a password.
#[utoipa::path(post, path = "/api/login/id-token", tag = "tokens",
    params(("DPoP" = Option<String>, Header, description = "An RFC 9449 proof (docs/api.md, DPoP): binds the session to its key")),
    request_body(content = IdTokenLoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in; the access token's `amr` is `[\"fed\"]`", body = TokenResponse),
        (status = 400, description = "`invalid_request` (an unknown provider, a missing field); `invalid_grant` for an ID token that fails a check (the description says which) or a nonce used before; `invalid_dpop_proof`, `use_dpop_nonce`", body = crate::http::error::ErrorBody),
        (status = 403, description = "The token is right and the user has a second factor (`mfa_required`): finish at `/api/login/mfa`; or `email_not_verified`", body = crate::http::error::MfaRequiredBody),
        (status = 404, description = "Sign-in with providers is off (`not_found`)", body = crate::http::error::ErrorBody),
        (status = 409, description = "A new identity whose address an account holds unverified (`account_exists`), or whose address the provider has not verified (`email_not_verified`)", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body not JSON (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn login_id_token(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<IdTokenLoginRequest>(&req, &body, false)?;
    let client = client(&req, &state.trusted_proxies);
    let presented = Presented::from_request(&req, state.auth.dpop_public_base());
    let outcome = state
        .auth
        .login_with_id_token(
            &input.provider,
            &input.id_token,
            &input.nonce,
            input.device.as_deref(),
            &client,
            &presented,
        )
        .await?;
    signed_in(outcome, &state)
}

/// The second step of a login: the `mfa_token` and one answer.
#[derive(Deserialize, ToSchema)]
struct MfaLoginRequest {
    /// From the `mfa_required` answer of `/api/login`.
    #[schema(min_length = 1)]
    mfa_token: String,
    /// A TOTP code (6 digits).
    #[schema(pattern = "^[0-9]{6}$")]
    code: Option<String>,
    /// One of the recovery codes given when TOTP was turned on.
    #[schema(max_length = 64)]
    recovery_code: Option<String>,
    /// A WebAuthn assertion (`PublicKeyCredential` JSON) answering the
    /// `publicKey` options of the `mfa_required` answer.
    #[schema(value_type = Option<Object>)]
    credential: Option<serde_json::Value>,
}

/// Exactly one of a code, a recovery code or an assertion.
fn second_factor(
    code: Option<String>,
    recovery_code: Option<String>,
    credential: Option<serde_json::Value>,
) -> Result<SecondFactor, ApiError> {
    match (code, recovery_code, credential) {
        (Some(code), None, None) => Ok(SecondFactor::Code(code)),
        (None, Some(code), None) => Ok(SecondFactor::RecoveryCode(code)),
        (None, None, Some(credential)) => Ok(SecondFactor::Credential(credential)),
        _ => Err(ApiError::InvalidRequest(
            "send exactly one of code, recovery_code and credential",
        )),
    }
}

/// Finishes a login that answered `mfa_required`.
#[utoipa::path(post, path = "/api/login/mfa", tag = "tokens",
    params(("DPoP" = Option<String>, Header, description = "An RFC 9449 proof (docs/api.md, DPoP): binds the session to its key")),
    request_body(content = MfaLoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Logged in; the access token's `amr` names the factors", body = TokenResponse),
        (status = 400, description = "`invalid_request`; `invalid_grant` for a wrong or used code, recovery code or assertion, or an unknown, expired or used `mfa_token` (5 minutes, single use, closed after 5 wrong answers); `invalid_dpop_proof`, `use_dpop_nonce`", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body not JSON (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        (status = 404, description = "A passkey assertion while passkeys are off on this server (`not_found`)", body = crate::http::error::ErrorBody),
        (status = 429, description = "Throttled (`rate_limited`): wrong codes count as wrong passwords", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn login_mfa(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<MfaLoginRequest>(&req, &body, false)?;
    let answer = second_factor(input.code, input.recovery_code, input.credential)?;
    let client = client(&req, &state.trusted_proxies);
    let presented = Presented::from_request(&req, state.auth.dpop_public_base());
    let pair = state
        .auth
        .login_mfa(&input.mfa_token, answer, &client, &presented)
        .await?;
    Ok(token_response(pair, &state))
}

#[derive(Deserialize, ToSchema)]
struct PasskeyLoginStart {
    /// Optional: offer this user's passkeys; without it, the authenticator
    /// picks a discoverable passkey.
    #[schema(format = "email", max_length = 254)]
    email: Option<String>,
}

/// Starts a login with a passkey.
#[utoipa::path(post, path = "/api/login/passkey/start", tag = "passkeys",
    request_body(content = Option<PasskeyLoginStart>, content_type = "application/json"),
    responses(
        (status = 200, description = "A challenge", body = crate::http::responses::Ceremony),
        (status = 400, description = "Invalid input (`invalid_request`)", body = crate::http::error::ErrorBody),
        (status = 404, description = "Passkeys are off on this server (`not_found`, naming the settings that turn them on)", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body not JSON (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        (status = 429, description = "Too many passkey logins started from this client (`rate_limited`), with `Retry-After`", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn passkey_login_start(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let input = body::optional::<PasskeyLoginStart>(&req, &body, false)?;
    let email = input.as_ref().and_then(|(i, _)| i.email.as_deref());
    let client = client(&req, &state.trusted_proxies);
    let (challenge_id, public_key) = state.auth.passkey_login_start(email, &client).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Ceremony {
            challenge_id,
            public_key,
        }))
}

#[derive(Deserialize, ToSchema)]
struct PasskeyLoginFinish {
    #[schema(min_length = 1)]
    challenge_id: String,
    /// The authenticator's assertion (`PublicKeyCredential` JSON).
    #[schema(value_type = Object)]
    credential: serde_json::Value,
    /// A name for the device (at most 100 characters).
    #[schema(max_length = 100)]
    device: Option<String>,
}

/// Finishes a login with a passkey: the same token pair as a password
/// login, with `amr` `hwk` (a device-bound passkey) or `swk` (a synced one).
#[utoipa::path(post, path = "/api/login/passkey/finish", tag = "passkeys",
    params(("DPoP" = Option<String>, Header, description = "An RFC 9449 proof (docs/api.md, DPoP): binds the session to its key")),
    request_body(content = PasskeyLoginFinish, content_type = "application/json"),
    responses(
        (status = 200, description = "Logged in", body = TokenResponse),
        (status = 400, description = "`invalid_request`; `invalid_grant` for an unknown, expired or used `challenge_id` or a refused assertion (wrong origin, unknown passkey, a signature counter that went backwards); `invalid_dpop_proof`, `use_dpop_nonce`", body = crate::http::error::ErrorBody),
        (status = 403, description = "`email_not_verified` (with `AUTHD_REQUIRE_VERIFIED_EMAIL`)", body = crate::http::error::ErrorBody),
        (status = 404, description = "Passkeys are off on this server (`not_found`, naming the settings that turn them on)", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body not JSON (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn passkey_login_finish(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<PasskeyLoginFinish>(&req, &body, false)?;
    let client = client(&req, &state.trusted_proxies);
    let presented = Presented::from_request(&req, state.auth.dpop_public_base());
    let pair = state
        .auth
        .passkey_login_finish(
            &input.challenge_id,
            input.credential,
            input.device.as_deref(),
            &client,
            &presented,
        )
        .await?;
    Ok(token_response(pair, &state))
}

/// JSON `{"refresh_token"}` or RFC 6749 §6 form fields; or, to finish the
/// web flow of a provider sign-in, `grant_type=authorization_code` with
/// `code` and `code_verifier` (RFC 6749 §4.1.3, RFC 7636 §4.5).
#[derive(Deserialize, ToSchema)]
struct RefreshRequest {
    /// `refresh_token` (form encoding requires it) or
    /// `authorization_code`.
    #[schema(pattern = "^(refresh_token|authorization_code)$")]
    grant_type: Option<String>,
    /// With `refresh_token`: the refresh token the last response returned.
    #[schema(min_length = 107, max_length = 107, pattern = "^[A-Za-z0-9_-]+$")]
    refresh_token: Option<String>,
    /// With `authorization_code`: the code the web flow's redirect carried.
    #[schema(min_length = 1, max_length = 256)]
    code: Option<String>,
    /// With `authorization_code`: the verifier of the app's
    /// `code_challenge`.
    #[schema(min_length = 43, max_length = 128)]
    code_verifier: Option<String>,
}

/// Rotates a refresh token: a new refresh token and access token.
#[utoipa::path(post, path = "/api/token", tag = "tokens",
    params(("DPoP" = Option<String>, Header, description = "An RFC 9449 proof (docs/api.md, DPoP): binds the session to its key, or proves the key a bound session needs")),
    request_body(content(
        (RefreshRequest = "application/json"),
        (RefreshRequest = "application/x-www-form-urlencoded")
    )),
    responses(
        (status = 200, description = "Rotated", body = TokenResponse),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type`, or `invalid_grant` with `reason`; `invalid_dpop_proof` (a bad proof, or a bound session without a proof by its key: nothing changes) or `use_dpop_nonce`; with `authorization_code`, `invalid_grant` for an unknown, used or expired code or a `code_verifier` that does not match (the code is spent)", body = crate::http::error::ErrorBody),
        (status = 403, description = "`authorization_code` for a user with a second factor (`mfa_required`): finish at `/api/login/mfa`; or `email_not_verified`", body = crate::http::error::MfaRequiredBody),
        (status = 404, description = "`authorization_code` while sign-in with providers is off (`not_found`)", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body neither JSON nor (where allowed) form-encoded (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn refresh(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, encoding) = body::required::<RefreshRequest>(&req, &body, true)?;
    match (encoding, input.grant_type.as_deref()) {
        (_, Some("refresh_token")) | (Encoding::Json, None) => {}
        (_, Some("authorization_code")) => return code_exchange(&req, input, &state).await,
        (Encoding::Form, None) => return Err(ApiError::InvalidRequest("grant_type is required")),
        (_, Some(_)) => return Err(ApiError::UnsupportedGrantType),
    }
    let presented = input
        .refresh_token
        .ok_or(ApiError::InvalidRequest("refresh_token is required"))?;
    let request = Presented::from_request(&req, state.auth.dpop_public_base());
    Ok(token_response(
        state.auth.refresh(&presented, &request).await?,
        &state,
    ))
}

/// `grant_type=authorization_code`: authd's code from the web flow and the
/// app's verifier; a session, or the second step.
async fn code_exchange(
    req: &HttpRequest,
    input: RefreshRequest,
    state: &AppState,
) -> ApiResult<HttpResponse> {
    let code = input
        .code
        .ok_or(ApiError::InvalidRequest("code is required"))?;
    let verifier = input
        .code_verifier
        .ok_or(ApiError::InvalidRequest("code_verifier is required"))?;
    let client = client(req, &state.trusted_proxies);
    let presented = Presented::from_request(req, state.auth.dpop_public_base());
    let outcome = state
        .auth
        .exchange_code(&code, &verifier, &client, &presented)
        .await?;
    signed_in(outcome, state)
}

#[derive(Deserialize, ToSchema)]
struct LogoutRequest {
    #[schema(min_length = 1)]
    refresh_token: String,
}

/// Ends the session of the refresh token in the body or, without one, the
/// Bearer's. Idempotent.
#[utoipa::path(post, path = "/api/logout", tag = "tokens", security((), ("bearer" = [])),
    params(("DPoP" = Option<String>, Header, description = "An RFC 9449 proof (docs/api.md, DPoP): binds the session to its key, or proves the key a bound session needs")),
    request_body(content = Option<LogoutRequest>, content_type = "application/json"),
    responses(
        (status = 204, description = "Ended, or already ended"),
        (status = 400, description = "Malformed or invalid input (`invalid_request`); a bad DPoP proof, or a bound session without a proof by its key (`invalid_dpop_proof`, nothing ends), or `use_dpop_nonce`", body = crate::http::error::ErrorBody),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        (status = 413, description = "Body over 16 KiB (`payload_too_large`)", body = crate::http::error::ErrorBody),
        (status = 415, description = "Body neither JSON nor (where allowed) form-encoded (`unsupported_media_type`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn logout(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let input = body::optional::<LogoutRequest>(&req, &body, false)?;
    let refresh_token = input.as_ref().map(|(i, _)| i.refresh_token.as_str());
    let presented = Presented::from_request(&req, state.auth.dpop_public_base());
    state.auth.logout(refresh_token, &presented).await?;
    Ok(no_content())
}

/// Ends every session of the caller.
#[utoipa::path(post, path = "/api/logout-all", tag = "tokens", security(("bearer" = [])),
    responses(
        (status = 204, description = "Ended"),
        (status = 401, description = "No valid access token (`invalid_token`: the description says why, e.g. expired or its session ended), with `WWW-Authenticate`", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn logout_all(
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    state.auth.logout_all(*identity).await?;
    Ok(no_content())
}

fn no_content() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Mounts login, refresh and logout.
pub fn configure(cfg: &mut web::ServiceConfig, guards: &Guards) {
    cfg.service(open("/api/login", web::post().to(login)))
        .service(open("/api/login/mfa", web::post().to(login_mfa)))
        .service(open("/api/login/id-token", web::post().to(login_id_token)))
        .service(open(
            "/api/login/passkey/start",
            web::post().to(passkey_login_start),
        ))
        .service(open(
            "/api/login/passkey/finish",
            web::post().to(passkey_login_finish),
        ))
        .service(open("/api/token", web::post().to(refresh)))
        .service(open("/api/logout", web::post().to(logout)))
        .service(guarded(
            &guards.require,
            "/api/logout-all",
            web::post().to(logout_all),
        ));
}
