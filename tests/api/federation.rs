//! Sign-in with a provider's ID token (`POST /api/login/id-token`), against
//! real OpenID providers on loopback (`TestProvider`: discovery and JWKS
//! over HTTP) minting Apple- and Google-shaped tokens: every check of the
//! token, the nonce spent once across instances, key rotation and a flood
//! of unknown keys, a provider down, who the user is (never by email), and
//! second factors.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;
use authd_test_support::provider::TestProvider;

pub(crate) const APPLE_BUNDLE: &str = "com.example.app";
const APPLE_SERVICES: &str = "com.example.web";
pub(crate) const GOOGLE_WEB: &str = "1234-web.apps.googleusercontent.com";
pub(crate) const GOOGLE_IOS: &str = "1234-ios.apps.googleusercontent.com";
const GOOGLE_ANDROID: &str = "1234-android.apps.googleusercontent.com";
pub(crate) const ADMIN_SECRET: &str = "the-operators-admin-secret-32-bytes-at-least";

/// Apple and Google, each a provider of its own on loopback.
pub(crate) struct Providers {
    pub(crate) apple: TestProvider,
    pub(crate) google: TestProvider,
}

impl Providers {
    pub(crate) async fn start() -> Self {
        Self {
            apple: TestProvider::start().await,
            google: TestProvider::start().await,
        }
    }

    /// An app that signs in with both (and has the admin API on).
    pub(crate) fn app(&self) -> AppBuilder {
        app()
            .provider(
                "apple",
                &self.apple.issuer,
                &format!("{APPLE_SERVICES},{APPLE_BUNDLE}"),
            )
            .provider(
                "google",
                &self.google.issuer,
                &format!("{GOOGLE_WEB},{GOOGLE_IOS},{GOOGLE_ANDROID}"),
            )
            .var("AUTHD_ADMIN_SECRETS", format!("ops:{ADMIN_SECRET}"))
    }
}

pub(crate) fn fresh_nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

pub(crate) fn fresh_sub() -> String {
    format!("000{}.apple", uuid::Uuid::new_v4().simple())
}

/// What Sign in with Apple gives an iOS app: the bundle id as audience,
/// `email_verified` and `is_private_email` as strings, a relay address.
pub(crate) fn apple_claims(apple: &TestProvider, sub: &str, email: &str, nonce: &str) -> Value {
    let mut claims = apple.claims(APPLE_BUNDLE, sub, nonce);
    claims["email"] = json!(email);
    claims["email_verified"] = json!("true");
    claims["is_private_email"] = json!("true");
    claims["nonce_supported"] = json!(true);
    claims
}

/// What Google's Android sign-in gives: the web client as audience and the
/// Android client as `azp`, `email_verified` a boolean.
pub(crate) fn google_claims(google: &TestProvider, sub: &str, email: &str, nonce: &str) -> Value {
    let mut claims = google.claims(GOOGLE_WEB, sub, nonce);
    claims["azp"] = json!(GOOGLE_ANDROID);
    claims["email"] = json!(email);
    claims["email_verified"] = json!(true);
    claims
}

pub(crate) async fn sign_in(
    app: &TestApp,
    provider: &str,
    id_token: &str,
    nonce: &str,
) -> reqwest::Response {
    app.post_json(
        "/api/login/id-token",
        &json!({"provider": provider, "id_token": id_token, "nonce": nonce}),
    )
    .await
}

/// Signs in and expects a session; its tokens.
pub(crate) async fn signed_in(
    app: &TestApp,
    provider: &str,
    id_token: &str,
    nonce: &str,
) -> Tokens {
    let res = sign_in(app, provider, id_token, nonce).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    res.json().await.unwrap()
}

pub(crate) fn relay_address() -> String {
    format!("{}@privaterelay.appleid.com", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn an_apple_id_token_makes_an_account_and_a_session_like_a_password_login() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let (sub, email) = (fresh_sub(), relay_address());
    let nonce = fresh_nonce();
    let token = providers
        .apple
        .sign(&apple_claims(&providers.apple, &sub, &email, &nonce));
    let tokens = signed_in(&app, "apple", &token, &nonce).await;
    let claims = claims_of(&tokens.access_token);
    assert_eq!(claims["amr"], json!(["fed"]));
    assert_eq!(claims["email_verified"], json!(true));
    let me: Value = app.me(&tokens.access_token).await;
    assert_eq!(me["email"], json!(email));
    assert_eq!(me["email_verified"], json!(true));
    // The session is an ordinary one: it refreshes, the guard takes it.
    let refreshed = app.refreshed(&tokens.refresh_token).await;
    assert_eq!(app.guard_status(&refreshed.access_token).await, 200);

    // The same identity again (a new nonce): the same user, whatever the
    // address says now (Apple sends it only the first time).
    let nonce = fresh_nonce();
    let mut again = providers.apple.claims(APPLE_BUNDLE, &sub, &nonce);
    again["iss"] = json!("https://account.apple.com");
    let second = signed_in(&app, "apple", &providers.apple.sign(&again), &nonce).await;
    assert_eq!(claims_of(&second.access_token)["sub"], claims["sub"]);

    // No password: a password login is refused as a wrong one would be.
    assert_error(app.login(&email, PASSWORD).await, 400, "invalid_grant").await;
}

#[tokio::test]
async fn google_tokens_for_any_of_its_client_ids_sign_in_and_its_bare_issuer_counts() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let google = &providers.google;
    let (sub, email) = (fresh_sub(), unique_email());
    let nonce = fresh_nonce();
    let android = google.sign(&google_claims(google, &sub, &email, &nonce));
    let first = signed_in(&app, "google", &android, &nonce).await;

    let nonce = fresh_nonce();
    let mut ios = google.claims(GOOGLE_IOS, &sub, &nonce);
    ios["iss"] = json!("accounts.google.com");
    let second = signed_in(&app, "google", &google.sign(&ios), &nonce).await;
    assert_eq!(
        claims_of(&first.access_token)["sub"],
        claims_of(&second.access_token)["sub"]
    );
}

#[tokio::test]
async fn every_check_of_the_id_token_refuses_it_with_invalid_grant() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let apple = &providers.apple;
    let sub = fresh_sub();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let tamper = |f: &dyn Fn(&mut Value)| {
        let nonce = fresh_nonce();
        let mut claims = apple.claims(APPLE_BUNDLE, &sub, &nonce);
        f(&mut claims);
        (claims, nonce)
    };
    let cases: Vec<(&str, Value, String)> = vec![
        {
            let (c, n) = tamper(&|c| c["aud"] = json!("com.attacker.app"));
            ("another app's audience", c, n)
        },
        {
            let (c, n) = tamper(&|c| {
                c["aud"] = json!([APPLE_BUNDLE, "com.attacker.app"]);
                c["azp"] = json!("com.attacker.app");
            });
            ("issued to another client (azp)", c, n)
        },
        {
            let (c, n) = tamper(&|c| c["iss"] = json!("https://evil.example.com"));
            ("another issuer", c, n)
        },
        {
            let (c, n) = tamper(&|c| {
                c["iat"] = json!(now - 7200);
                c["exp"] = json!(now - 3600);
            });
            ("expired", c, n)
        },
        {
            let (c, n) = tamper(&|c| c["iat"] = json!(now + 3600));
            ("issued in the future", c, n)
        },
        {
            let (c, _) = tamper(&|_| {});
            ("a nonce other than the one hashed", c, fresh_nonce())
        },
        {
            let (c, n) = tamper(&|c| c["nonce"] = json!(null));
            ("no nonce claim", c, n)
        },
        {
            // The nonce verbatim instead of its hash: an intercepted
            // token's own claim must not replay it.
            let nonce = fresh_nonce();
            let mut c = apple.claims(APPLE_BUNDLE, &sub, &nonce);
            c["nonce"] = json!(nonce.clone());
            ("the nonce unhashed", c, nonce)
        },
        {
            let (c, n) = tamper(&|c| c["sub"] = json!(null));
            ("no subject", c, n)
        },
    ];
    for (what, claims, nonce) in cases {
        let res = sign_in(&app, "apple", &apple.sign(&claims), &nonce).await;
        let body = assert_error(res, 400, "invalid_grant").await;
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .contains("ID token")
                || body["error_description"]
                    .as_str()
                    .unwrap()
                    .contains("nonce"),
            "{what}: {body}"
        );
    }

    // Signed by a key the provider never published.
    let nonce = fresh_nonce();
    let claims = apple.claims(APPLE_BUNDLE, &sub, &nonce);
    let forged = apple.sign_with(&apple.unpublished_key(), &claims);
    assert_error(
        sign_in(&app, "apple", &forged, &nonce).await,
        400,
        "invalid_grant",
    )
    .await;
    // A published kid, another key's signature.
    let mut key = apple.unpublished_key();
    key.kid = apple.current_key().kid;
    let forged = apple.sign_with(&key, &claims);
    assert_error(
        sign_in(&app, "apple", &forged, &nonce).await,
        400,
        "invalid_grant",
    )
    .await;
    // `alg: none` and HS256 keyed with the public key's bytes.
    let payload = forged.split('.').nth(1).unwrap();
    let kid = apple.current_key().kid;
    let none_header = base64_url(&json!({"alg": "none", "kid": kid}).to_string());
    let unsigned = format!("{none_header}.{payload}.");
    assert_error(
        sign_in(&app, "apple", &unsigned, &nonce).await,
        400,
        "invalid_grant",
    )
    .await;
    let hs_header = base64_url(&json!({"alg": "HS256", "kid": kid}).to_string());
    let hs = format!("{hs_header}.{payload}.c2lnbmF0dXJl");
    assert_error(
        sign_in(&app, "apple", &hs, &nonce).await,
        400,
        "invalid_grant",
    )
    .await;
    // Google's token at the apple provider: another issuer, another key.
    let google = &providers.google;
    let g = google.sign(&google.claims(GOOGLE_WEB, &sub, &nonce));
    assert_error(
        sign_in(&app, "apple", &g, &nonce).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_error(
        sign_in(&app, "apple", "not-a-jwt", &nonce).await,
        400,
        "invalid_grant",
    )
    .await;

    // None of it made an account: the right token still makes the first.
    let token = apple.sign(&apple.claims(APPLE_BUNDLE, &sub, &nonce));
    signed_in(&app, "apple", &token, &nonce).await;

    // An unknown provider, and missing fields: invalid_request.
    let nonce = fresh_nonce();
    let token = apple.sign(&apple.claims(APPLE_BUNDLE, &sub, &nonce));
    assert_error(
        sign_in(&app, "github", &token, &nonce).await,
        400,
        "invalid_request",
    )
    .await;
    assert_error(
        sign_in(&app, "apple", &token, "").await,
        400,
        "invalid_request",
    )
    .await;
    let res = app
        .post_json("/api/login/id-token", &json!({"provider": "apple"}))
        .await;
    assert_error(res, 400, "invalid_request").await;
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn without_providers_the_route_is_not_found() {
    let app = spawn_app().await;
    let res = sign_in(&app, "apple", "x.y.z", "nonce").await;
    assert_error(res, 404, "not_found").await;
}

#[tokio::test]
async fn a_nonce_signs_in_once_across_instances() {
    let providers = Providers::start().await;
    let first = providers.app().spawn().await;
    let second = providers.app().sharing(&first).spawn().await;
    let apple = &providers.apple;
    let nonce = fresh_nonce();
    let token = apple.sign(&apple_claims(apple, &fresh_sub(), &relay_address(), &nonce));
    let (a, b) = tokio::join!(
        sign_in(&first, "apple", &token, &nonce),
        sign_in(&second, "apple", &token, &nonce)
    );
    let mut statuses = [a.status().as_u16(), b.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [200, 400]);
    // Replayed later, on either instance: refused.
    for app in [&first, &second] {
        let res = sign_in(app, "apple", &token, &nonce).await;
        let body = assert_error(res, 400, "invalid_grant").await;
        assert!(body["error_description"]
            .as_str()
            .unwrap()
            .contains("nonce"));
    }
}

#[tokio::test]
async fn a_rotated_key_works_at_once_and_a_flood_of_unknown_kids_fetches_the_keys_at_most_once() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let apple = &providers.apple;
    let sign_in_now = || async {
        let nonce = fresh_nonce();
        let token = apple.sign(&apple.claims(APPLE_BUNDLE, &fresh_sub(), &nonce));
        sign_in(&app, "apple", &token, &nonce)
            .await
            .status()
            .as_u16()
    };
    assert_eq!(sign_in_now().await, 200);
    assert_eq!(apple.jwks_fetches(), 1);
    assert_eq!(sign_in_now().await, 200);
    assert_eq!(apple.jwks_fetches(), 1, "a cached key calls nobody");

    // The provider rotates: its first token under the new key signs in.
    apple.rotate(true);
    assert_eq!(sign_in_now().await, 200);
    assert_eq!(apple.jwks_fetches(), 2);

    // 60 tokens at once naming keys nobody publishes: every one refused,
    // and the fetches they cause share, within 6 a minute in all.
    let stranger = apple.unpublished_key();
    let unknown_kid = || async {
        let nonce = fresh_nonce();
        let mut key = stranger.clone();
        key.kid = format!("unknown-{}", uuid::Uuid::new_v4().simple());
        let token = apple.sign_with(&key, &apple.claims(APPLE_BUNDLE, &fresh_sub(), &nonce));
        sign_in(&app, "apple", &token, &nonce)
            .await
            .status()
            .as_u16()
    };
    let statuses = futures::future::join_all((0..60).map(|_| unknown_kid())).await;
    assert!(statuses.iter().all(|s| *s == 400), "{statuses:?}");
    let fetches = apple.jwks_fetches();
    eprintln!("JWKS fetches: 2 before 60 unknown kids at once, {fetches} after");
    assert!(fetches <= 6, "{fetches} fetches");
    // A second wave: the minute's budget is spent, nobody is called.
    futures::future::join_all((0..20).map(|_| unknown_kid())).await;
    assert!(
        apple.jwks_fetches() <= 6,
        "{} fetches",
        apple.jwks_fetches()
    );
}

#[tokio::test]
async fn keys_published_without_alg_verify_with_their_types_algorithm() {
    let providers = Providers::start().await;
    providers.apple.publish_without_alg();
    let app = providers.app().spawn().await;
    let apple = &providers.apple;
    let nonce = fresh_nonce();
    let token = apple.sign(&apple.claims(APPLE_BUNDLE, &fresh_sub(), &nonce));
    signed_in(&app, "apple", &token, &nonce).await;
}

#[tokio::test]
async fn a_provider_down_when_a_key_is_needed_is_503_and_a_cached_key_needs_nobody() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let (apple, google) = (&providers.apple, &providers.google);

    // Google is down before its first use: nothing to verify with.
    google.set_down(true);
    let nonce = fresh_nonce();
    let token = google.sign(&google_claims(
        google,
        &fresh_sub(),
        &unique_email(),
        &nonce,
    ));
    let res = sign_in(&app, "google", &token, &nonce).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_error(res, 503, "temporarily_unavailable").await;

    // Apple's key is cached: Apple down changes nothing for its tokens…
    let apple_sign_in = || async {
        let nonce = fresh_nonce();
        let token = apple.sign(&apple.claims(APPLE_BUNDLE, &fresh_sub(), &nonce));
        signed_in(&app, "apple", &token, &nonce).await
    };
    apple_sign_in().await;
    apple.set_down(true);
    apple_sign_in().await;
    // …but a key it rotated to cannot be fetched: 503, not a refusal.
    apple.rotate(false);
    let nonce = fresh_nonce();
    let token = apple.sign(&apple.claims(APPLE_BUNDLE, &fresh_sub(), &nonce));
    assert_error(
        sign_in(&app, "apple", &token, &nonce).await,
        503,
        "temporarily_unavailable",
    )
    .await;

    // Back up: Google's discovery is tried again after its pause.
    google.set_down(false);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let nonce = fresh_nonce();
    let token = google.sign(&google_claims(
        google,
        &fresh_sub(),
        &unique_email(),
        &nonce,
    ));
    signed_in(&app, "google", &token, &nonce).await;
}

/// A password account whose address is verified by an operator.
pub(crate) async fn verified_account(app: &TestApp) -> (String, Tokens) {
    let (email, tokens) = app.signed_in_user().await;
    let user = claims_of(&tokens.access_token)["sub"]
        .as_str()
        .unwrap()
        .to_string();
    let res = as_admin(
        app,
        ADMIN_SECRET,
        reqwest::Method::POST,
        &format!("/api/admin/users/{user}/verify-email"),
    )
    .await;
    assert_eq!(res.status(), 204);
    (email, tokens)
}

#[tokio::test]
async fn an_address_takes_over_no_account_that_has_not_verified_it() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let google = &providers.google;

    // A victim's address registered by someone who never verified it
    // (or the victim's own unverified account): the provider's verified
    // address does not link to it.
    let (email, tokens) = app.signed_in_user().await;
    let sub = fresh_sub();
    for _ in 0..2 {
        let nonce = fresh_nonce();
        let token = google.sign(&google_claims(google, &sub, &email, &nonce));
        assert_error(
            sign_in(&app, "google", &token, &nonce).await,
            409,
            "account_exists",
        )
        .await;
    }
    // Nothing changed: the password works, the session lives.
    app.login_tokens(&email).await;
    assert_eq!(app.guard_status(&tokens.access_token).await, 200);

    // An address the provider has not verified never makes or links an
    // account.
    let nonce = fresh_nonce();
    let mut claims = google_claims(google, &fresh_sub(), &unique_email(), &nonce);
    claims["email_verified"] = json!(false);
    assert_error(
        sign_in(&app, "google", &google.sign(&claims), &nonce).await,
        409,
        "email_not_verified",
    )
    .await;
    let nonce = fresh_nonce();
    let mut claims = google_claims(google, &fresh_sub(), &email, &nonce);
    claims["email_verified"] = json!("false");
    assert_error(
        sign_in(&app, "google", &google.sign(&claims), &nonce).await,
        409,
        "email_not_verified",
    )
    .await;
}

#[tokio::test]
async fn a_verified_address_links_to_the_account_that_verified_it() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let google = &providers.google;
    let (email, password_tokens) = verified_account(&app).await;
    let user = claims_of(&password_tokens.access_token)["sub"].clone();
    let sub = fresh_sub();
    let nonce = fresh_nonce();
    let token = google.sign(&google_claims(google, &sub, &email.to_uppercase(), &nonce));
    let linked = signed_in(&app, "google", &token, &nonce).await;
    assert_eq!(claims_of(&linked.access_token)["sub"], user);
    // Both ways in stay.
    app.login_tokens(&email).await;

    // The identity, not the address, finds the user from now on: another
    // Google account claiming the same address is a new identity, and the
    // address is taken.
    let nonce = fresh_nonce();
    let token = google.sign(&google_claims(google, &sub, &unique_email(), &nonce));
    let again = signed_in(&app, "google", &token, &nonce).await;
    assert_eq!(claims_of(&again.access_token)["sub"], user);
}

#[tokio::test]
async fn a_token_without_an_address_makes_an_account_without_one() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let google = &providers.google;
    let sub = fresh_sub();
    let mut users = Vec::new();
    for _ in 0..2 {
        let nonce = fresh_nonce();
        let token = google.sign(&google.claims(GOOGLE_IOS, &sub, &nonce));
        let tokens = signed_in(&app, "google", &token, &nonce).await;
        users.push(claims_of(&tokens.access_token)["sub"].clone());
    }
    assert_eq!(users[0], users[1]);
    // Two such accounts coexist (no address to collide on).
    let nonce = fresh_nonce();
    let token = google.sign(&google.claims(GOOGLE_IOS, &fresh_sub(), &nonce));
    let other = signed_in(&app, "google", &token, &nonce).await;
    assert_ne!(claims_of(&other.access_token)["sub"], users[0]);
}

#[tokio::test]
async fn first_sign_ins_of_one_identity_at_once_make_one_account() {
    let providers = Providers::start().await;
    let first = providers.app().spawn().await;
    let second = providers.app().sharing(&first).spawn().await;
    let apple = &providers.apple;
    let (sub, email) = (fresh_sub(), relay_address());
    let attempts = (0..6).map(|i| {
        let nonce = fresh_nonce();
        let token = apple.sign(&apple_claims(apple, &sub, &email, &nonce));
        let app = if i % 2 == 0 { &first } else { &second };
        async move { signed_in(app, "apple", &token, &nonce).await }
    });
    let sessions = futures::future::join_all(attempts).await;
    let users: std::collections::BTreeSet<String> = sessions
        .iter()
        .map(|t| {
            claims_of(&t.access_token)["sub"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(users.len(), 1, "{users:?}");
}

#[tokio::test]
async fn deleting_the_account_deletes_its_identity() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let apple = &providers.apple;
    let (sub, email) = (fresh_sub(), relay_address());
    let nonce = fresh_nonce();
    let tokens = signed_in(
        &app,
        "apple",
        &apple.sign(&apple_claims(apple, &sub, &email, &nonce)),
        &nonce,
    )
    .await;
    let user = claims_of(&tokens.access_token)["sub"]
        .as_str()
        .unwrap()
        .to_string();
    let res = as_admin(
        &app,
        ADMIN_SECRET,
        reqwest::Method::DELETE,
        &format!("/api/admin/users/{user}"),
    )
    .await;
    assert_eq!(res.status(), 204);
    // The identity went with it: signing in again makes a new account.
    let nonce = fresh_nonce();
    let again = signed_in(
        &app,
        "apple",
        &apple.sign(&apple_claims(apple, &sub, &email, &nonce)),
        &nonce,
    )
    .await;
    assert_ne!(claims_of(&again.access_token)["sub"], json!(user));
}

#[tokio::test]
async fn id_token_sign_ins_are_counted_by_provider_and_outcome() {
    let providers = Providers::start().await;
    let app = providers.app().spawn().await;
    let apple = &providers.apple;
    let nonce = fresh_nonce();
    let token = apple.sign(&apple.claims(APPLE_BUNDLE, &fresh_sub(), &nonce));
    signed_in(&app, "apple", &token, &nonce).await;
    sign_in(&app, "apple", &token, &nonce).await;
    let text = metrics_text(&app).await;
    let value = |outcome: &str| -> f64 {
        text.lines()
            .filter(|l| l.starts_with("authd_id_token_logins_total{"))
            .filter(|l| {
                l.contains("provider=\"apple\"") && l.contains(&format!("outcome=\"{outcome}\""))
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    // The recorder is the process's: other tests count too.
    assert!(value("success") >= 1.0, "{text}");
    assert!(value("invalid") >= 1.0, "{text}");
}
