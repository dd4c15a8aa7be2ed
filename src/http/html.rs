//! authd's own pages: the small HTML documents behind the mailed links.
//! Everything a page shows is escaped here; a page loads nothing from
//! anywhere (its only style is inline, allowed by its hash), runs no
//! script, cannot be framed, and sends no referrer (the link's token is in
//! the URL).

use std::sync::LazyLock;

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;

/// The one style sheet, inline; the CSP allows exactly this text.
const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a;line-height:1.5}\
h1{font-size:1.4rem}label{display:block;margin:1rem 0 .25rem}\
input[type=password]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}\
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem}\
.product{color:#555;font-size:.9rem}.problem{color:#a00000}";

/// `Content-Security-Policy` of every page (CSP 3): nothing but the inline
/// style above, forms posted back here only, no framing.
static CSP: LazyLock<String> = LazyLock::new(|| {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    format!(
        "default-src 'none'; style-src 'sha256-{hash}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
});

/// Text made safe to put in an element or a double-quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page: `title` (the product's name, `AUTHD_PAGES_TITLE`), a heading
/// and a body that is already HTML (built with [`escape`]).
pub fn page(status: StatusCode, product: &str, heading: &str, body: &str) -> HttpResponse {
    let product = escape(product);
    let heading = escape(heading);
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{heading} · {product}</title><style>{STYLE}</style></head>\
         <body><main><p class=\"product\">{product}</p><h1>{heading}</h1>{body}</main></body></html>\n"
    );
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP.as_str()))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .body(html)
}

/// A paragraph of text.
pub fn paragraph(text: &str) -> String {
    format!("<p>{}</p>", escape(text))
}

/// A paragraph saying what went wrong, announced to screen readers.
pub fn problem(text: &str) -> String {
    format!("<p class=\"problem\" role=\"alert\">{}</p>", escape(text))
}

/// A form that POSTs (form-encoded) back to `action`, relative to the
/// page (so authd may sit under a path), carrying `token`; `fields` is HTML.
pub fn form(action: &str, token: &str, fields: &str, button: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"token\" value=\"{}\">{fields}<button type=\"submit\">{}</button></form>",
        escape(action),
        escape(token),
        escape(button)
    )
}

/// A labelled password input.
pub fn password_input(name: &str, label: &str, autocomplete: &str) -> String {
    let name = escape(name);
    format!(
        "<label for=\"{name}\">{}</label><input type=\"password\" id=\"{name}\" name=\"{name}\" autocomplete=\"{}\" required minlength=\"8\" maxlength=\"1024\">",
        escape(label),
        escape(autocomplete)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_could_end_an_element_or_an_attribute() {
        assert_eq!(
            escape(r#"<script>"x" & 'y'</script>"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn the_policy_allows_the_inline_style_by_its_hash_and_nothing_else() {
        // That the browser accepts the hash is tested in Chromium
        // (clients/js/test/browser/pages.test.mjs).
        assert!(CSP.starts_with("default-src 'none'; style-src 'sha256-"));
        assert!(CSP.contains("form-action 'self'"));
        assert!(CSP.contains("frame-ancestors 'none'"));
    }
}
