//! Responses that many routes document alike, written once for the OpenAPI
//! document (`responses(...)` in a route's `#[utoipa::path]` inlines them).

use super::error::ErrorBody;

/// What every route that reads Redis or the database may answer when a
/// store does not: the error body with `temporarily_unavailable`.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 503,
    description = "Redis or the database did not answer (`temporarily_unavailable`), with `Retry-After`"
)]
pub struct Unavailable(pub ErrorBody<'static>);
