//! The web flow of sign-in with a provider, against a provider on loopback
//! with a real authorization and token endpoint (`TestProvider`): the
//! redirect with authd's state, nonce and PKCE challenge, the callback
//! (GET, and Apple's POST), authd's one-use code bound to the app's PKCE
//! challenge, states and codes used once across instances, and the
//! allow-list of where users are sent back.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::federation::*;
use crate::helpers::*;

pub(crate) const WEB_APP: &str = "https://app.example.com/auth/callback";
const MOBILE_APP: &str = "com.example.app:/oauth";
const PUBLIC_URL: &str = "https://auth.example.com";
const GOOGLE_SECRET: &str = "google-web-client-secret";

pub(crate) fn web_app(providers: &Providers) -> AppBuilder {
    providers
        .app()
        .var("AUTHD_PUBLIC_URL", PUBLIC_URL)
        .var(
            "AUTHD_OIDC_REDIRECT_URLS",
            format!("{WEB_APP},{MOBILE_APP}"),
        )
        .var("AUTHD_OIDC_GOOGLE_CLIENT_SECRET", GOOGLE_SECRET)
}

/// The app's PKCE pair: a verifier and its S256 challenge (written here,
/// not taken from authd).
pub(crate) fn pkce() -> (String, String) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

pub(crate) fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on a {}", res.status()))
        .to_str()
        .unwrap()
        .to_string()
}

pub(crate) fn query_of(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn url_with<K: AsRef<str>, V: AsRef<str>>(base: String, pairs: &[(K, V)]) -> String {
    let mut url = url::Url::parse(&base).unwrap();
    url.query_pairs_mut()
        .extend_pairs(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
    url.to_string()
}

async fn get(app: &TestApp, url: &str) -> reqwest::Response {
    app.client.get(url).send().await.unwrap()
}

/// `/api/oauth/authorize` for `provider`, back to `redirect_to`; the
/// provider's page it sends the user to.
pub(crate) async fn authorize(
    app: &TestApp,
    provider: &str,
    redirect_to: &str,
    challenge: &str,
) -> String {
    let url = url_with(
        app.url("/api/oauth/authorize"),
        &[
            ("provider", provider),
            ("redirect_to", redirect_to),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let res = get(app, &url).await;
    assert_eq!(res.status(), 302, "{}", res.text().await.unwrap());
    location(&res)
}

/// The provider's page, consent given at once: its redirect's code and
/// state (meant for authd's callback).
pub(crate) async fn at_the_provider(app: &TestApp, page: &str) -> (String, String) {
    let res = get(app, page).await;
    assert_eq!(res.status(), 302, "{}", res.text().await.unwrap());
    let back = location(&res);
    assert!(
        back.starts_with(&format!("{PUBLIC_URL}/api/oauth/callback?")),
        "{back}"
    );
    let q = query_of(&back);
    (q["code"].clone(), q["state"].clone())
}

pub(crate) async fn callback(app: &TestApp, code: &str, state: &str) -> reqwest::Response {
    let url = url_with(
        app.url("/api/oauth/callback"),
        &[("code", code), ("state", state)],
    );
    get(app, &url).await
}

pub(crate) async fn trade(app: &TestApp, code: &str, verifier: &str) -> reqwest::Response {
    app.post_form(
        "/api/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
        ],
    )
    .await
}

#[tokio::test]
async fn the_web_flow_signs_a_user_in_with_pkce_on_both_legs() {
    let providers = Providers::start().await;
    let google = &providers.google;
    google.requires_client_secret(GOOGLE_SECRET);
    let app = web_app(&providers).spawn().await;
    let (sub, email) = (fresh_sub(), unique_email());
    google.signs_in(json!({"sub": sub, "email": email, "email_verified": true}));
    let (verifier, challenge) = pkce();

    let page = authorize(&app, "google", WEB_APP, &challenge).await;
    assert!(
        page.starts_with(&format!("{}/authorize?", google.issuer)),
        "{page}"
    );
    let sent = query_of(&page);
    assert_eq!(sent["response_type"], "code");
    assert_eq!(sent["client_id"], GOOGLE_WEB);
    assert_eq!(
        sent["redirect_uri"],
        format!("{PUBLIC_URL}/api/oauth/callback")
    );
    assert!(sent["scope"].split(' ').any(|s| s == "openid"));
    assert_eq!(sent["code_challenge_method"], "S256");
    // authd's own challenge, not the app's; a hashed nonce; a state.
    assert_ne!(sent["code_challenge"], challenge);
    assert_eq!(sent["nonce"].len(), 64);
    assert!(sent["state"].len() >= 43);

    let (code, state) = at_the_provider(&app, &page).await;
    let res = callback(&app, &code, &state).await;
    assert_eq!(res.status(), 302);
    let back = location(&res);
    assert!(back.starts_with(&format!("{WEB_APP}?code=")), "{back}");
    let authd_code = query_of(&back)["code"].clone();

    let res = trade(&app, &authd_code, &verifier).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let tokens: Tokens = res.json().await.unwrap();
    assert_eq!(claims_of(&tokens.access_token)["amr"], json!(["fed"]));
    let me: Value = app.me(&tokens.access_token).await;
    assert_eq!(me["email"], json!(email));
    assert_eq!(me["providers"], json!(["google"]));

    // authd's code is single use.
    assert_error(
        trade(&app, &authd_code, &verifier).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn a_wrong_verifier_spends_the_code() {
    let providers = Providers::start().await;
    let app = web_app(&providers).spawn().await;
    providers
        .google
        .signs_in(json!({"sub": fresh_sub(), "email": unique_email(), "email_verified": true}));
    let (verifier, challenge) = pkce();
    let page = authorize(&app, "google", MOBILE_APP, &challenge).await;
    let (code, state) = at_the_provider(&app, &page).await;
    let back = location(&callback(&app, &code, &state).await);
    // A custom scheme gets the code in its query too.
    assert!(back.starts_with(&format!("{MOBILE_APP}?code=")), "{back}");
    let authd_code = query_of(&back)["code"].clone();
    let (someone_elses, _) = pkce();
    assert_error(
        trade(&app, &authd_code, &someone_elses).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_error(
        trade(&app, &authd_code, &verifier).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn a_state_is_used_once_on_any_instance_and_an_unknown_one_redirects_nowhere() {
    let providers = Providers::start().await;
    let first = web_app(&providers).spawn().await;
    let second = web_app(&providers).sharing(&first).spawn().await;
    providers
        .google
        .signs_in(json!({"sub": fresh_sub(), "email": unique_email(), "email_verified": true}));
    let (verifier, challenge) = pkce();
    let page = authorize(&first, "google", WEB_APP, &challenge).await;
    let (code, state) = at_the_provider(&first, &page).await;
    // The other instance finishes the flow the first began…
    let res = callback(&second, &code, &state).await;
    assert_eq!(res.status(), 302);
    let authd_code = query_of(&location(&res))["code"].clone();
    // …and the first trades the code.
    assert_eq!(trade(&first, &authd_code, &verifier).await.status(), 200);
    // The state again, on either: no redirect to anywhere.
    for app in [&first, &second] {
        let res = callback(app, &code, &state).await;
        assert!(res.headers().get("location").is_none());
        assert_error(res, 400, "invalid_request").await;
    }
    let res = callback(&first, &code, "a-state-authd-never-made").await;
    assert!(res.headers().get("location").is_none());
    assert_error(res, 400, "invalid_request").await;
    let res = get(&first, &first.url("/api/oauth/callback")).await;
    assert_error(res, 400, "invalid_request").await;
}

#[tokio::test]
async fn only_allow_listed_redirects_and_s256_challenges_start_a_flow() {
    let providers = Providers::start().await;
    let app = web_app(&providers).spawn().await;
    let (_, challenge) = pkce();
    let start = |pairs: Vec<(&'static str, String)>| {
        let app = &app;
        async move { get(app, &url_with(app.url("/api/oauth/authorize"), &pairs)).await }
    };
    let good = |redirect: &str, method: &str, challenge: &str, provider: &str| {
        vec![
            ("provider", provider.to_string()),
            ("redirect_to", redirect.to_string()),
            ("code_challenge", challenge.to_string()),
            ("code_challenge_method", method.to_string()),
        ]
    };
    for (what, pairs) in [
        (
            "another site",
            good("https://evil.example.com/cb", "S256", &challenge, "google"),
        ),
        (
            "a prefix of an allowed one",
            good("https://app.example.com/auth", "S256", &challenge, "google"),
        ),
        (
            "an allowed one extended",
            good(&format!("{WEB_APP}/x"), "S256", &challenge, "google"),
        ),
        ("plain PKCE", good(WEB_APP, "plain", &challenge, "google")),
        ("a short challenge", good(WEB_APP, "S256", "abc", "google")),
        (
            "an unknown provider",
            good(WEB_APP, "S256", &challenge, "github"),
        ),
    ] {
        let res = start(pairs).await;
        assert!(res.headers().get("location").is_none(), "{what}");
        let (status, body) = error_of(res).await;
        assert_eq!(
            (status, body["error"].as_str().unwrap()),
            (400, "invalid_request"),
            "{what}"
        );
    }
    let res = start(vec![("provider", "google".into())]).await;
    assert_error(res, 400, "invalid_request").await;

    // Without redirect URLs (or a public URL) the web flow is off.
    let off = providers.app().spawn().await;
    let url = url_with(
        off.url("/api/oauth/authorize"),
        &good(WEB_APP, "S256", &challenge, "google"),
    );
    let res = get(&off, &url).await;
    assert_error(res, 404, "not_found").await;
}

#[tokio::test]
async fn apples_form_post_callback_and_a_declined_consent_go_back_to_the_app() {
    let providers = Providers::start().await;
    let app = web_app(&providers).spawn().await;
    let apple = &providers.apple;
    apple.signs_in(json!({"sub": fresh_sub(), "email": relay_address(), "email_verified": "true"}));
    let (verifier, challenge) = pkce();
    let page = authorize(&app, "apple", WEB_APP, &challenge).await;
    assert_eq!(query_of(&page)["response_mode"], "form_post");
    assert_eq!(query_of(&page)["client_id"], apple_services_id());
    let (code, state) = at_the_provider(&app, &page).await;
    // Apple posts the code, with the user's name on first sign-in.
    let res = app
        .post_form(
            "/api/oauth/callback",
            &[
                ("code", code.as_str()),
                ("state", state.as_str()),
                ("user", r#"{"name":{"firstName":"Ada"}}"#),
            ],
        )
        .await;
    assert_eq!(res.status(), 302);
    let authd_code = query_of(&location(&res))["code"].clone();
    assert_eq!(trade(&app, &authd_code, &verifier).await.status(), 200);

    // The user declines at the provider: back to the app with the error.
    let page = authorize(&app, "apple", WEB_APP, &challenge).await;
    let state = query_of(&page)["state"].clone();
    let url = url_with(
        app.url("/api/oauth/callback"),
        &[("error", "access_denied"), ("state", state.as_str())],
    );
    let res = get(&app, &url).await;
    assert_eq!(res.status(), 302);
    assert_eq!(location(&res), format!("{WEB_APP}?error=access_denied"));
}

/// The first of `AUTHD_OIDC_APPLE_CLIENT_IDS` in `Providers::app`: the web
/// flow's client.
fn apple_services_id() -> &'static str {
    "com.example.web"
}

#[tokio::test]
async fn the_web_flow_keeps_the_takeover_rules_and_reports_a_refused_code() {
    let providers = Providers::start().await;
    let app = web_app(&providers).spawn().await;
    let google = &providers.google;

    // A verified address of an account that never verified it: back to
    // the app with account_exists, and nothing linked.
    let (email, _) = app.signed_in_user().await;
    google.signs_in(json!({"sub": fresh_sub(), "email": email, "email_verified": true}));
    let (_, challenge) = pkce();
    let page = authorize(&app, "google", WEB_APP, &challenge).await;
    let (code, state) = at_the_provider(&app, &page).await;
    let res = callback(&app, &code, &state).await;
    assert_eq!(location(&res), format!("{WEB_APP}?error=account_exists"));

    // The provider refuses the code (a secret it does not know): the app
    // hears invalid_grant.
    google.requires_client_secret("another secret");
    google.signs_in(json!({"sub": fresh_sub(), "email": unique_email(), "email_verified": true}));
    let page = authorize(&app, "google", WEB_APP, &challenge).await;
    let (code, state) = at_the_provider(&app, &page).await;
    let res = callback(&app, &code, &state).await;
    assert_eq!(location(&res), format!("{WEB_APP}?error=invalid_grant"));
}

#[tokio::test]
async fn authd_signs_apples_client_secret_with_the_team_key() {
    use p256::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
    let providers = Providers::start().await;
    let pem = authd::jwt::generate_private_key_pem(authd::jwt::JwtAlgorithm::ES256).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("AuthKey_KEY1234567.p8");
    std::fs::write(&key_file, &pem).unwrap();
    let app = web_app(&providers)
        .var("AUTHD_OIDC_APPLE_TEAM_ID", "TEAM123456")
        .var("AUTHD_OIDC_APPLE_KEY_ID", "KEY1234567")
        .var("AUTHD_OIDC_APPLE_PRIVATE_KEY_FILE", key_file.display())
        .spawn()
        .await;
    let apple = &providers.apple;
    apple.signs_in(json!({"sub": fresh_sub(), "email": relay_address(), "email_verified": "true"}));
    let (verifier, challenge) = pkce();
    let page = authorize(&app, "apple", WEB_APP, &challenge).await;
    let (code, state) = at_the_provider(&app, &page).await;
    let res = callback(&app, &code, &state).await;
    let authd_code = query_of(&location(&res))["code"].clone();
    assert_eq!(trade(&app, &authd_code, &verifier).await.status(), 200);

    // What reached Apple's token endpoint: an ES256 JWT of the team's key.
    let secret = apple
        .last_client_secret()
        .expect("a client secret was sent");
    let header = jsonwebtoken::decode_header(&secret).unwrap();
    assert_eq!(header.kid.as_deref(), Some("KEY1234567"));
    let public = p256::SecretKey::from_pkcs8_pem(&pem)
        .unwrap()
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&["https://appleid.apple.com"]);
    validation.set_issuer(&["TEAM123456"]);
    let claims = jsonwebtoken::decode::<Value>(
        &secret,
        &jsonwebtoken::DecodingKey::from_ec_pem(public.as_bytes()).unwrap(),
        &validation,
    )
    .unwrap()
    .claims;
    assert_eq!(claims["sub"], apple_services_id());
}
