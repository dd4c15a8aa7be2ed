//! The Bearer guard (RFC 6750 §2.1): an actix `from_fn` middleware wrapped
//! around every protected route. `Auth::authenticate` decides; the guard
//! reads the header and hands handlers an `Identity` through the request
//! extensions.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, ResponseError};

use super::error::ApiError;
use crate::http::state::AppState;

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
    match state.auth.authenticate(bearer_token(req.headers())).await {
        Ok(identity) => {
            req.extensions_mut().insert(identity);
            next.call(req)
                .await
                .map(ServiceResponse::map_into_left_body)
        }
        Err(error) => Ok(req
            .into_response(ApiError::from(error).error_response())
            .map_into_right_body()),
    }
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
