//! Passkeys (WebAuthn) with webauthn-authenticator-rs's software passkey:
//! registration and login across two instances (any instance finishes a
//! ceremony another began), discoverable logins, a cloned authenticator's
//! counter refused, a wrong origin refused, ceremonies single use, and a
//! passkey as the second factor of a password login.

use serde_json::{json, Value};
use url::Url;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse};

use crate::helpers::*;

/// authd's default relying party without `AUTHD_PUBLIC_URL`: `localhost`,
/// origin `http://localhost:8080`.
const ORIGIN: &str = "http://localhost:8080";

/// A phone's passkey: a software authenticator that verifies its user.
struct Phone(WebauthnAuthenticator<SoftPasskey>);

impl Phone {
    fn new() -> Self {
        Self(WebauthnAuthenticator::new(SoftPasskey::new(true)))
    }

    /// Answers `options` (a `publicKey` from authd) as a browser at
    /// `origin` would.
    fn create(&mut self, options: &Value, origin: &str) -> Value {
        let options: CreationChallengeResponse =
            serde_json::from_value(json!({ "publicKey": options })).unwrap();
        let credential = self
            .0
            .do_registration(Url::parse(origin).unwrap(), options)
            .expect("the authenticator registers");
        serde_json::to_value(credential).unwrap()
    }

    fn get(&mut self, options: &Value, origin: &str) -> Value {
        let options: RequestChallengeResponse =
            serde_json::from_value(json!({ "publicKey": options })).unwrap();
        let assertion = self
            .0
            .do_authentication(Url::parse(origin).unwrap(), options)
            .expect("the authenticator signs");
        serde_json::to_value(assertion).unwrap()
    }

    /// A discoverable assertion: a resident-key authenticator finds its
    /// own credential for the relying party and returns its user handle.
    /// The software passkey keeps no resident keys, so the test names the
    /// credential for it and adds the handle (which is not signed).
    fn get_discoverable(
        &mut self,
        options: &Value,
        credential_id: &str,
        user_handle: &str,
    ) -> Value {
        let mut options = options.clone();
        assert_eq!(options["allowCredentials"], json!([]), "{options}");
        options["allowCredentials"] = json!([{ "type": "public-key", "id": credential_id }]);
        let mut assertion = self.get(&options, ORIGIN);
        assertion["response"]["userHandle"] = json!(user_handle);
        assertion
    }
}

async fn bearer_post(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Registers a passkey of `phone`, starting on `start` and finishing on
/// `finish`; the finish response.
async fn register(
    start: &TestApp,
    finish: &TestApp,
    token: &str,
    phone: &mut Phone,
    origin: &str,
) -> reqwest::Response {
    let res = bearer_post(
        start,
        "/api/passkeys/register/start",
        token,
        json!({ "name": "Pixel" }),
    )
    .await;
    assert_eq!(res.status(), 200);
    let ceremony: Value = res.json().await.unwrap();
    let credential = phone.create(&ceremony["publicKey"], origin);
    bearer_post(
        finish,
        "/api/passkeys/register/finish",
        token,
        json!({ "challenge_id": ceremony["challenge_id"], "credential": credential }),
    )
    .await
}

async fn login_start(app: &TestApp, body: Value) -> Value {
    let res = app.post_json("/api/login/passkey/start", &body).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

async fn login_finish(app: &TestApp, challenge_id: &Value, credential: Value) -> reqwest::Response {
    app.post_json(
        "/api/login/passkey/finish",
        &json!({ "challenge_id": challenge_id, "credential": credential, "device": "phone" }),
    )
    .await
}

/// A signed-in user with one passkey on `phone`; email, tokens, the
/// passkey's credential id (base64url) and user handle.
async fn user_with_passkey(app: &TestApp, phone: &mut Phone) -> (String, Tokens, String, String) {
    let (email, tokens) = app.signed_in_user().await;
    let res = register(app, app, &tokens.access_token, phone, ORIGIN).await;
    assert_eq!(res.status(), 201);
    let ceremony = login_start(app, json!({ "email": email })).await;
    let allowed = ceremony["publicKey"]["allowCredentials"]
        .as_array()
        .unwrap();
    assert_eq!(allowed.len(), 1, "{ceremony}");
    let credential_id = allowed[0]["id"].as_str().unwrap().to_string();
    let user = claims_of(&tokens.access_token)["sub"]
        .as_str()
        .unwrap()
        .to_string();
    let handle = {
        use base64::Engine as _;
        let uuid = uuid::Uuid::parse_str(&user).unwrap();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid.as_bytes())
    };
    (email, tokens, credential_id, handle)
}

#[tokio::test]
async fn a_passkey_registered_and_used_across_two_instances_logs_in_alone() {
    let a = spawn_app().await;
    let b = app().sharing(&a).spawn().await;
    let mut phone = Phone::new();
    let (email, tokens) = a.signed_in_user().await;

    let res = register(&a, &b, &tokens.access_token, &mut phone, ORIGIN).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["name"], "Pixel");
    assert!(
        created["id"].is_string() && created["created_at"].is_i64(),
        "{created}"
    );
    let res = a.get_with("/api/passkeys", &tokens.access_token).await;
    let list: Value = res.json().await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["id"], created["id"]);

    // Started on b, finished on a.
    let ceremony = login_start(&b, json!({ "email": email })).await;
    let assertion = phone.get(&ceremony["publicKey"], ORIGIN);
    let res = login_finish(&a, &ceremony["challenge_id"], assertion.clone()).await;
    assert_eq!(res.status(), 200);
    let pair: Tokens = res.json().await.unwrap();
    let claims = claims_of(&pair.access_token);
    assert_eq!(claims["amr"], json!(["hwk", "mfa"]), "{claims}");
    assert_eq!(claims["acr"], "aal2");
    assert_eq!(b.guard_status(&pair.access_token).await, 200);
    let sessions = a.sessions(&pair.access_token).await;
    assert!(
        sessions.iter().any(|s| s["device"] == "phone"),
        "{sessions:?}"
    );

    // A ceremony is single use: the same answer again, on either instance.
    let res = login_finish(&b, &ceremony["challenge_id"], assertion).await;
    assert_error(res, 400, "invalid_grant").await;

    // The list shows when it was last used.
    let list: Value = a
        .get_with("/api/passkeys", &tokens.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert!(list[0]["last_used_at"].is_i64(), "{list}");
}

#[tokio::test]
async fn a_discoverable_passkey_logs_in_without_an_email() {
    let app = spawn_app().await;
    let mut phone = Phone::new();
    let (_, tokens, credential_id, handle) = user_with_passkey(&app, &mut phone).await;
    let ceremony = login_start(&app, json!({})).await;
    let assertion = phone.get_discoverable(&ceremony["publicKey"], &credential_id, &handle);
    let res = login_finish(&app, &ceremony["challenge_id"], assertion).await;
    assert_eq!(res.status(), 200);
    let pair: Tokens = res.json().await.unwrap();
    assert_eq!(
        claims_of(&pair.access_token)["sub"],
        claims_of(&tokens.access_token)["sub"]
    );

    // A user handle naming someone else: that user has no such passkey.
    let (_, _, _, other_handle) = user_with_passkey(&app, &mut Phone::new()).await;
    let ceremony = login_start(&app, json!({})).await;
    let assertion = phone.get_discoverable(&ceremony["publicKey"], &credential_id, &other_handle);
    let res = login_finish(&app, &ceremony["challenge_id"], assertion).await;
    assert_error(res, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_cloned_authenticator_whose_counter_went_back_is_refused() {
    let a = spawn_app().await;
    let b = app().sharing(&a).spawn().await;
    let mut phone = Phone::new();
    let (email, _, _, _) = user_with_passkey(&a, &mut phone).await;

    // The clone signs first (counter 1) but is slow to send; the phone
    // signs next (counter 2) and logs in.
    let stale = login_start(&a, json!({ "email": email })).await;
    let from_the_clone = phone.get(&stale["publicKey"], ORIGIN);
    let fresh = login_start(&a, json!({ "email": email })).await;
    let from_the_phone = phone.get(&fresh["publicKey"], ORIGIN);
    assert_eq!(
        login_finish(&b, &fresh["challenge_id"], from_the_phone)
            .await
            .status(),
        200
    );
    // The clone's counter is behind what was seen: refused, on either
    // instance, although its ceremony and signature are valid.
    let res = login_finish(&a, &stale["challenge_id"], from_the_clone).await;
    assert_error(res, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_ceremony_from_another_origin_is_refused() {
    let app = spawn_app().await;
    let mut phone = Phone::new();
    let (email, tokens) = app.signed_in_user().await;
    let res = register(
        &app,
        &app,
        &tokens.access_token,
        &mut phone,
        "http://localhost:9999",
    )
    .await;
    assert_error(res, 400, "invalid_grant").await;
    let list: Value = app
        .get_with("/api/passkeys", &tokens.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));

    let res = register(&app, &app, &tokens.access_token, &mut phone, ORIGIN).await;
    assert_eq!(res.status(), 201);
    let ceremony = login_start(&app, json!({ "email": email })).await;
    let assertion = phone.get(&ceremony["publicKey"], "http://localhost:9999");
    let res = login_finish(&app, &ceremony["challenge_id"], assertion).await;
    assert_error(res, 400, "invalid_grant").await;
}

#[tokio::test]
async fn origins_may_name_an_android_app_beside_the_web_origin() {
    // Android's origin (`android:apk-key-hash:…`) is matched exactly by
    // webauthn-rs; the software passkey signs for web origins only, so a
    // web ceremony is what runs here, with the Android origin configured.
    let android = "android:apk-key-hash:47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU";
    let app = app()
        .var("AUTHD_WEBAUTHN_ORIGINS", format!("{android},{ORIGIN}"))
        .spawn()
        .await;
    let (_, tokens) = app.signed_in_user().await;
    let res = register(&app, &app, &tokens.access_token, &mut Phone::new(), ORIGIN).await;
    assert_eq!(res.status(), 201);
    let (_, other) = app.signed_in_user().await;
    let res = register(
        &app,
        &app,
        &other.access_token,
        &mut Phone::new(),
        "http://localhost:9999",
    )
    .await;
    assert_error(res, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_passkey_is_the_second_factor_of_a_password_login() {
    let app = spawn_app().await;
    let mut phone = Phone::new();
    let (email, tokens, _, _) = user_with_passkey(&app, &mut phone).await;
    let body = assert_error(app.login(&email, PASSWORD).await, 403, "mfa_required").await;
    assert_eq!(body["factors"], json!(["webauthn"]), "{body}");
    let assertion = phone.get(&body["publicKey"], ORIGIN);
    let res = app
        .post_json(
            "/api/login/mfa",
            &json!({ "mfa_token": body["mfa_token"], "credential": assertion }),
        )
        .await;
    assert_eq!(res.status(), 200);
    let pair: Tokens = res.json().await.unwrap();
    assert_eq!(
        claims_of(&pair.access_token)["amr"],
        json!(["pwd", "hwk", "mfa"])
    );

    // Deleting it takes a session that used a factor: not the password-only
    // one from before it was registered. Deleted, it no longer guards the
    // password.
    let id = app
        .get_with("/api/passkeys", &tokens.access_token)
        .await
        .json::<Value>()
        .await
        .unwrap()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let url = app.url(&format!("/api/passkeys/{id}"));
    let res = app.delete_with(&url, &tokens.access_token).await;
    assert_error(res, 403, "insufficient_user_authentication").await;
    assert_eq!(
        app.delete_with(&url, &pair.access_token).await.status(),
        204
    );
    let res = app.delete_with(&url, &pair.access_token).await;
    assert_error(res, 404, "not_found").await;
    assert_eq!(app.login(&email, PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn a_password_only_session_cannot_add_a_factor_to_a_user_who_has_one() {
    let catcher = authd_test_support::smtp::SmtpCatcher::start();
    let app = app().mail_to(&catcher).spawn().await;
    let mut phone = Phone::new();
    let (email, password_only, _, _) = user_with_passkey(&app, &mut phone).await;
    // The first factor is mailed about.
    catcher
        .wait_for_mail(
            &email,
            "A sign-in factor was added",
            1,
            std::time::Duration::from_secs(15),
        )
        .await;
    // A stolen password-only session cannot add a passkey or TOTP of its
    // own (which would then log in without the real one).
    let res = bearer_post(
        &app,
        "/api/passkeys/register/start",
        &password_only.access_token,
        json!({}),
    )
    .await;
    assert_step_up_required(res).await;
    let res = bearer_post(
        &app,
        "/api/mfa/totp",
        &password_only.access_token,
        json!({}),
    )
    .await;
    assert_error(res, 403, "insufficient_user_authentication").await;
    // A session from a passkey login can.
    let ceremony = login_start(&app, json!({ "email": email })).await;
    let assertion = phone.get(&ceremony["publicKey"], ORIGIN);
    let strong: Tokens = login_finish(&app, &ceremony["challenge_id"], assertion)
        .await
        .json()
        .await
        .unwrap();
    let res = register(&app, &app, &strong.access_token, &mut Phone::new(), ORIGIN).await;
    assert_eq!(res.status(), 201);
    let res = bearer_post(&app, "/api/mfa/totp", &strong.access_token, json!({})).await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn passkey_logins_started_are_throttled_per_client() {
    let app = app()
        .var("AUTHD_LOGIN_MAX_FAILURES_PER_IP", 2)
        .spawn()
        .await;
    login_start(&app, json!({})).await;
    login_start(&app, json!({})).await;
    let res = app.post_json("/api/login/passkey/start", &json!({})).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_error(res, 429, "rate_limited").await;
}

#[tokio::test]
async fn another_users_ceremony_and_unknown_challenges_are_refused() {
    let app = spawn_app().await;
    let mut phone = Phone::new();
    let (_, alice) = app.signed_in_user().await;
    let (_, mallory) = app.signed_in_user().await;
    let res = bearer_post(
        &app,
        "/api/passkeys/register/start",
        &alice.access_token,
        json!({}),
    )
    .await;
    let ceremony: Value = res.json().await.unwrap();
    let credential = phone.create(&ceremony["publicKey"], ORIGIN);
    let res = bearer_post(
        &app,
        "/api/passkeys/register/finish",
        &mallory.access_token,
        json!({ "challenge_id": ceremony["challenge_id"], "credential": credential }),
    )
    .await;
    assert_error(res, 400, "invalid_grant").await;
    let res = login_finish(&app, &json!("no-such-challenge"), json!({})).await;
    assert_error(res, 400, "invalid_request").await;
    let res = app
        .post_json(
            "/api/login/passkey/finish",
            &json!({ "challenge_id": "x".repeat(43), "credential": {"id": "x"} }),
        )
        .await;
    assert!(matches!(res.status().as_u16(), 400), "{}", res.status());
}

#[tokio::test]
async fn a_first_passkey_ends_every_other_session_and_a_password_only_one_cannot_take_over() {
    let a = spawn_app().await;
    let b = app().sharing(&a).spawn().await;
    let (email, owner) = a.signed_in_user().await;
    let thief = b.login_tokens(&email).await;
    let mut phone = Phone::new();
    let res = register(&a, &b, &owner.access_token, &mut phone, ORIGIN).await;
    assert_eq!(res.status(), 201);
    assert_error(b.refresh(&thief.refresh_token).await, 400, "invalid_grant").await;
    assert_eq!(a.guard_status(&thief.access_token).await, 401);
    // The owner's password-only session stays, but cannot change the
    // password or delete the account until it logs in with the passkey.
    let owner = a.refreshed(&owner.refresh_token).await;
    let res = a
        .change_password(&owner.access_token, PASSWORD, "another long password")
        .await;
    assert_error(res, 403, "insufficient_user_authentication").await;
    let ceremony = login_start(&a, json!({ "email": email })).await;
    let assertion = phone.get(&ceremony["publicKey"], ORIGIN);
    let strong: Tokens = login_finish(&b, &ceremony["challenge_id"], assertion)
        .await
        .json()
        .await
        .unwrap();
    let res = a
        .change_password(&strong.access_token, PASSWORD, "another long password")
        .await;
    assert_eq!(res.status(), 204);
    // A second passkey, from the strong session, ends nothing.
    let res = register(&a, &a, &strong.access_token, &mut Phone::new(), ORIGIN).await;
    assert_eq!(res.status(), 201);
    assert_eq!(b.guard_status(&strong.access_token).await, 200);
}

#[tokio::test]
async fn registrations_started_are_throttled_per_user_and_at_most_three_wait() {
    let app = spawn_app().await;
    let (_, tokens) = app.signed_in_user().await;
    let (_, other) = app.signed_in_user().await;
    let app = &app;
    let start = |token: String| async move {
        bearer_post(app, "/api/passkeys/register/start", &token, json!({})).await
    };
    let mut ceremonies = Vec::new();
    for _ in 0..10 {
        let res = start(tokens.access_token.clone()).await;
        assert_eq!(res.status(), 200);
        ceremonies.push(res.json::<Value>().await.unwrap());
    }
    let res = start(tokens.access_token.clone()).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_error(res, 429, "rate_limited").await;
    // Another user is not held back by this one.
    assert_eq!(start(other.access_token.clone()).await.status(), 200);
    // Only the three newest ceremonies wait in Redis.
    let waiting = app
        .redis_dump()
        .await
        .into_iter()
        .filter(|(key, _, _)| key.contains(":registration:"))
        .count();
    assert_eq!(waiting, 3 + 1, "three of this user's, one of the other's");
    let mut phone = Phone::new();
    let finish = |ceremony: &Value, phone: &mut Phone| {
        let credential = phone.create(&ceremony["publicKey"], ORIGIN);
        bearer_post(
            app,
            "/api/passkeys/register/finish",
            &tokens.access_token,
            json!({ "challenge_id": ceremony["challenge_id"], "credential": credential }),
        )
    };
    let res = finish(&ceremonies[6], &mut phone).await;
    assert_error(res, 400, "invalid_grant").await;
    let res = finish(&ceremonies[9], &mut phone).await;
    assert_eq!(res.status(), 201);
}

/// The members of a passkey login's `publicKey`, and of each credential it
/// lists: what a client sees besides the values.
fn shape(options: &Value) -> (Vec<String>, Vec<Vec<String>>) {
    let keys = |v: &Value| {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    let listed = options["allowCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(keys)
        .collect();
    (keys(options), listed)
}

#[tokio::test]
async fn a_passkey_login_started_with_an_email_answers_alike_for_every_address() {
    let a = spawn_app().await;
    let b = app().sharing(&a).spawn().await;
    let mut phone = Phone::new();
    let (with_passkey, _, _, _) = user_with_passkey(&a, &mut phone).await;
    let (without, _) = a.signed_in_user().await;
    let unknown = unique_email();
    let mut answers = Vec::new();
    for email in [&with_passkey, &without, &unknown] {
        let first = login_start(&a, json!({ "email": email })).await;
        let again = login_start(&b, json!({ "email": email })).await;
        let (members, listed) = shape(&first["publicKey"]);
        assert_eq!(
            shape(&again["publicKey"]),
            (members.clone(), listed.clone())
        );
        assert!(!listed.is_empty(), "{email}: {first}");
        assert!(listed.iter().all(|l| l == &["id", "type"]), "{first}");
        // The same credentials every time, on every instance.
        assert_eq!(
            first["publicKey"]["allowCredentials"],
            again["publicKey"]["allowCredentials"]
        );
        assert_ne!(
            first["publicKey"]["challenge"],
            again["publicKey"]["challenge"]
        );
        answers.push(first);
    }
    assert_eq!(
        shape(&answers[0]["publicKey"]).0,
        shape(&answers[1]["publicKey"]).0
    );
    assert_eq!(
        shape(&answers[0]["publicKey"]).0,
        shape(&answers[2]["publicKey"]).0
    );
    assert_ne!(
        answers[1]["publicKey"]["allowCredentials"],
        answers[2]["publicKey"]["allowCredentials"]
    );
    // Finishing a stand-in ceremony is refused as a wrong passkey is, not
    // as an unknown challenge.
    let real = login_start(&a, json!({ "email": with_passkey })).await;
    let assertion = phone.get(&real["publicKey"], ORIGIN);
    let refused = assert_error(
        login_finish(&b, &answers[1]["challenge_id"], assertion.clone()).await,
        400,
        "invalid_grant",
    )
    .await;
    let (_, other_tokens) = a.signed_in_user().await;
    let other = register(
        &a,
        &a,
        &other_tokens.access_token,
        &mut Phone::new(),
        ORIGIN,
    )
    .await;
    assert_eq!(other.status(), 201);
    let other_email = a.get_with("/api/me", &other_tokens.access_token).await;
    let other_email = other_email.json::<Value>().await.unwrap()["email"].clone();
    let theirs = login_start(&a, json!({ "email": other_email })).await;
    let wrong = assert_error(
        login_finish(&a, &theirs["challenge_id"], assertion).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(refused["error_description"], wrong["error_description"]);
}

#[tokio::test]
async fn with_a_public_url_on_an_ip_address_passkeys_are_off_and_say_what_turns_them_on() {
    let app = app()
        .var("AUTHD_PUBLIC_URL", "http://127.0.0.1:18080")
        .spawn()
        .await;
    let (_, tokens) = app.signed_in_user().await;
    for res in [
        app.post_json("/api/login/passkey/start", &json!({})).await,
        bearer_post(
            &app,
            "/api/passkeys/register/start",
            &tokens.access_token,
            json!({}),
        )
        .await,
    ] {
        let body = assert_error(res, 404, "not_found").await;
        let description = body["error_description"].as_str().unwrap();
        assert!(
            description.contains("AUTHD_WEBAUTHN_RP_ID"),
            "{description}"
        );
        assert!(
            description.contains("AUTHD_WEBAUTHN_ORIGINS"),
            "{description}"
        );
    }
    // Everything else works.
    assert_eq!(app.refresh(&tokens.refresh_token).await.status(), 200);
    let listed = app.get_with("/api/passkeys", &tokens.access_token).await;
    assert_eq!(listed.status(), 200);
}

#[tokio::test]
async fn a_passkey_that_is_the_last_way_in_of_an_account_without_a_password_stays() {
    use authd_test_support::provider::TestProvider;
    let provider = TestProvider::start().await;
    let app = app()
        .provider("corp", &provider.issuer, "authd-app")
        .spawn()
        .await;
    let (sub, email) = (uuid::Uuid::new_v4().to_string(), unique_email());
    let nonce = uuid::Uuid::new_v4().to_string();
    let mut claims = provider.claims("authd-app", &sub, &nonce);
    claims["email"] = json!(email);
    claims["email_verified"] = json!(true);
    let res = app
        .post_json(
            "/api/login/id-token",
            &json!({"provider": "corp", "id_token": provider.sign(&claims), "nonce": nonce}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let federated: Tokens = res.json().await.unwrap();
    let mut phone = Phone::new();
    let res = register(&app, &app, &federated.access_token, &mut phone, ORIGIN).await;
    assert_eq!(res.status(), 201);
    let passkey: Value = res.json().await.unwrap();

    // A passkey login, then the identity goes: the passkey is a way in.
    let ceremony = login_start(&app, json!({ "email": email })).await;
    let assertion = phone.get(&ceremony["publicKey"], ORIGIN);
    let res = login_finish(&app, &ceremony["challenge_id"], assertion).await;
    assert_eq!(res.status(), 200);
    let strong: Tokens = res.json().await.unwrap();
    let listed: Value = app
        .get_with("/api/identities", &strong.access_token)
        .await
        .json()
        .await
        .unwrap();
    let identity = listed["identities"][0]["id"].as_str().unwrap().to_string();
    let res = app
        .delete_with(
            &app.url(&format!("/api/identities/{identity}")),
            &strong.access_token,
        )
        .await;
    assert_eq!(res.status(), 204);

    // Now the passkey is the only way in: it stays.
    let path = format!("/api/passkeys/{}", passkey["id"].as_str().unwrap());
    let res = app.delete_with(&app.url(&path), &strong.access_token).await;
    assert_error(res, 409, "last_sign_in_method").await;
}
