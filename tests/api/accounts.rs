use serde_json::{json, Value};

use crate::helpers::*;

#[tokio::test]
async fn register_creates_an_account_and_returns_it() {
    let app = spawn_app().await;
    let email = unique_email();
    let res = app.register(&format!("  {email} "), PASSWORD).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["email"], email.as_str());
    assert!(uuid::Uuid::parse_str(body["id"].as_str().unwrap()).is_ok());
    let created = body["created_at"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339)
            .is_ok()
    );
    assert!(body.get("password_hash").is_none() && !body.to_string().contains("argon2"));
}

#[tokio::test]
async fn emails_are_unique_whatever_their_case() {
    let app = spawn_app().await;
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status(), 201);
    let (status, body) = error_of(app.register(&email.to_uppercase(), PASSWORD).await).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"], "email_taken");
}

#[tokio::test]
async fn a_registration_race_yields_one_account_and_409s() {
    let app = spawn_app().await;
    assert_registration_race_makes_one_account(&[&app], 10).await;
}

#[tokio::test]
async fn malformed_emails_are_invalid_requests() {
    let app = spawn_app().await;
    for email in [
        "no-at-sign.example.com",
        "two@@example.com",
        "a@nodot",
        "sp ace@example.com",
        "ctl\u{1}@example.com",
        "",
    ] {
        let (status, body) = error_of(app.register(email, PASSWORD).await).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request")),
            "{email:?}"
        );
    }
    let long = format!("{}@example.com", "a".repeat(250));
    let (status, _) = error_of(app.register(&long, PASSWORD).await).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn an_address_with_a_display_name_or_angle_brackets_is_refused_and_nothing_is_mailed() {
    let catcher = authd_test_support::smtp::SmtpCatcher::start();
    let app = app().mail_to(&catcher).spawn().await;
    let mailbox = unique_email();
    for email in [
        format!("x<{mailbox}>"),
        format!("x <{mailbox}>"),
        format!("<{mailbox}>"),
        format!("\"x<y\"@{}", mailbox.split('@').nth(1).unwrap()),
        format!("x(comment){mailbox}"),
    ] {
        let body = assert_error(app.register(&email, PASSWORD).await, 400, "invalid_request").await;
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("bare address"),
            "{body}"
        );
        let res = app
            .post_json(
                "/api/password/forgot",
                &serde_json::json!({ "email": email }),
            )
            .await;
        // Looked up (an account registered under older rules still could
        // be), it finds none (202), or does not look like an address at all
        // (400): either way nothing is mailed.
        assert!(matches!(res.status().as_u16(), 202 | 400), "{email}");
    }
    // The bare address registers, and only its own verification mail goes out.
    assert_eq!(app.register(&mailbox, PASSWORD).await.status(), 201);
    let mails = catcher
        .wait_for_mail(
            &mailbox,
            "verify-email?token=",
            1,
            std::time::Duration::from_secs(15),
        )
        .await;
    assert_eq!(mails.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(catcher.mail(&mailbox, "reset-password?token=").is_empty());
}

#[tokio::test]
async fn passwords_must_be_8_to_1024_characters() {
    let app = spawn_app().await;
    let (status, body) = error_of(app.register(&unique_email(), "1234567").await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, _) = error_of(app.register(&unique_email(), &"x".repeat(1025)).await).await;
    assert_eq!(status, 400);
    // 1024 multi-byte characters are allowed: the bound counts characters.
    assert_eq!(
        app.register(&unique_email(), &"é".repeat(1024))
            .await
            .status(),
        201
    );
    assert_eq!(
        app.register(&unique_email(), "12345678").await.status(),
        201
    );
}

#[tokio::test]
async fn passwords_are_compared_after_nfc_normalization() {
    let app = spawn_app().await;
    let email = unique_email();
    assert_eq!(
        app.register(&email, "caf\u{e9} au lait").await.status(),
        201
    );
    let res = app.login(&email, "cafe\u{301} au lait").await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn login_returns_the_token_response_uncached() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    let res = app.login(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["pragma"], "no-cache");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["refresh_token_expires_in"], 2_592_000);
    assert!(body["access_token"].as_str().unwrap().split('.').count() == 3);
    let refresh = body["refresh_token"].as_str().unwrap();
    assert!(
        refresh.len() >= 22
            && refresh
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert!(uuid::Uuid::parse_str(body["session_id"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_identical_answers() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    let wrong = app.login(&email, "not the password at all").await;
    let unknown = app.login(&unique_email(), "not the password at all").await;
    let (s1, b1) = error_of(wrong).await;
    let (s2, b2) = error_of(unknown).await;
    assert_eq!((s1, s2), (400, 400));
    assert_eq!(b1["error"], "invalid_grant");
    assert_eq!(b1, b2);
}

#[tokio::test]
async fn login_with_an_oversized_password_is_refused_before_hashing() {
    let app = spawn_app().await;
    let (status, body) = error_of(app.login(&unique_email(), &"x".repeat(1025)).await).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn me_returns_the_callers_account() {
    let app = spawn_app().await;
    let (email, tokens) = app.signed_in_user().await;
    let res = app.get_with("/api/me", &tokens.access_token).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["email"], email.as_str());
}

#[tokio::test]
async fn secure_greets_the_caller_by_id() {
    let app = spawn_app().await;
    let (_, tokens) = app.signed_in_user().await;
    let me: Value = app.me(&tokens.access_token).await;
    let res = app.guarded_request(&tokens.access_token).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"message": "I am secured...", "user_id": me["id"]})
    );
}

#[tokio::test]
async fn responses_that_carry_an_email_or_a_token_are_never_cached() {
    let app = spawn_app().await;
    let email = unique_email();
    let res = app.register(&email, PASSWORD).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store", "register");
    let tokens = app.login_tokens(&email).await;
    for path in ["/api/me", "/api/sessions"] {
        let res = app.get_with(path, &tokens.access_token).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["cache-control"], "no-store", "{path}");
    }
}
