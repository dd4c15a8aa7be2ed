//! Request bodies: JSON everywhere, form encoding where RFC 6749 allows it.
//! The size limit (16 KiB) is enforced by the `Bytes` extractor's config.
//! A body of the wrong shape is answered with the field to fix (`shape`).

mod shape;

use actix_web::http::header::CONTENT_TYPE;
use actix_web::web::Bytes;
use actix_web::HttpRequest;
use serde::de::DeserializeOwned;

use super::error::ApiError;

pub const MAX_BODY_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Form,
}

/// Which encoding the `Content-Type` announces, if one authd reads.
fn encoding(req: &HttpRequest) -> Option<Encoding> {
    let value = req.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next()?.trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Some(Encoding::Json),
        "application/x-www-form-urlencoded" => Some(Encoding::Form),
        e if e.starts_with("application/") && e.ends_with("+json") => Some(Encoding::Json),
        _ => None,
    }
}

/// Parses a body that must be present. `form` allows form encoding.
pub fn required<T: DeserializeOwned>(
    req: &HttpRequest,
    body: &Bytes,
    form: bool,
) -> Result<(T, Encoding), ApiError> {
    optional(req, body, form)?.ok_or(ApiError::InvalidRequest("a request body is required"))
}

/// Parses a body that may be absent (empty, with any content type).
pub fn optional<T: DeserializeOwned>(
    req: &HttpRequest,
    body: &Bytes,
    form: bool,
) -> Result<Option<(T, Encoding)>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match encoding(req) {
        Some(Encoding::Json) => shape::json(body)
            .map(|v| Some((v, Encoding::Json)))
            .map_err(ApiError::InvalidBody),
        Some(Encoding::Form) if form => shape::form(body)
            .map(|v| Some((v, Encoding::Form)))
            .map_err(ApiError::InvalidBody),
        _ => Err(ApiError::UnsupportedMediaType),
    }
}
