//! RFC 8725 and RFC 9068 checks the guard makes, each with a forged token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

use crate::helpers::*;

/// A signed-in user's real claims and header, to vary one thing at a time.
struct Forge {
    app: TestApp,
    claims: Value,
    kid: String,
    tokens: Tokens,
}

impl Forge {
    async fn new() -> Self {
        Self::on(spawn_app().await).await
    }

    /// On an app built with other settings (signed with the shared key).
    async fn on(app: TestApp) -> Self {
        let (_, tokens) = app.signed_in_user().await;
        let parts: Vec<&str> = tokens.access_token.split('.').collect();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        let kid = header["kid"].as_str().unwrap().to_string();
        Self {
            app,
            claims,
            kid,
            tokens,
        }
    }

    fn header(&self) -> Header {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some("at+jwt".into());
        header.kid = Some(self.kid.clone());
        header
    }

    fn sign(&self, header: &Header, claims: &Value) -> String {
        let pem = self.app.key_pem.as_ref().unwrap();
        let key = EncodingKey::from_ed_pem(pem.as_bytes()).unwrap();
        jsonwebtoken::encode(header, claims, &key).unwrap()
    }

    fn with_claims(&self, edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
        let mut claims = self.claims.clone();
        edit(claims.as_object_mut().unwrap());
        self.sign(&self.header(), &claims)
    }

    async fn status(&self, token: &str) -> u16 {
        self.app.guard_status(token).await
    }

    /// A 401 `invalid_token`; its `error_description`, which the
    /// challenge carries too (RFC 6750 §3).
    async fn assert_rejected(&self, token: &str, what: &str) -> String {
        refused_saying(self.app.guarded_request(token).await, what).await
    }
}

/// A 401 `invalid_token` for a token that was sent: its
/// `error_description`, the same in the body and the challenge.
async fn refused_saying(res: reqwest::Response, what: &str) -> String {
    let challenge = res
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, body) = error_of(res).await;
    assert_eq!(status, 401, "{what}");
    assert_eq!(body["error"], "invalid_token", "{what}");
    let description = body["error_description"].as_str().unwrap().to_string();
    assert_eq!(
        challenge,
        Some(format!(
            r#"Bearer realm="authd", error="invalid_token", error_description="{description}""#
        )),
        "{what}"
    );
    description
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn b64(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn a_token_forged_with_the_real_key_and_claims_is_accepted() {
    // The control for every rejection below: the forging itself is sound.
    let f = Forge::new().await;
    assert_eq!(f.status(&f.with_claims(|_| {})).await, 200);
}

#[tokio::test]
async fn alg_none_is_rejected() {
    let f = Forge::new().await;
    let header = json!({"alg": "none", "typ": "at+jwt", "kid": f.kid});
    for token in [
        format!("{}.{}.", b64(&header), b64(&f.claims)),
        format!("{}.{}", b64(&header), b64(&f.claims)),
    ] {
        f.assert_rejected(&token, "alg none").await;
    }
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_is_rejected() {
    let f = Forge::new().await;
    let jwks: Value = f.app.get_json("/.well-known/jwks.json").await;
    let x = jwks["keys"][0]["x"].as_str().unwrap().to_string();
    let raw_public = URL_SAFE_NO_PAD.decode(&x).unwrap();
    for secret in [raw_public.clone(), x.into_bytes()] {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("at+jwt".into());
        header.kid = Some(f.kid.clone());
        let token = jsonwebtoken::encode(
            &header,
            &f.claims,
            &EncodingKey::from_secret(&secret).unwrap(),
        )
        .unwrap();
        f.assert_rejected(&token, "HS256 with the public key").await;
    }
}

#[tokio::test]
async fn a_tampered_payload_is_rejected() {
    let f = Forge::new().await;
    let parts: Vec<&str> = f.tokens.access_token.split('.').collect();
    let mut claims = f.claims.clone();
    claims["sub"] = json!(uuid::Uuid::new_v4().to_string());
    let token = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    f.assert_rejected(&token, "tampered payload").await;
    // One flipped signature character.
    let mut sig = parts[2].to_string();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    sig.replace_range(0..1, flipped);
    f.assert_rejected(
        &format!("{}.{}.{}", parts[0], parts[1], sig),
        "tampered signature",
    )
    .await;
}

#[tokio::test]
async fn a_wrong_issuer_or_audience_is_rejected() {
    let f = Forge::new().await;
    f.assert_rejected(
        &f.with_claims(|c| {
            c.insert("iss".into(), json!("someone-else"));
        }),
        "iss",
    )
    .await;
    f.assert_rejected(
        &f.with_claims(|c| {
            c.insert("iss".into(), json!(["authd"]));
        }),
        "iss as an array holding the issuer",
    )
    .await;
    f.assert_rejected(
        &f.with_claims(|c| {
            c.insert("aud".into(), json!("another-api"));
        }),
        "aud",
    )
    .await;
    f.assert_rejected(
        &f.with_claims(|c| {
            c.insert("aud".into(), json!(["another-api"]));
        }),
        "aud list",
    )
    .await;
}

#[tokio::test]
async fn any_typ_but_at_jwt_is_rejected() {
    let f = Forge::new().await;
    for typ in [Some("JWT"), Some("jwt"), Some("id+jwt"), None] {
        let mut header = f.header();
        header.typ = typ.map(str::to_string);
        f.assert_rejected(&f.sign(&header, &f.claims), &format!("typ {typ:?}"))
            .await;
    }
}

#[tokio::test]
async fn tokens_missing_a_required_claim_are_rejected() {
    let f = Forge::new().await;
    for claim in ["exp", "iss", "aud", "sub", "sid"] {
        let token = f.with_claims(|c| {
            c.remove(claim);
        });
        f.assert_rejected(&token, &format!("missing {claim}")).await;
    }
}

#[tokio::test]
async fn expiry_is_checked_with_the_configured_leeway() {
    let f = Forge::new().await;
    // Default leeway is 30 s.
    let expired = f.with_claims(|c| {
        c.insert("exp".into(), json!(now() - 60));
    });
    let said = f.assert_rejected(&expired, "expired").await;
    assert!(said.contains("expired"), "{said}");
    let within_leeway = f.with_claims(|c| {
        c.insert("exp".into(), json!(now() - 10));
    });
    assert_eq!(f.status(&within_leeway).await, 200);
}

/// Issue 31: a client learns what to do about its token, not only that it
/// was refused: expired, session ended, not an access token at all.
#[tokio::test]
async fn a_refusal_says_what_was_wrong_with_the_token() {
    let f = Forge::new().await;
    let expired = f.with_claims(|c| {
        c.insert("exp".into(), json!(now() - 60));
    });
    let expired = f.assert_rejected(&expired, "expired").await;
    assert!(expired.contains("expired"), "{expired}");
    assert!(expired.contains("refresh token"), "{expired}");

    let garbage = f.assert_rejected("abc", "garbage").await;
    let refresh = f
        .assert_rejected(&f.tokens.refresh_token, "a refresh token as Bearer")
        .await;
    assert_eq!(garbage, refresh);
    assert!(refresh.contains("not a JWT access token"), "{refresh}");

    let other_issuer = f.with_claims(|c| {
        c.insert("iss".into(), json!("someone-else"));
    });
    let invalid = f.assert_rejected(&other_issuer, "wrong issuer").await;
    // Expired and for another issuer: not valid here, whatever its age.
    let expired_elsewhere = f.with_claims(|c| {
        c.insert("iss".into(), json!("someone-else"));
        c.insert("exp".into(), json!(now() - 60));
    });
    let said = f
        .assert_rejected(&expired_elsewhere, "expired, wrong issuer")
        .await;
    assert_eq!(said, invalid);

    assert_eq!(
        f.app
            .post_with("/api/logout", &f.tokens.access_token)
            .await
            .status(),
        204
    );
    let ended = f
        .assert_rejected(&f.tokens.access_token, "logged out")
        .await;
    assert!(ended.contains("session"), "{ended}");
    assert!(ended.contains("log in again"), "{ended}");

    let mut said = [expired, refresh, invalid, ended];
    said.sort();
    let all = said.len();
    let mut distinct = said.to_vec();
    distinct.dedup();
    assert_eq!(distinct.len(), all, "{said:?}");
    assert!(
        said.iter()
            .all(|s| s != "a valid Bearer access token is required"),
        "{said:?}"
    );
    // No token at all: the challenge has no error (RFC 6750 §3.1).
    let res = f
        .app
        .client
        .get(f.app.url("/api/secure"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["www-authenticate"], r#"Bearer realm="authd""#);
    let body = assert_error(res, 401, "invalid_token").await;
    assert_eq!(
        body["error_description"],
        "a valid Bearer access token is required"
    );
}

#[tokio::test]
async fn not_yet_valid_tokens_are_rejected() {
    let f = Forge::new().await;
    let future = f.with_claims(|c| {
        c.insert("nbf".into(), json!(now() + 120));
    });
    f.assert_rejected(&future, "nbf in the future").await;
    let within_leeway = f.with_claims(|c| {
        c.insert("nbf".into(), json!(now() + 10));
    });
    assert_eq!(f.status(&within_leeway).await, 200);
}

#[tokio::test]
async fn an_unknown_or_missing_kid_is_rejected() {
    let f = Forge::new().await;
    let mut header = f.header();
    header.kid = Some("not-a-key-we-know".into());
    f.assert_rejected(&f.sign(&header, &f.claims), "unknown kid")
        .await;
    header.kid = None;
    f.assert_rejected(&f.sign(&header, &f.claims), "no kid")
        .await;
}

#[tokio::test]
async fn a_token_signed_by_another_key_with_our_kid_is_rejected() {
    let f = Forge::new().await;
    let other = authd::jwt::generate_private_key_pem(authd::jwt::JwtAlgorithm::EdDSA).unwrap();
    let token = jsonwebtoken::encode(
        &f.header(),
        &f.claims,
        &EncodingKey::from_ed_pem(other.as_bytes()).unwrap(),
    )
    .unwrap();
    f.assert_rejected(&token, "foreign key").await;
}

#[tokio::test]
async fn tokens_over_8_kib_are_rejected() {
    let f = Forge::new().await;
    let big = f.with_claims(|c| {
        c.insert("pad".into(), json!("x".repeat(8 * 1024)));
    });
    assert!(big.len() > 8 * 1024);
    f.assert_rejected(&big, "oversized").await;
    let fits = f.with_claims(|c| {
        c.insert("pad".into(), json!("x".repeat(5 * 1024)));
    });
    assert_eq!(f.status(&fits).await, 200);
}

#[tokio::test]
async fn only_the_authorization_header_carries_tokens() {
    let f = Forge::new().await;
    let token = &f.tokens.access_token;
    let by_query = f
        .app
        .client
        .get(f.app.url(&format!("/api/secure?access_token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), 401);
    assert_eq!(
        by_query.headers()["www-authenticate"],
        r#"Bearer realm="authd""#
    );
    let by_cookie = f
        .app
        .client
        .get(f.app.url("/api/secure"))
        .header("cookie", format!("access_token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(by_cookie.status(), 401);
    let basic = f
        .app
        .client
        .get(f.app.url("/api/secure"))
        .header("authorization", format!("Basic {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(
        basic.headers()["www-authenticate"],
        r#"Bearer realm="authd""#
    );
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let f = Forge::new().await;
    for scheme in ["bearer", "BEARER", "bEaReR"] {
        let res = f
            .app
            .client
            .get(f.app.url("/api/secure"))
            .header(
                "authorization",
                format!("{scheme} {}", f.tokens.access_token),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{scheme}");
    }
}

#[tokio::test]
async fn garbage_in_the_authorization_header_is_rejected() {
    let f = Forge::new().await;
    for token in ["", "abc", "a.b.c", "eyJ.eyJ.sig", "....."] {
        let res = f
            .app
            .client
            .get(f.app.url("/api/secure"))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{token:?}");
        let _ = error_of(res).await;
    }
}

#[tokio::test]
async fn in_session_mode_a_token_dies_with_its_session() {
    let app = spawn_app().await;
    let (_, tokens) = app.signed_in_user().await;
    assert_eq!(app.guard_status(&tokens.access_token).await, 200);
    assert_eq!(
        app.post_with("/api/logout", &tokens.access_token)
            .await
            .status(),
        204
    );
    assert_eq!(app.guard_status(&tokens.access_token).await, 401);
}

#[tokio::test]
async fn in_signature_mode_a_token_lives_until_it_expires() {
    let app = app()
        .var("AUTHD_ACCESS_TOKEN_CHECK", "signature")
        .spawn()
        .await;
    let (_, tokens) = app.signed_in_user().await;
    assert_eq!(
        app.post_with("/api/logout", &tokens.access_token)
            .await
            .status(),
        204
    );
    assert_eq!(app.guard_status(&tokens.access_token).await, 200);
}

#[tokio::test]
async fn access_tokens_carry_the_rfc_9068_header_and_claims() {
    let f = Forge::new().await;
    let parts: Vec<&str> = f.tokens.access_token.split('.').collect();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");
    let c = &f.claims;
    assert_eq!(c["iss"], "authd");
    assert_eq!(c["aud"], "authd");
    assert_eq!(c["sid"], f.tokens.session_id.as_str());
    assert!(c["jti"].is_string() && c["sub"].is_string());
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 900);
}

#[tokio::test]
async fn issuer_audience_and_lifetime_follow_the_settings() {
    let app = app()
        .var("AUTHD_ISSUER", "https://auth.example.com")
        .var("AUTHD_AUDIENCE", "mobile-api")
        .var("AUTHD_ACCESS_TOKEN_TTL", 60)
        .spawn()
        .await;
    let (_, tokens) = app.signed_in_user().await;
    assert_eq!(tokens.expires_in, 60);
    let claims: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(tokens.access_token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["iss"], "https://auth.example.com");
    assert_eq!(claims["aud"], "mobile-api");
    assert_eq!(app.guard_status(&tokens.access_token).await, 200);
}

#[tokio::test]
async fn an_access_token_never_outlives_its_session() {
    // Sessions end 5 s after login; access tokens would live 15 minutes.
    let app = app().var("AUTHD_SESSION_MAX_AGE", 5).spawn().await;
    let (_, tokens) = app.signed_in_user().await;
    let claims = |token: &str| -> Value {
        serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap()
    };
    let c = claims(&tokens.access_token);
    let lifetime = c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap();
    assert!((4..=5).contains(&lifetime), "{c}");
    assert!(tokens.expires_in <= 5, "{}", tokens.expires_in);
    // Refreshed tokens keep to the same end.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let again = app.refreshed(&tokens.refresh_token).await;
    let c2 = claims(&again.access_token);
    assert!(
        c2["exp"].as_i64().unwrap() <= c["exp"].as_i64().unwrap(),
        "{c2}"
    );
    assert!(again.expires_in <= 4, "{}", again.expires_in);
}

#[tokio::test]
async fn a_tampered_copy_of_a_cached_token_is_refused() {
    let f = Forge::new().await;
    let token = f.tokens.access_token.clone();
    assert_eq!(f.status(&token).await, 200);
    assert_eq!(f.status(&token).await, 200); // now answered from the cache
    let parts: Vec<&str> = token.split('.').collect();
    // One character of the signature changed.
    let mut signature = parts[2].to_string();
    let middle = signature.len() / 2;
    let flipped = if &signature[middle..=middle] == "A" {
        "B"
    } else {
        "A"
    };
    signature.replace_range(middle..=middle, flipped);
    let bad_signature = format!("{}.{}.{}", parts[0], parts[1], signature);
    f.assert_rejected(&bad_signature, "tampered signature of a cached token")
        .await;
    // Another subject under the cached token's signature.
    let mut claims = f.claims.clone();
    claims["sub"] = json!(uuid::Uuid::new_v4().to_string());
    let bad_payload = format!("{}.{}.{}", parts[0], b64(&claims), parts[2]);
    f.assert_rejected(&bad_payload, "tampered payload of a cached token")
        .await;
    assert_eq!(f.status(&token).await, 200);
}

#[tokio::test]
async fn a_cached_token_still_expires() {
    let f = Forge::on(app().var("AUTHD_JWT_LEEWAY", 0).spawn().await).await;
    let token = f.with_claims(|c| {
        c.insert("exp".into(), json!(now() + 2));
    });
    assert_eq!(f.status(&token).await, 200);
    assert_eq!(f.status(&token).await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    f.assert_rejected(&token, "expired after it was cached")
        .await;
}

#[tokio::test]
async fn the_verified_token_cache_stays_bounded_under_distinct_tokens() {
    let f = Forge::on(
        app()
            .var("AUTHD_GUARD_CACHE_ENTRIES", 50)
            .var("AUTHD_ACCESS_TOKEN_CHECK", "signature")
            .spawn()
            .await,
    )
    .await;
    for i in 0..2000 {
        let token = f.with_claims(|c| {
            c.insert("jti".into(), json!(format!("distinct-{i}")));
        });
        assert_eq!(f.status(&token).await, 200);
    }
    let cached = f.app.state.auth.access_tokens().cached();
    assert!(
        cached > 0 && cached <= 55,
        "{cached} entries for a bound of 50"
    );
}

#[tokio::test]
async fn an_audience_array_holding_ours_is_accepted() {
    let f = Forge::new().await;
    let token = f.with_claims(|c| {
        c.insert("aud".into(), json!(["another-api", "authd"]));
    });
    assert_eq!(f.status(&token).await, 200);
}
