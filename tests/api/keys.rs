//! Algorithms, JWKS (RFC 7517) with RFC 7638 key ids, and key rotation.

use authd::jwt::JwtAlgorithm;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::*;

async fn jwks(app: &TestApp) -> Value {
    let res = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

fn header_of(token: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap()
}

/// RFC 7638 §3: SHA-256 over the required members in lexicographic order.
fn thumbprint(jwk: &Value) -> String {
    let canonical = match jwk["kty"].as_str().unwrap() {
        "OKP" => format!(
            r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
            jwk["crv"].as_str().unwrap(),
            jwk["x"].as_str().unwrap()
        ),
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["crv"].as_str().unwrap(),
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        ),
        "RSA" => format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            jwk["e"].as_str().unwrap(),
            jwk["n"].as_str().unwrap()
        ),
        other => panic!("unexpected kty {other}"),
    };
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Logs in on an app signing with `alg` and checks the token, the JWKS and
/// that a third party can verify the token from the JWKS alone.
async fn round_trip(alg: JwtAlgorithm, kty: &str) {
    let key = KeyFile::generate(alg);
    let app = app().algorithm(alg, Some(&key)).spawn().await;
    let (_, t) = app.signed_in_user().await;
    assert_eq!(app.guard_status(&t.access_token).await, 200);
    let header = header_of(&t.access_token);
    assert_eq!(header["alg"], alg.as_str());

    let set = jwks(&app).await;
    let keys = set["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let jwk = &keys[0];
    assert_eq!(jwk["kty"], kty);
    assert_eq!(jwk["alg"], alg.as_str());
    assert_eq!(jwk["use"], "sig");
    assert_eq!(jwk["kid"], header["kid"]);
    assert_eq!(jwk["kid"].as_str().unwrap(), thumbprint(jwk));
    for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
        assert!(jwk.get(private).is_none(), "JWKS leaks {private}");
    }

    let set: JwkSet = serde_json::from_value(set).unwrap();
    let decoding =
        DecodingKey::from_jwk(set.find(header["kid"].as_str().unwrap()).unwrap()).unwrap();
    let mut validation = Validation::new(alg.as_str().parse().unwrap());
    validation.set_audience(&["authd"]);
    assert!(jsonwebtoken::decode::<Value>(&t.access_token, &decoding, &validation).is_ok());
}

#[tokio::test]
async fn eddsa_tokens_verify_against_the_jwks() {
    round_trip(JwtAlgorithm::EdDSA, "OKP").await;
}

#[tokio::test]
async fn es256_tokens_verify_against_the_jwks() {
    round_trip(JwtAlgorithm::ES256, "EC").await;
}

#[tokio::test]
async fn rs256_tokens_verify_against_the_jwks() {
    round_trip(JwtAlgorithm::RS256, "RSA").await;
}

#[tokio::test]
async fn hs256_works_and_publishes_no_keys() {
    let secret = "k".repeat(40);
    let app = app()
        .algorithm(JwtAlgorithm::HS256, None)
        .var("AUTHD_JWT_SECRET", &secret)
        .spawn()
        .await;
    let (_, t) = app.signed_in_user().await;
    assert_eq!(app.guard_status(&t.access_token).await, 200);
    assert_eq!(jwks(&app).await["keys"].as_array().unwrap().len(), 0);
    // kid is the RFC 7638 thumbprint of the secret's JWK.
    let canonical = format!(
        r#"{{"k":"{}","kty":"oct"}}"#,
        URL_SAFE_NO_PAD.encode(secret.as_bytes())
    );
    let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
    assert_eq!(header_of(&t.access_token)["kid"], expected.as_str());
}

#[tokio::test]
async fn an_eddsa_token_is_refused_by_an_app_pinned_to_es256() {
    // Same claims and a valid signature, but the wrong algorithm.
    let eddsa = spawn_app().await;
    let (_, t) = eddsa.signed_in_user().await;
    let es_key = KeyFile::generate(JwtAlgorithm::ES256);
    let es = app()
        .algorithm(JwtAlgorithm::ES256, Some(&es_key))
        .var("AUTHD_ACCESS_TOKEN_CHECK", "signature")
        .spawn()
        .await;
    assert_eq!(es.guard_status(&t.access_token).await, 401);
}

#[tokio::test]
async fn an_ephemeral_development_key_works_until_restart() {
    let app = app().var("AUTHD_JWT_PRIVATE_KEY_FILE", "").spawn().await;
    let (_, t) = app.signed_in_user().await;
    assert_eq!(app.guard_status(&t.access_token).await, 200);
    let other = app_like_restart().await;
    assert_eq!(other.guard_status(&t.access_token).await, 401);
}

/// What the startup warning promises: only access tokens die with an
/// ephemeral key; the session goes on, and its refresh token gets access
/// tokens from the next key.
#[tokio::test]
async fn after_a_restart_with_a_new_ephemeral_key_a_session_refreshes() {
    let before = app().var("AUTHD_JWT_PRIVATE_KEY_FILE", "").spawn().await;
    let (_, t) = before.signed_in_user().await;
    let after = app()
        .var("AUTHD_JWT_PRIVATE_KEY_FILE", "")
        .var("AUTHD_ACCESS_TOKEN_CHECK", "signature")
        .sharing(&before)
        .spawn()
        .await;
    assert_eq!(after.guard_status(&t.access_token).await, 401);
    let fresh = after.refreshed(&t.refresh_token).await;
    assert_eq!(after.guard_status(&fresh.access_token).await, 200);
}

async fn app_like_restart() -> TestApp {
    app()
        .var("AUTHD_JWT_PRIVATE_KEY_FILE", "")
        .var("AUTHD_ACCESS_TOKEN_CHECK", "signature")
        .spawn()
        .await
}

#[tokio::test]
async fn rotated_keys_keep_verifying_and_stay_in_the_jwks() {
    use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePublicKey};
    let old_key = KeyFile::generate(JwtAlgorithm::EdDSA);
    let old = app()
        .algorithm(JwtAlgorithm::EdDSA, Some(&old_key))
        .spawn()
        .await;
    let (_, t) = old.signed_in_user().await;

    // The old key's public half, as an operator would keep it.
    let public_pem = ed25519_dalek::SigningKey::from_pkcs8_pem(&old_key.pem)
        .unwrap()
        .verifying_key()
        .to_public_key_pem(pkcs8::LineEnding::LF)
        .unwrap();
    let old_public = KeyFile::from_pem(public_pem);
    let new_key = KeyFile::generate(JwtAlgorithm::EdDSA);
    for verify_file in [&old_key, &old_public] {
        let new = app()
            .algorithm(JwtAlgorithm::EdDSA, Some(&new_key))
            .var("AUTHD_JWT_VERIFY_KEY_FILES", verify_file.path.display())
            .var("AUTHD_ACCESS_TOKEN_CHECK", "signature")
            .spawn()
            .await;
        assert_eq!(new.guard_status(&t.access_token).await, 200);
        let (_, fresh) = new.signed_in_user().await;
        assert_ne!(
            header_of(&fresh.access_token)["kid"],
            header_of(&t.access_token)["kid"]
        );
        let kids: Vec<String> = jwks(&new).await["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(kids.len(), 2);
        assert!(kids.contains(
            &header_of(&t.access_token)["kid"]
                .as_str()
                .unwrap()
                .to_string()
        ));
        assert!(kids.contains(
            &header_of(&fresh.access_token)["kid"]
                .as_str()
                .unwrap()
                .to_string()
        ));
    }
    // Without the old key, its tokens stop verifying.
    let without = app()
        .algorithm(JwtAlgorithm::EdDSA, Some(&new_key))
        .var("AUTHD_ACCESS_TOKEN_CHECK", "signature")
        .spawn()
        .await;
    assert_eq!(without.guard_status(&t.access_token).await, 401);
}

/// The README's resource-server example, as written there.
mod readme_example {
    use jsonwebtoken::{decode, decode_header, jwk::JwkSet, Algorithm, DecodingKey, Validation};

    #[derive(serde::Deserialize)]
    pub struct Claims {
        pub sub: String,
        pub sid: String,
        #[allow(dead_code)]
        pub exp: u64,
    }

    pub fn check(token: &str, jwks: &JwkSet) -> Result<Claims, jsonwebtoken::errors::Error> {
        // jwks: fetched from http://authd:8080/.well-known/jwks.json, cached,
        // fetched again when a token names an unknown kid.
        let kid = decode_header(token)?.kid.unwrap_or_default();
        let jwk = jwks
            .find(&kid)
            .ok_or(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat)?;
        let mut rules = Validation::new(Algorithm::EdDSA);
        rules.set_issuer(&["authd"]); // AUTHD_ISSUER
        rules.set_audience(&["authd"]); // AUTHD_AUDIENCE
        rules.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Ok(decode::<Claims>(token, &DecodingKey::from_jwk(jwk)?, &rules)?.claims)
    }
}

#[tokio::test]
async fn the_readme_jwks_example_verifies_a_token() {
    let app = spawn_app().await;
    let (_, t) = app.signed_in_user().await;
    let jwks: JwkSet = serde_json::from_value(jwks(&app).await).unwrap();
    let claims = readme_example::check(&t.access_token, &jwks).expect("verifies");
    assert_eq!(claims.sid, t.session_id);
    assert!(!claims.sub.is_empty());
    // A signature byte changed.
    let at = t.access_token.len() - 10;
    let flipped = if &t.access_token[at..=at] == "A" {
        "B"
    } else {
        "A"
    };
    let tampered = format!(
        "{}{flipped}{}",
        &t.access_token[..at],
        &t.access_token[at + 1..]
    );
    assert!(readme_example::check(&tampered, &jwks).is_err());
}
