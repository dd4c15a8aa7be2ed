//! A forgotten password, end to end over real SMTP: the link arrives by
//! mail, its token sets a new password once, every session ends on every
//! instance, and the mail itself survives SMTP outages and dead instances.

use std::time::Duration;

use authd::mail::{outbox, MailKind, Templates};
use serde_json::{json, Value};

use crate::helpers::*;
use authd_test_support::smtp::SmtpCatcher;

const NEW_PASSWORD: &str = "a brand new passphrase";
const MAIL_WAIT: Duration = Duration::from_secs(15);

async fn forgot(app: &TestApp, email: &str) -> reqwest::Response {
    app.post_json("/api/password/forgot", &json!({ "email": email }))
        .await
}

async fn reset(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/api/password/reset",
        &json!({ "token": token, "new_password": password }),
    )
    .await
}

/// What a reset mail holds (a verification mail, sent at registration,
/// does not).
const RESET_LINK: &str = "reset-password?token=";

/// The reset token of the `nth` (1-based) reset mail to `email`.
async fn reset_token(catcher: &SmtpCatcher, email: &str, nth: usize) -> String {
    let mails = catcher
        .wait_for_mail(email, RESET_LINK, nth, MAIL_WAIT)
        .await;
    mails[nth - 1].token().expect("the mail carries a token")
}

#[tokio::test]
async fn a_reset_by_mail_sets_the_password_and_ends_every_session_on_every_instance() {
    let catcher = SmtpCatcher::start();
    let a = app().mail_to(&catcher).spawn().await;
    let b = app().sharing(&a).mail_to(&catcher).spawn().await;
    let (email, on_a) = a.signed_in_user().await;
    let on_b = b.login_tokens(&email).await;

    let res = forgot(&a, &email).await;
    assert_eq!(res.status().as_u16(), 202);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({}));
    let token = reset_token(&catcher, &email, 1).await;
    assert!(token.len() >= 22, "at least 128 bits: {token}");

    assert_eq!(reset(&b, &token, NEW_PASSWORD).await.status().as_u16(), 204);
    refused_by_all(&[&a, &b], &on_a.access_token, "after a reset").await;
    refused_by_all(&[&a, &b], &on_b.access_token, "after a reset").await;
    refresh_refused(&[(&a, &on_a), (&b, &on_b)]).await;
    assert_error(a.login(&email, PASSWORD).await, 400, "invalid_grant").await;
    assert_eq!(a.login(&email, NEW_PASSWORD).await.status().as_u16(), 200);

    // Single use, and a notice follows.
    assert_error(
        reset(&a, &token, "yet another password").await,
        400,
        "invalid_grant",
    )
    .await;
    catcher
        .wait_for_mail(&email, "Your password was changed", 1, MAIL_WAIT)
        .await;
}

#[tokio::test]
async fn forgot_answers_the_same_for_known_and_unknown_addresses() {
    let catcher = SmtpCatcher::start();
    let app = app()
        .mail_to(&catcher)
        .var("AUTHD_MAIL_MAX_PER_ADDRESS", 2)
        .spawn()
        .await;
    let (known, _) = app.signed_in_user().await;
    let unknown = unique_email();
    let mut answers = Vec::new();
    for email in [&known, &unknown] {
        let res = forgot(&app, email).await;
        answers.push((res.status().as_u16(), res.text().await.unwrap()));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, 202);
    catcher
        .wait_for_mail(&known, RESET_LINK, 1, MAIL_WAIT)
        .await;

    // The limit is per address, known or not, and looks the same.
    let mut throttled = Vec::new();
    for email in [&known, &unknown] {
        assert_eq!(forgot(&app, email).await.status().as_u16(), 202);
        let res = forgot(&app, email).await;
        assert!(res.headers().contains_key("retry-after"));
        throttled.push(assert_error(res, 429, "rate_limited").await);
    }
    assert_eq!(throttled[0], throttled[1]);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(catcher.messages().iter().all(|m| !m.is_to(&unknown)));
    assert_error(forgot(&app, "not an address").await, 400, "invalid_request").await;
}

#[tokio::test]
async fn two_resets_with_one_token_at_once_exactly_one_wins() {
    let catcher = SmtpCatcher::start();
    let a = app().mail_to(&catcher).spawn().await;
    let b = app().sharing(&a).spawn().await;
    let (email, _) = a.signed_in_user().await;
    forgot(&a, &email).await;
    let token = reset_token(&catcher, &email, 1).await;
    let (first, second) = tokio::join!(
        reset(&a, &token, "the first new password"),
        reset(&b, &token, "the second new password"),
    );
    let mut statuses = [first.status().as_u16(), second.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [204, 400]);
    let logins = [
        a.login(&email, "the first new password")
            .await
            .status()
            .as_u16(),
        a.login(&email, "the second new password")
            .await
            .status()
            .as_u16(),
    ];
    assert_eq!(
        logins.iter().filter(|s| **s == 200).count(),
        1,
        "{logins:?}"
    );
}

#[tokio::test]
async fn a_newer_token_replaces_the_older_and_a_token_expires() {
    let catcher = SmtpCatcher::start();
    let app = app()
        .mail_to(&catcher)
        // Long enough for the mail to go out (a mail whose link has expired
        // is not sent at all), short enough to wait out.
        .var("AUTHD_RESET_TOKEN_TTL", 3)
        .spawn()
        .await;
    let (email, _) = app.signed_in_user().await;
    forgot(&app, &email).await;
    let older = reset_token(&catcher, &email, 1).await;
    forgot(&app, &email).await;
    let newer = reset_token(&catcher, &email, 2).await;
    assert_ne!(older, newer);
    let replaced = assert_error(
        reset(&app, &older, NEW_PASSWORD).await,
        400,
        "invalid_grant",
    )
    .await;
    // Issue 31: it says which token, and where a new one comes from.
    let said = replaced["error_description"].as_str().unwrap();
    assert!(
        said.starts_with("the reset token is unknown, used, replaced"),
        "{said}"
    );
    assert!(said.contains("/api/password/forgot"), "{said}");

    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_error(
        reset(&app, &newer, NEW_PASSWORD).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_error(
        reset(&app, "made-up", NEW_PASSWORD).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(app.login(&email, PASSWORD).await.status().as_u16(), 200);
}

#[tokio::test]
async fn a_reset_refuses_a_password_out_of_bounds_and_keeps_the_token() {
    let catcher = SmtpCatcher::start();
    let app = app().mail_to(&catcher).spawn().await;
    let (email, _) = app.signed_in_user().await;
    forgot(&app, &email).await;
    let token = reset_token(&catcher, &email, 1).await;
    assert_error(reset(&app, &token, "short").await, 400, "invalid_request").await;
    assert_eq!(
        reset(&app, &token, NEW_PASSWORD).await.status().as_u16(),
        204
    );
}

#[tokio::test]
async fn mail_waits_out_an_smtp_outage_and_is_delivered_once() {
    let catcher = SmtpCatcher::start();
    let app = app().mail_to(&catcher).spawn().await;
    let (email, _) = app.signed_in_user().await;
    catcher.stop();
    // Answered without waiting for SMTP.
    assert_eq!(forgot(&app, &email).await.status().as_u16(), 202);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    catcher.start_again();
    catcher
        .wait_for_mail(&email, RESET_LINK, 1, MAIL_WAIT)
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(catcher.mail(&email, RESET_LINK).len(), 1);
    let metrics = metrics_text(&app).await;
    assert!(
        metrics.contains(r#"authd_mail_total{kind="reset",outcome="failed"}"#),
        "{metrics}"
    );
    assert!(metrics.contains("authd_mail_queue_oldest_seconds"));
}

#[tokio::test]
async fn two_instances_send_each_mail_once() {
    let catcher = SmtpCatcher::start();
    let a = app().mail_to(&catcher).spawn().await;
    let b = app().sharing(&a).mail_to(&catcher).spawn().await;
    let mut emails = Vec::new();
    for i in 0..6 {
        let (email, _) = a.signed_in_user().await;
        let on = if i % 2 == 0 { &a } else { &b };
        assert_eq!(forgot(on, &email).await.status().as_u16(), 202);
        emails.push(email);
    }
    for email in &emails {
        catcher.wait_for_mail(email, RESET_LINK, 1, MAIL_WAIT).await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    for email in &emails {
        // The reset mail, and the verification mail of the registration.
        assert_eq!(catcher.mail(email, RESET_LINK).len(), 1, "{email}");
        assert_eq!(
            catcher.mail(email, "verify-email?token=").len(),
            1,
            "{email}"
        );
    }
}

#[tokio::test]
async fn mail_held_by_an_instance_that_died_is_delivered_by_another() {
    let catcher = SmtpCatcher::start();
    let app = app().mail_to(&catcher).spawn().await;
    let email = unique_email();
    let mail = Templates::load(None)
        .unwrap()
        .render(MailKind::PasswordChanged, &email, "");
    // An instance claimed it for 4 s and died before sending.
    let until = authd::common::clock::unix_now_ms() as i64 + 4000;
    app.state
        .connections
        .sql
        .run(move |pool| async move {
            let mut tx = pool.begin().await?;
            outbox::insert(&mut *tx, &mail).await?;
            sqlx::query(
                "UPDATE mail_outbox SET claimed_by = 'a-dead-instance', claimed_until = $1",
            )
            .bind(until)
            .execute(&mut *tx)
            .await?;
            tx.commit().await
        })
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(
        catcher.messages().iter().all(|m| !m.is_to(&email)),
        "the lease holds"
    );
    let confirmation = "Your password was changed";
    catcher
        .wait_for_mail(&email, confirmation, 1, MAIL_WAIT)
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(catcher.mail(&email, confirmation).len(), 1);
}

/// The answer to a reset request comes before the address is looked up:
/// with the database stopped, a known and an unknown address still get the
/// same 202 at once. So neither its status, body nor time can tell them
/// apart (the lookup and the mail happen after the answer).
#[tokio::test]
async fn forgot_answers_before_it_looks_the_address_up() {
    let pg = TestPostgres::start();
    let database = create_postgres_database(&pg.admin_url()).await;
    let app = app()
        .var("AUTHD_DATABASE_URL", &database)
        .var("AUTHD_DATABASE_TIMEOUT_MS", 500)
        .spawn()
        .await;
    let (known, _) = app.signed_in_user().await;
    pg.stop();
    let mut answers = Vec::new();
    for email in [known.clone(), unique_email()] {
        let res = forgot(&app, &email).await;
        answers.push((res.status().as_u16(), res.text().await.unwrap()));
    }
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0].0, 202);
    pg.start_again();
}

#[tokio::test]
async fn a_password_change_spends_a_reset_link_mailed_before_it() {
    let catcher = SmtpCatcher::start();
    let app = app().mail_to(&catcher).spawn().await;
    let (email, tokens) = app.signed_in_user().await;
    forgot(&app, &email).await;
    let token = reset_token(&catcher, &email, 1).await;
    let res = app
        .change_password(&tokens.access_token, PASSWORD, "the owner's new password")
        .await;
    assert_eq!(res.status().as_u16(), 204);
    // Whoever holds the old mail cannot undo the change.
    assert_error(
        reset(&app, &token, NEW_PASSWORD).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(
        app.login(&email, "the owner's new password")
            .await
            .status()
            .as_u16(),
        200
    );
    // A link asked for after the change works.
    forgot(&app, &email).await;
    let token = reset_token(&catcher, &email, 2).await;
    assert_eq!(
        reset(&app, &token, NEW_PASSWORD).await.status().as_u16(),
        204
    );
}

const ADMIN_SECRET: &str = "the-operators-admin-secret-32-bytes-at-least";

/// An app that mails to `catcher`, with the admin API on.
async fn app_with_admin(catcher: &SmtpCatcher) -> TestApp {
    app()
        .mail_to(catcher)
        .var("AUTHD_ADMIN_SECRETS", format!("ops:{ADMIN_SECRET}"))
        .spawn()
        .await
}

/// `POST /api/admin/users/{user of access_token}/{action}`: asserts 204.
async fn admin_action(app: &TestApp, access_token: &str, action: &str) {
    let user = claims_of(access_token)["sub"].as_str().unwrap().to_string();
    let res = app
        .client
        .post(app.url(&format!("/api/admin/users/{user}/{action}")))
        .bearer_auth(ADMIN_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204, "{action}");
}

#[tokio::test]
async fn a_disabled_account_gets_the_same_answer_and_no_reset_mail() {
    let catcher = SmtpCatcher::start();
    let app = app_with_admin(&catcher).await;
    let (disabled, tokens) = app.signed_in_user().await;
    let (enabled, _) = app.signed_in_user().await;
    admin_action(&app, &tokens.access_token, "disable").await;
    let mut answers = Vec::new();
    for email in [&disabled, &enabled] {
        let res = forgot(&app, email).await;
        answers.push((res.status().as_u16(), res.text().await.unwrap()));
    }
    assert_eq!(answers[0], answers[1]);
    // The enabled account's mail went out after the disabled one's would
    // have been queued; give the sender a moment more, then look.
    catcher
        .wait_for_mail(&enabled, RESET_LINK, 1, MAIL_WAIT)
        .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(catcher.mail(&disabled, RESET_LINK).is_empty());
}

#[tokio::test]
async fn a_reset_link_mailed_before_the_account_was_disabled_resets_nothing() {
    let catcher = SmtpCatcher::start();
    let app = app_with_admin(&catcher).await;
    let (email, tokens) = app.signed_in_user().await;
    forgot(&app, &email).await;
    let token = reset_token(&catcher, &email, 1).await;
    admin_action(&app, &tokens.access_token, "disable").await;
    admin_action(&app, &tokens.access_token, "enable").await;
    assert_error(
        reset(&app, &token, NEW_PASSWORD).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(app.login(&email, PASSWORD).await.status().as_u16(), 200);
}

#[tokio::test]
async fn with_an_encryption_key_queued_mail_holds_no_working_link_until_it_is_sent() {
    let catcher = SmtpCatcher::start();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("encryption.key");
    std::fs::write(&key, [9u8; 32]).unwrap();
    let app = app()
        .mail_to(&catcher)
        .var("AUTHD_ENCRYPTION_KEY_FILE", key.display())
        .spawn()
        .await;
    let (email, _) = app.signed_in_user().await;
    catcher
        .wait_for_mail(&email, "verify-email?token=", 1, MAIL_WAIT)
        .await;
    catcher.stop();
    assert_eq!(forgot(&app, &email).await.status().as_u16(), 202);
    // While SMTP is down the mail waits in the database: what a backup or a
    // replica would hold.
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let rows: Vec<(String, String, i64)> = loop {
        let rows: Vec<(String, String, i64)> =
            sqlx::query_as("SELECT text_body, html_body, sealed FROM mail_outbox")
                .fetch_all(&db)
                .await
                .unwrap();
        if !rows.is_empty() {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for (text, html, sealed) in &rows {
        assert_eq!(*sealed, 1);
        for body in [text, html] {
            assert!(body.starts_with("v1:"), "{body}");
            assert!(!body.contains("token="), "{body}");
        }
    }
    catcher.start_again();
    let token = reset_token(&catcher, &email, 1).await;
    assert_eq!(
        reset(&app, &token, NEW_PASSWORD).await.status().as_u16(),
        204
    );
}
