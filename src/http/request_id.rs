//! `X-Request-Id`: every request gets one, taken from the client when it is
//! a short printable token and made up otherwise. It is echoed in the
//! response, written into the access log line, and held in a task-local for
//! the request's lifetime so that every log line the request causes names
//! it (see `logging`).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::Error;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");
const MAX_LEN: usize = 64;

tokio::task_local! {
    static CURRENT: String;
}

/// The request id of the request being served on this task, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok()
}

/// A client's id is kept when it is 1 to 64 characters of letters, digits
/// and `-_.:+/=@`: nothing that could split or forge a log line.
fn acceptable(value: &HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?;
    let ok = !text.is_empty()
        && text.len() <= MAX_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:+/=@".contains(&b));
    ok.then_some(text)
}

pub async fn assign(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let id = match req.headers().get(&HEADER).and_then(acceptable) {
        Some(id) => id.to_string(),
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let value = HeaderValue::from_str(&id).map_err(actix_web::error::ErrorInternalServerError)?;
    // On the request too, where the access log reads it.
    req.headers_mut().insert(HEADER, value.clone());
    let mut res = CURRENT.scope(id, next.call(req)).await?;
    res.headers_mut().insert(HEADER, value);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_tokens_are_kept() {
        let ok = |s: &str| acceptable(&HeaderValue::from_str(s).unwrap()).is_some();
        assert!(ok("abc-123_x.y"));
        assert!(ok(&"a".repeat(64)));
        assert!(!ok(&"a".repeat(65)));
        assert!(!ok("two words"));
        assert!(!ok("quote\"d"));
        assert!(!ok(""));
    }
}
