//! Who sent a request, as the rules need it: the client IP (behind
//! `AUTHD_TRUSTED_PROXIES`) and the `User-Agent`.

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::auth::Client;
use crate::http::client_ip::TrustedProxies;

pub const MAX_USER_AGENT_BYTES: usize = 256;

pub fn client(req: &HttpRequest, proxies: &TrustedProxies) -> Client {
    Client {
        ip: proxies.client_ip(req),
        user_agent: user_agent(req),
    }
}

/// The `User-Agent`, cut to 256 bytes on a character boundary.
fn user_agent(req: &HttpRequest) -> Option<String> {
    let raw = req.headers().get(header::USER_AGENT)?.as_bytes();
    let ua = String::from_utf8_lossy(raw);
    let ua = ua.trim();
    let mut end = ua.len().min(MAX_USER_AGENT_BYTES);
    while !ua.is_char_boundary(end) {
        end -= 1;
    }
    (end > 0).then(|| ua[..end].to_string())
}
