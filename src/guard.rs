//! The Bearer guard (RFC 6750 §2.1): an actix `from_fn` middleware wrapped
//! around every protected route. It verifies the access token, in `session`
//! mode checks with one Redis read that the session still lives, and hands
//! handlers an `Identity` through the request extensions.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, ResponseError};

use crate::config::AccessTokenCheck;
use crate::error::ApiError;
use crate::identity::Identity;
use crate::state::AppState;

pub async fn require_bearer(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        let error = ApiError::Internal("guard without application state".into());
        return Ok(req
            .into_response(error.error_response())
            .map_into_right_body());
    };
    match authenticate(req.headers(), &state).await {
        Ok(identity) => {
            req.extensions_mut().insert(identity);
            next.call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        }
        Err(error) => Ok(req
            .into_response(error.error_response())
            .map_into_right_body()),
    }
}

/// The whole check: a valid token and, in `session` mode, a live session.
pub async fn authenticate(headers: &HeaderMap, state: &AppState) -> Result<Identity, ApiError> {
    let identity = verify_bearer(headers, state)?;
    if state.access_token_check == AccessTokenCheck::Session
        && !state
            .sessions
            .is_live(identity.user_id, identity.session_id)
            .await?
    {
        return Err(ApiError::InvalidToken { token_sent: true });
    }
    Ok(identity)
}

/// Signature and claims only, no I/O. `/api/logout` uses it so that a
/// second logout with the same token is still a 204.
pub fn verify_bearer(headers: &HeaderMap, state: &AppState) -> Result<Identity, ApiError> {
    let token = bearer_token(headers).ok_or(ApiError::InvalidToken { token_sent: false })?;
    state.access_tokens.verify(token).map_err(|rejected| {
        log::debug!("access token rejected: {}", rejected.0);
        ApiError::InvalidToken { token_sent: true }
    })
}

/// `Authorization: Bearer <token>`, scheme case-insensitive. Any other
/// scheme, or none, counts as no token.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}
