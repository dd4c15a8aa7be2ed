//! The pages behind the mailed links: the link from a real mail opens a
//! page (GET never spends its token), the form posts back and spends it,
//! and every page carries the strict headers. The same pages in Chromium:
//! clients/js/test/browser/pages.test.mjs.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;
use authd_test_support::smtp::SmtpCatcher;

const MAIL_WAIT: Duration = Duration::from_secs(15);
const PASSWORD: &str = "correct horse battery staple";

/// The whole link of the `nth` mail to `email` that holds `path?token=`.
async fn mailed_link(catcher: &SmtpCatcher, email: &str, path: &str, nth: usize) -> String {
    let needle = format!("{path}?token=");
    let mails = catcher.wait_for_mail(email, &needle, nth, MAIL_WAIT).await;
    let text = mails[nth - 1].text();
    let at = text.find(&needle).unwrap();
    let start = text[..at].rfind("http").unwrap();
    let end = text[at..]
        .find(|c: char| c.is_whitespace())
        .map_or(text.len(), |n| at + n);
    text[start..end].to_string()
}

fn token_of(link: &str) -> &str {
    link.split("token=").nth(1).unwrap()
}

/// Every page: HTML, nothing loaded from anywhere, forms posted here only,
/// no framing, no referrer (the token is in the URL), never cached.
fn assert_strict_page(res: &reqwest::Response) {
    let header = |name: &str| {
        res.headers()
            .get(name)
            .unwrap_or_else(|| panic!("no {name}"))
            .to_str()
            .unwrap()
            .to_string()
    };
    assert!(header("content-type").starts_with("text/html"));
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("script-src"), "{csp}");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("cache-control"), "no-store");
}

async fn page(res: reqwest::Response, status: u16) -> String {
    assert_eq!(res.status().as_u16(), status);
    assert_strict_page(&res);
    let html = res.text().await.unwrap();
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("src="), "nothing is loaded: {html}");
    html
}

async fn verified(app: &TestApp, email: &str) -> bool {
    let tokens = app.login_tokens(email).await;
    let me: Value = app.me(&tokens.access_token).await;
    me["email_verified"].as_bool().unwrap()
}

#[tokio::test]
async fn the_verification_link_opens_a_page_that_spends_the_token_only_when_its_form_is_sent() {
    let catcher = SmtpCatcher::start();
    let app = app()
        .mail_to(&catcher)
        .var("AUTHD_PAGES_TITLE", "Acme <Notes>")
        .spawn()
        .await;
    let (email, _) = app.signed_in_user().await;
    let link = mailed_link(&catcher, &email, "/verify-email", 1).await;
    assert!(link.starts_with(&app.url("/verify-email?token=")), "{link}");
    let client = reqwest::Client::new();

    // A mail scanner opens the link, twice: nothing is spent.
    for _ in 0..2 {
        let html = page(client.get(&link).send().await.unwrap(), 200).await;
        assert!(html.contains("<form method=\"post\" action=\"verify-email\">"));
        assert!(html.contains(&format!("name=\"token\" value=\"{}\"", token_of(&link))));
        assert!(html.contains("Acme &lt;Notes&gt;"), "the title, escaped");
    }
    assert!(!verified(&app, &email).await);

    // The person presses the button: the form posts the token here.
    let sent = app
        .post_form("/verify-email", &[("token", token_of(&link))])
        .await;
    let html = page(sent, 200).await;
    assert!(html.contains("Email address verified"), "{html}");
    assert!(verified(&app, &email).await);

    // Spent: the same form again is a 400 page saying what to do.
    let again = app
        .post_form("/verify-email", &[("token", token_of(&link))])
        .await;
    let html = page(again, 400).await;
    assert!(html.contains("This link does not work"), "{html}");
    assert!(html.contains("new verification mail"), "{html}");
    let api = app
        .post_json("/api/email/verify", &json!({ "token": token_of(&link) }))
        .await;
    assert_eq!(api.status().as_u16(), 400);
}

#[tokio::test]
async fn the_reset_link_asks_for_the_new_password_twice_and_spends_the_token_once() {
    let catcher = SmtpCatcher::start();
    let app = app().mail_to(&catcher).spawn().await;
    let (email, old_session) = app.signed_in_user().await;
    app.post_json("/api/password/forgot", &json!({ "email": email }))
        .await;
    let link = mailed_link(&catcher, &email, "/reset-password", 1).await;
    let token = token_of(&link);
    let client = reqwest::Client::new();

    let html = page(client.get(&link).send().await.unwrap(), 200).await;
    assert!(html.contains("<form method=\"post\" action=\"reset-password\">"));
    for (id, label) in [
        ("new_password", "New password"),
        ("new_password_again", "New password again"),
    ] {
        assert!(
            html.contains(&format!("<label for=\"{id}\">{label}</label>")),
            "{html}"
        );
        assert!(html.contains(&format!("type=\"password\" id=\"{id}\" name=\"{id}\"")));
    }

    // Two different passwords: the form again, the token not spent.
    let differ = app
        .post_form(
            "/reset-password",
            &[
                ("token", token),
                ("new_password", "a new long passphrase"),
                ("new_password_again", "a new long passphrasf"),
            ],
        )
        .await;
    let html = page(differ, 400).await;
    assert!(html.contains("The two passwords differ"), "{html}");
    assert!(html.contains(&format!("name=\"token\" value=\"{token}\"")));

    // Too short: the rule, and the form again.
    let short = app
        .post_form(
            "/reset-password",
            &[
                ("token", token),
                ("new_password", "short"),
                ("new_password_again", "short"),
            ],
        )
        .await;
    let html = page(short, 400).await;
    assert!(html.contains("8"), "the rule: {html}");
    assert!(html.contains("role=\"alert\""), "{html}");

    let set = app
        .post_form(
            "/reset-password",
            &[
                ("token", token),
                ("new_password", "a new long passphrase"),
                ("new_password_again", "a new long passphrase"),
            ],
        )
        .await;
    let html = page(set, 200).await;
    assert!(html.contains("Password changed"), "{html}");
    assert_eq!(app.guard_status(&old_session.access_token).await, 401);
    assert_eq!(
        app.login(&email, "a new long passphrase")
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(app.login(&email, PASSWORD).await.status().as_u16(), 400);

    let again = app
        .post_form(
            "/reset-password",
            &[
                ("token", token),
                ("new_password", "yet another passphrase"),
                ("new_password_again", "yet another passphrase"),
            ],
        )
        .await;
    let html = page(again, 400).await;
    assert!(html.contains("new password-reset mail"), "{html}");
}

#[tokio::test]
async fn a_page_shows_what_it_is_given_as_text_and_a_cut_link_says_so() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let hostile = "\"><script>alert(1)</script>";
    let query = serde_urlencoded::to_string([("token", hostile)]).unwrap();
    let res = client
        .get(app.url(&format!("/verify-email?{query}")))
        .send()
        .await
        .unwrap();
    let html = page(res, 200).await;
    assert!(html.contains("value=\"&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\""));

    for path in ["/verify-email", "/reset-password", "/reset-password?token="] {
        let res = client.get(app.url(path)).send().await.unwrap();
        let html = page(res, 400).await;
        assert!(html.contains("This link is incomplete"), "{path}: {html}");
    }
    // A form that is not form-encoded, or lacks its fields.
    let res = app
        .post_json("/reset-password", &json!({ "token": "x" }))
        .await;
    page(res, 400).await;
    let res = app.post_form("/verify-email", &[("nothing", "here")]).await;
    page(res, 400).await;
    // The default title.
    let res = client
        .get(app.url("/reset-password?token=abc"))
        .send()
        .await
        .unwrap();
    let html = page(res, 200).await;
    assert!(html.contains("<p class=\"product\">authd</p>"), "{html}");
}
