//! TOTP as a second factor (RFC 6238): enrolment confirmed by a first code,
//! ten single-use recovery codes, the `mfa_required` login step, codes
//! accepted for the current and previous step once across instances, wrong
//! codes counted by the login throttle, and `AUTHD_REQUIRE_MFA` at the guard.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use totp_rs::{Algorithm, TOTP};

use crate::helpers::*;
use authd_test_support::smtp::SmtpCatcher;

const MAIL_WAIT: Duration = Duration::from_secs(15);

/// An authenticator app holding a secret, written on totp-rs directly (not
/// on authd's code).
struct App(TOTP);

impl App {
    fn from_base32(secret: &str) -> Self {
        let bytes = totp_rs::Secret::Encoded(secret.to_string())
            .to_bytes()
            .expect("base32 secret");
        Self(TOTP::new_unchecked(
            Algorithm::SHA1,
            6,
            0,
            30,
            bytes,
            None,
            String::new(),
        ))
    }

    /// The code `steps_ago` steps back (0: now).
    fn code(&self, steps_ago: u64) -> String {
        self.0.generate(now() - 30 * steps_ago)
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Waits until at least 8 s remain in the current 30 s step, so that what a
/// test calls "now" and "the step before" stay so until the server checks.
async fn clear_of_a_step_boundary() {
    let into = now() % 30;
    if into > 22 {
        tokio::time::sleep(Duration::from_secs(31 - into)).await;
    }
}

/// Starts an enrolment; the app's secret and the response body.
async fn enrol(app: &TestApp, token: &str) -> (App, Value) {
    let res = with_token(app, reqwest::Method::POST, "/api/mfa/totp", token, None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    (App::from_base32(body["secret"].as_str().unwrap()), body)
}

async fn confirm(app: &TestApp, token: &str, code: &str) -> reqwest::Response {
    with_token(
        app,
        reqwest::Method::POST,
        "/api/mfa/totp/confirm",
        token,
        Some(json!({ "code": code })),
    )
    .await
}

/// Turns TOTP on with the session a sign-in answered (`res`, a 200),
/// confirmed with the code of the step before; the authenticator app.
async fn totp_turned_on(app: &TestApp, res: reqwest::Response) -> App {
    assert_eq!(res.status(), 200);
    let tokens: Tokens = res.json().await.unwrap();
    let (totp, _) = enrol(app, &tokens.access_token).await;
    let res = confirm(app, &tokens.access_token, &totp.code(1)).await;
    assert_eq!(res.status(), 200);
    totp
}

/// A signed-in user with TOTP on, confirmed with the code of the step
/// before (so the current step's code is still unused); the app, the
/// recovery codes, the email and the tokens of that first session.
async fn user_with_totp(app: &TestApp) -> (App, Vec<String>, String, Tokens) {
    clear_of_a_step_boundary().await;
    let (email, tokens) = app.signed_in_user().await;
    let (totp, _) = enrol(app, &tokens.access_token).await;
    let res = confirm(app, &tokens.access_token, &totp.code(1)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (totp, codes, email, tokens)
}

/// The `mfa_required` answer of a right password; its `mfa_token`.
async fn first_step(app: &TestApp, email: &str) -> String {
    let body = assert_error(app.login(email, PASSWORD).await, 403, "mfa_required").await;
    body["mfa_token"].as_str().unwrap().to_string()
}

async fn second_step(app: &TestApp, mfa_token: &str, answer: Value) -> reqwest::Response {
    let mut body = answer;
    body["mfa_token"] = json!(mfa_token);
    app.post_json("/api/login/mfa", &body).await
}

#[tokio::test]
async fn a_user_enrols_totp_and_then_logs_in_with_a_second_step() {
    let introspection = "an-introspection-secret-of-32-bytes-or-more";
    let app = app()
        .var("AUTHD_INTROSPECTION_SECRETS", introspection)
        .spawn()
        .await;
    clear_of_a_step_boundary().await;
    let (email, tokens) = app.signed_in_user().await;
    let (totp, body) = enrol(&app, &tokens.access_token).await;
    let uri = body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/authd:"), "{uri}");
    assert!(
        uri.contains(&format!("secret={}", body["secret"].as_str().unwrap())),
        "{uri}"
    );
    assert!(uri.contains("issuer=authd"), "{uri}");
    // Pending only: the password alone still logs in.
    assert_eq!(app.login(&email, PASSWORD).await.status(), 200);

    // A wrong code confirms nothing; the code of the step before does.
    let wrong = format!(
        "{:06}",
        (totp.code(0).parse::<u32>().unwrap() + 1) % 1_000_000
    );
    assert_error(
        confirm(&app, &tokens.access_token, &wrong).await,
        400,
        "invalid_grant",
    )
    .await;
    let res = confirm(&app, &tokens.access_token, &totp.code(1)).await;
    assert_eq!(res.status(), 200);
    let codes: Value = res.json().await.unwrap();
    let codes = codes["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let res = with_token(
        &app,
        reqwest::Method::POST,
        "/api/mfa/totp",
        &tokens.access_token,
        None,
    )
    .await;
    assert_error(res, 409, "already_enrolled").await;

    // A wrong password is still a plain invalid_grant, with no step.
    let wrong = assert_error(
        app.login(&email, "not the password").await,
        400,
        "invalid_grant",
    )
    .await;
    assert!(wrong.get("mfa_token").is_none(), "{wrong}");
    let body = assert_error(app.login(&email, PASSWORD).await, 403, "mfa_required").await;
    assert_eq!(body["factors"], json!(["totp"]), "{body}");
    let mfa_token = body["mfa_token"].as_str().unwrap();

    let res = second_step(&app, mfa_token, json!({ "code": totp.code(0) })).await;
    assert_eq!(res.status(), 200);
    let pair: Tokens = res.json().await.unwrap();
    let claims = claims_of(&pair.access_token);
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]), "{claims}");
    assert_eq!(claims["acr"], "aal2", "{claims}");
    assert_eq!(app.guard_status(&pair.access_token).await, 200);
    // Resource servers that introspect learn them too.
    let res = app
        .client
        .post(app.url("/api/introspect"))
        .bearer_auth(introspection)
        .form(&[("token", pair.access_token.as_str())])
        .send()
        .await
        .unwrap();
    let introspected: Value = res.json().await.unwrap();
    assert_eq!(
        (introspected["amr"].clone(), introspected["acr"].clone()),
        (json!(["pwd", "otp", "mfa"]), json!("aal2")),
        "{introspected}"
    );
    // The methods stay with the session through refreshes.
    let refreshed = app.refreshed(&pair.refresh_token).await;
    assert_eq!(
        claims_of(&refreshed.access_token)["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    // The password-only session from before says so.
    let before = claims_of(&tokens.access_token);
    assert_eq!(
        (before["amr"].clone(), before["acr"].clone()),
        (json!(["pwd"]), json!("aal1"))
    );

    // The mfa_token was single use.
    let res = second_step(&app, mfa_token, json!({ "code": totp.code(0) })).await;
    assert_error(res, 400, "invalid_grant").await;
    // Exactly one of a code, a recovery code and a credential.
    let mfa_token = first_step(&app, &email).await;
    let res = second_step(
        &app,
        &mfa_token,
        json!({ "code": "123456", "recovery_code": "x" }),
    )
    .await;
    assert_error(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn a_code_is_accepted_once_for_its_step_and_never_an_older_one_on_any_instance() {
    let a = spawn_app().await;
    let b = app().sharing(&a).spawn().await;
    let (totp, _, email, _) = user_with_totp(&a).await;

    // Confirming spent the step before: its code does not log in, on either
    // instance; the current step's code does, once.
    let step = first_step(&a, &email).await;
    assert_error(
        second_step(&b, &step, json!({ "code": totp.code(1) })).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(
        second_step(&b, &step, json!({ "code": totp.code(0) }))
            .await
            .status(),
        200
    );

    let step = first_step(&b, &email).await;
    assert_error(
        second_step(&a, &step, json!({ "code": totp.code(0) })).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_error(
        second_step(&a, &step, json!({ "code": totp.code(1) })).await,
        400,
        "invalid_grant",
    )
    .await;
    // Two steps back is outside the window anyway.
    assert_error(
        second_step(&a, &step, json!({ "code": totp.code(2) })).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn the_previous_steps_code_is_accepted_once_then_the_current_one() {
    let app = spawn_app().await;
    clear_of_a_step_boundary().await;
    let (email, tokens) = app.signed_in_user().await;
    let (totp, _) = enrol(&app, &tokens.access_token).await;
    // Confirm with a code two steps back: refused, outside the window.
    assert_error(
        confirm(&app, &tokens.access_token, &totp.code(2)).await,
        400,
        "invalid_grant",
    )
    .await;
    clear_of_a_step_boundary().await;
    assert_eq!(
        confirm(&app, &tokens.access_token, &totp.code(1))
            .await
            .status(),
        200
    );
    // The next step turns: the code that was "now" is now the previous one.
    tokio::time::sleep(Duration::from_secs(31 - now() % 30)).await;
    let step = first_step(&app, &email).await;
    assert_eq!(
        second_step(&app, &step, json!({ "code": totp.code(1) }))
            .await
            .status(),
        200
    );
    let step = first_step(&app, &email).await;
    assert_error(
        second_step(&app, &step, json!({ "code": totp.code(1) })).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(
        second_step(&app, &step, json!({ "code": totp.code(0) }))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn recovery_codes_work_once_each_and_mail_a_notice() {
    let catcher = SmtpCatcher::start();
    let app = app().mail_to(&catcher).spawn().await;
    let (_, codes, email, _) = user_with_totp(&app).await;

    let step = first_step(&app, &email).await;
    // As typed by a person: upper case, spaces for dashes.
    let typed = codes[0].to_uppercase().replace('-', " ");
    let res = second_step(&app, &step, json!({ "recovery_code": typed })).await;
    assert_eq!(res.status(), 200);
    let pair: Tokens = res.json().await.unwrap();
    assert_eq!(
        claims_of(&pair.access_token)["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    catcher
        .wait_for_mail(&email, "A recovery code was used", 1, MAIL_WAIT)
        .await;

    let step = first_step(&app, &email).await;
    let res = second_step(&app, &step, json!({ "recovery_code": codes[0] })).await;
    assert_error(res, 400, "invalid_grant").await;
    // The same mfa_token still takes another right answer.
    let res = second_step(&app, &step, json!({ "recovery_code": codes[1] })).await;
    assert_eq!(res.status(), 200);

    // Recovery codes are stored as hashes only.
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let stored: Vec<String> = sqlx::query_scalar("SELECT code_hash FROM recovery_codes")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 8);
    for code in &codes {
        let plain = code.replace('-', "");
        assert!(stored.iter().all(|h| !h.contains(&plain)));
    }
}

#[tokio::test]
async fn totp_secrets_are_sealed_at_rest_with_the_encryption_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("encryption.key");
    std::fs::write(&key, [42u8; 32]).unwrap();
    let app = app()
        .var("AUTHD_ENCRYPTION_KEY_FILE", key.display())
        .spawn()
        .await;
    let (totp, _, email, _) = user_with_totp(&app).await;
    sqlx::any::install_default_drivers();
    let db = sqlx::AnyPool::connect(&app.database_url).await.unwrap();
    let stored: String = sqlx::query_scalar("SELECT secret FROM totp_factors")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(stored.starts_with("v1:"), "{stored}");
    // Codes check against the sealed secret.
    let step = first_step(&app, &email).await;
    let res = second_step(&app, &step, json!({ "code": totp.code(0) })).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn wrong_codes_close_the_step_and_count_toward_the_login_throttle() {
    let app = app().var("AUTHD_LOGIN_MAX_FAILURES", 3).spawn().await;
    let (totp, _, email, _) = user_with_totp(&app).await;
    let step = first_step(&app, &email).await;
    for _ in 0..3 {
        let res = second_step(&app, &step, json!({ "code": "000000" })).await;
        assert_error(res, 400, "invalid_grant").await;
    }
    // Three wrong codes: the account is throttled, right password or not,
    // right code or not.
    let res = second_step(&app, &step, json!({ "code": totp.code(0) })).await;
    assert_error(res, 429, "rate_limited").await;
    assert_error(app.login(&email, PASSWORD).await, 429, "rate_limited").await;

    // Without a throttle in the way, five wrong answers close the step.
    let app = spawn_app().await;
    let (totp, _, email, _) = user_with_totp(&app).await;
    let step = first_step(&app, &email).await;
    for _ in 0..5 {
        assert_error(
            second_step(&app, &step, json!({ "code": "000000" })).await,
            400,
            "invalid_grant",
        )
        .await;
    }
    let res = second_step(&app, &step, json!({ "code": totp.code(0) })).await;
    let body = assert_error(res, 400, "invalid_grant").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("mfa_token"),
        "{body}"
    );
}

#[tokio::test]
async fn a_right_password_does_not_clear_the_count_of_wrong_codes() {
    let app = app().var("AUTHD_LOGIN_MAX_FAILURES", 3).spawn().await;
    let (_, _, email, _) = user_with_totp(&app).await;
    // A thief with the password alternates logins and guesses: the guesses
    // add up.
    for _ in 0..3 {
        let step = first_step(&app, &email).await;
        assert_error(
            second_step(&app, &step, json!({ "code": "000000" })).await,
            400,
            "invalid_grant",
        )
        .await;
    }
    assert_error(app.login(&email, PASSWORD).await, 429, "rate_limited").await;
}

#[tokio::test]
async fn turning_totp_off_takes_a_code_or_a_recovery_code_and_mails_a_notice() {
    let catcher = SmtpCatcher::start();
    let app = app().mail_to(&catcher).spawn().await;
    let (totp, codes, email, _) = user_with_totp(&app).await;
    let tokens = strong_session(&app, &email, json!({ "code": totp.code(0) })).await;
    let off = |body: Value| {
        with_token(
            &app,
            reqwest::Method::DELETE,
            "/api/mfa/totp",
            &tokens.access_token,
            Some(body),
        )
    };
    assert_error(off(json!({ "code": "000000" })).await, 400, "invalid_grant").await;
    assert_error(off(json!({})).await, 400, "invalid_request").await;
    assert_eq!(
        off(json!({ "recovery_code": codes[3] })).await.status(),
        204
    );
    catcher
        .wait_for_mail(&email, "A sign-in factor was removed", 1, MAIL_WAIT)
        .await;
    // The password alone logs in again; the codes are gone with TOTP.
    assert_eq!(app.login(&email, PASSWORD).await.status(), 200);
    assert_error(
        off(json!({ "code": totp.code(0) })).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn a_password_reset_does_not_bypass_the_second_factor() {
    let catcher = SmtpCatcher::start();
    let app = app().mail_to(&catcher).spawn().await;
    let (_, _, email, _) = user_with_totp(&app).await;
    app.post_json("/api/password/forgot", &json!({ "email": email }))
        .await;
    let mails = catcher
        .wait_for_mail(&email, "reset-password?token=", 1, MAIL_WAIT)
        .await;
    let token = mails[0].token().unwrap();
    let res = app
        .post_json(
            "/api/password/reset",
            &json!({ "token": token, "new_password": "a brand new passphrase" }),
        )
        .await;
    assert_eq!(res.status(), 204);
    let body = assert_error(
        app.login(&email, "a brand new passphrase").await,
        403,
        "mfa_required",
    )
    .await;
    assert_eq!(body["factors"], json!(["totp"]));
}

#[tokio::test]
async fn an_mfa_token_from_before_a_password_change_is_refused() {
    let app = spawn_app().await;
    let (totp, codes, email, _) = user_with_totp(&app).await;
    // A session that may change the password: one of a second step (with
    // a recovery code: the current TOTP code stays unused).
    let tokens = strong_session(&app, &email, json!({ "recovery_code": codes[0] })).await;
    let step = first_step(&app, &email).await;
    let res = app
        .change_password(&tokens.access_token, PASSWORD, "another long password")
        .await;
    assert_eq!(res.status(), 204);
    assert_error(
        second_step(&app, &step, json!({ "code": totp.code(0) })).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn require_mfa_refuses_password_only_tokens_except_to_enrol() {
    let app = app().var("AUTHD_REQUIRE_MFA", "true").spawn().await;
    clear_of_a_step_boundary().await;
    let (email, tokens) = app.signed_in_user().await;
    let res = app.guarded_request(&tokens.access_token).await;
    let challenge = res
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_error(res, 403, "insufficient_user_authentication").await;
    assert!(
        challenge.contains(r#"error="insufficient_user_authentication""#),
        "{challenge}"
    );
    assert!(challenge.contains("acr_values="), "{challenge}");
    // Enrolment is open to the same token.
    let (totp, _) = enrol(&app, &tokens.access_token).await;
    assert_eq!(
        confirm(&app, &tokens.access_token, &totp.code(1))
            .await
            .status(),
        200
    );
    let step = first_step(&app, &email).await;
    let res = second_step(&app, &step, json!({ "code": totp.code(0) })).await;
    let pair: Tokens = res.json().await.unwrap();
    assert_eq!(app.guard_status(&pair.access_token).await, 200);
    // A revoked strong token is a 401, not a 403.
    assert_eq!(
        app.logout_refresh(&pair.refresh_token, None).await.status(),
        204
    );
    assert_eq!(app.guard_status(&pair.access_token).await, 401);
}

#[tokio::test]
async fn an_administrator_removes_every_factor_of_a_user_who_lost_them() {
    let catcher = SmtpCatcher::start();
    let secret = "the-operators-admin-secret-32-bytes-at-least";
    let app = app()
        .mail_to(&catcher)
        .var("AUTHD_ADMIN_SECRETS", format!("ops:{secret}"))
        .spawn()
        .await;
    let (_, _, email, tokens) = user_with_totp(&app).await;
    let user = claims_of(&tokens.access_token)["sub"]
        .as_str()
        .unwrap()
        .to_string();
    let res = app
        .client
        .delete(app.url(&format!("/api/admin/users/{user}/factors")))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(app.login(&email, PASSWORD).await.status(), 200);
    catcher
        .wait_for_mail(&email, "A sign-in factor was removed", 1, MAIL_WAIT)
        .await;
    let res = app
        .client
        .delete(app.url(&format!(
            "/api/admin/users/{}/factors",
            uuid::Uuid::new_v4()
        )))
        .bearer_auth(secret)
        .send()
        .await
        .unwrap();
    assert_error(res, 404, "not_found").await;
}

#[tokio::test]
async fn a_resource_server_on_authd_guard_can_require_a_second_factor() {
    let app = spawn_app().await;
    let mut config =
        authd_guard::GuardConfig::for_authd(&app.address, crate::resource_server::redis_of(&app));
    config.require_mfa = true;
    let server = crate::resource_server::resource_server(config).await;
    let (totp, _, email, password_only) = user_with_totp(&app).await;
    let whoami = |token: String| {
        let url = format!("{server}/api/whoami");
        async move {
            reqwest::Client::new()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let res = whoami(password_only.access_token.clone()).await;
    assert_error(res, 403, "insufficient_user_authentication").await;
    let step = first_step(&app, &email).await;
    let pair: Tokens = second_step(&app, &step, json!({ "code": totp.code(0) }))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(whoami(pair.access_token).await.status(), 200);
}

/// A session that logged in with the user's second factor (`answer`).
async fn strong_session(app: &TestApp, email: &str, answer: Value) -> Tokens {
    let step = first_step(app, email).await;
    let res = second_step(app, &step, answer).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn turning_on_a_first_factor_ends_every_other_session_on_every_instance() {
    let a = spawn_app().await;
    let b = app().sharing(&a).spawn().await;
    clear_of_a_step_boundary().await;
    // S1 is the thief's (on B), S2 the owner's (on A).
    let (email, owner) = a.signed_in_user().await;
    let thief = b.login_tokens(&email).await;
    assert_eq!(b.guard_status(&thief.access_token).await, 200);
    let (totp, _) = enrol(&a, &owner.access_token).await;
    assert_eq!(
        confirm(&a, &owner.access_token, &totp.code(1))
            .await
            .status(),
        200
    );
    // The thief's session is gone everywhere: its refresh, its access
    // token, and with them the password change that would lock the owner out.
    assert_error(b.refresh(&thief.refresh_token).await, 400, "invalid_grant").await;
    assert_eq!(b.guard_status(&thief.access_token).await, 401);
    assert_eq!(a.guard_status(&thief.access_token).await, 401);
    let res = b
        .change_password(&thief.access_token, PASSWORD, "the thief's password")
        .await;
    assert_error(res, 401, "invalid_token").await;
    // The session that turned the factor on stays.
    let owner = a.refreshed(&owner.refresh_token).await;
    assert_eq!(b.guard_status(&owner.access_token).await, 200);
}

#[tokio::test]
async fn password_logins_racing_a_first_factor_leave_no_session_behind() {
    // Logins answered mfa_required keep their throttle slots: room for all.
    let limits = |builder: AppBuilder| {
        builder
            .var("AUTHD_LOGIN_MAX_FAILURES", 100)
            .var("AUTHD_LOGIN_MAX_FAILURES_PER_IP", 100)
    };
    let a = limits(app()).spawn().await;
    let b = limits(app().sharing(&a)).spawn().await;
    clear_of_a_step_boundary().await;
    let (email, owner) = a.signed_in_user().await;
    // Two sessions surely from before, besides those racing.
    let before = [a.login_tokens(&email).await, b.login_tokens(&email).await];
    let (totp, _) = enrol(&a, &owner.access_token).await;
    // Logins on both instances while the factor is confirmed: each either
    // lands before the fence (and its session is ended by it), meets the
    // fence (400), or comes after (403 mfa_required). None keeps a session.
    let logins = futures::future::join_all((0..12).map(|i| {
        let (app, email) = (if i % 2 == 0 { &a } else { &b }, email.clone());
        async move {
            tokio::time::sleep(Duration::from_millis(5 * i)).await;
            app.login(&email, PASSWORD).await
        }
    }));
    let code = totp.code(1);
    let confirmed = confirm(&a, &owner.access_token, &code);
    let (logins, confirmed) = tokio::join!(logins, confirmed);
    assert_eq!(confirmed.status(), 200);
    let mut sessions = before.to_vec();
    for res in logins {
        match res.status().as_u16() {
            200 => sessions.push(res.json::<Tokens>().await.unwrap()),
            400 | 403 => {}
            other => panic!("login answered {other}"),
        }
    }
    for session in &sessions {
        assert_error(
            a.refresh(&session.refresh_token).await,
            400,
            "invalid_grant",
        )
        .await;
        assert_eq!(b.guard_status(&session.access_token).await, 401);
    }
    a.refreshed(&owner.refresh_token).await;
}

#[tokio::test]
async fn a_session_without_the_users_factor_cannot_change_the_password_delete_the_account_or_drop_the_factor(
) {
    let app = spawn_app().await;
    let (totp, codes, email, password_only) = user_with_totp(&app).await;
    // AUTHD_REQUIRE_MFA is off: the guard lets the session in, the
    // sensitive changes do not.
    assert_eq!(app.guard_status(&password_only.access_token).await, 200);
    let step_up = assert_step_up_required;
    step_up(
        app.change_password(
            &password_only.access_token,
            PASSWORD,
            "the thief's password",
        )
        .await,
    )
    .await;
    let delete = |token: String| {
        app.client
            .delete(app.url("/api/account"))
            .bearer_auth(token)
            .json(&json!({ "password": PASSWORD }))
            .send()
    };
    step_up(delete(password_only.access_token.clone()).await.unwrap()).await;
    step_up(
        with_token(
            &app,
            reqwest::Method::DELETE,
            "/api/mfa/totp",
            &password_only.access_token,
            Some(json!({ "recovery_code": codes[0] })),
        )
        .await,
    )
    .await;
    // Nothing changed: the password, the account and TOTP are all there,
    // and the recovery code was not spent.
    let strong = strong_session(&app, &email, json!({ "code": totp.code(0) })).await;
    let res = with_token(
        &app,
        reqwest::Method::DELETE,
        "/api/mfa/totp",
        &strong.access_token,
        Some(json!({ "recovery_code": codes[0] })),
    )
    .await;
    assert_eq!(res.status(), 204);
    // With the factor gone, the password-only session is enough again.
    let res = app
        .change_password(
            &password_only.access_token,
            PASSWORD,
            "another long password",
        )
        .await;
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn a_session_with_the_users_factor_changes_the_password_and_deletes_the_account() {
    let app = spawn_app().await;
    let (totp, _, email, _) = user_with_totp(&app).await;
    let strong = strong_session(&app, &email, json!({ "code": totp.code(0) })).await;
    let res = app
        .change_password(&strong.access_token, PASSWORD, "another long password")
        .await;
    assert_eq!(res.status(), 204);
    let res = app
        .client
        .delete(app.url("/api/account"))
        .bearer_auth(&strong.access_token)
        .json(&json!({ "password": "another long password" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
}

#[tokio::test]
async fn an_id_token_is_a_first_step_like_a_password_for_a_user_with_totp() {
    use authd_test_support::provider::TestProvider;
    let provider = TestProvider::start().await;
    let app = app()
        .provider("corp", &provider.issuer, "authd-app")
        .spawn()
        .await;
    let sub = uuid::Uuid::new_v4().to_string();
    let sign_in = |nonce: String| {
        let mut claims = provider.claims("authd-app", &sub, &nonce);
        claims["email"] = json!(unique_email());
        claims["email_verified"] = json!(true);
        let token = provider.sign(&claims);
        let app = &app;
        async move {
            app.post_json(
                "/api/login/id-token",
                &json!({"provider": "corp", "id_token": token, "nonce": nonce}),
            )
            .await
        }
    };
    clear_of_a_step_boundary().await;
    let totp = totp_turned_on(&app, sign_in(uuid::Uuid::new_v4().to_string()).await).await;

    let res = sign_in(uuid::Uuid::new_v4().to_string()).await;
    let body = assert_error(res, 403, "mfa_required").await;
    let mfa_token = body["mfa_token"].as_str().unwrap();
    let res = second_step(&app, mfa_token, json!({"code": totp.code(0)})).await;
    assert_eq!(res.status(), 200);
    let strong: Tokens = res.json().await.unwrap();
    assert_eq!(
        claims_of(&strong.access_token)["amr"],
        json!(["fed", "otp", "mfa"])
    );
}

#[tokio::test]
async fn the_web_flow_is_a_first_step_like_a_password_for_a_user_with_totp() {
    use crate::federation::{fresh_sub, Providers};
    use crate::web_flow::*;
    let providers = Providers::start().await;
    let app = web_app(&providers).spawn().await;
    providers
        .google
        .signs_in(json!({"sub": fresh_sub(), "email": unique_email(), "email_verified": true}));
    let through_the_provider = || async {
        let (verifier, challenge) = pkce();
        let page = authorize(&app, "google", WEB_APP, &challenge).await;
        let (code, state) = at_the_provider(&app, &page).await;
        let back = location(&callback(&app, &code, &state).await);
        trade(&app, &query_of(&back)["code"], &verifier).await
    };
    clear_of_a_step_boundary().await;
    let totp = totp_turned_on(&app, through_the_provider().await).await;

    let body = assert_error(through_the_provider().await, 403, "mfa_required").await;
    let res = second_step(
        &app,
        body["mfa_token"].as_str().unwrap(),
        json!({"code": totp.code(0)}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let strong: Tokens = res.json().await.unwrap();
    assert_eq!(
        claims_of(&strong.access_token)["amr"],
        json!(["fed", "otp", "mfa"])
    );
}
