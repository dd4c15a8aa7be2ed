//! DPoP (RFC 9449): sessions bound to a device's key at login, refreshed,
//! ended and used only with proofs by that key; each proof used once
//! across instances; proofs for another method, URI, time or token refused.

use authd::jwt::{generate_private_key_pem, JwtAlgorithm};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::helpers::*;

/// A device's key pair, as a client would keep it.
struct DeviceKey {
    key: EncodingKey,
    jwk: Jwk,
    alg: Algorithm,
}

/// What a proof says, with the defaults a correct client uses.
struct ProofFor<'a> {
    method: &'a str,
    url: String,
    access_token: Option<&'a str>,
    nonce: Option<&'a str>,
    iat_offset: i64,
    jti: String,
}

impl<'a> ProofFor<'a> {
    /// A correct client's proof for `method` on `url`: now, a new `jti`.
    fn to(method: &'a str, url: String) -> Self {
        Self {
            method,
            url,
            access_token: None,
            nonce: None,
            iat_offset: 0,
            jti: Uuid::new_v4().to_string(),
        }
    }
}

impl DeviceKey {
    fn new(alg: JwtAlgorithm) -> Self {
        let pem = generate_private_key_pem(alg).unwrap();
        let (key, alg) = match alg {
            JwtAlgorithm::ES256 => (
                EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
                Algorithm::ES256,
            ),
            _ => (
                EncodingKey::from_ed_pem(pem.as_bytes()).unwrap(),
                Algorithm::EdDSA,
            ),
        };
        let jwk = Jwk::from_encoding_key(&key, alg).unwrap();
        Self { key, jwk, alg }
    }

    fn ed25519() -> Self {
        Self::new(JwtAlgorithm::EdDSA)
    }

    /// RFC 7638 thumbprint, as `cnf.jkt` holds it.
    fn thumbprint(&self) -> String {
        self.jwk
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .unwrap()
    }

    fn sign(&self, header: Header, claims: &Value) -> String {
        encode(&header, claims, &self.key).unwrap()
    }

    fn proof_with(&self, p: ProofFor<'_>) -> String {
        let mut header = Header::new(self.alg);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        let mut claims = json!({
            "jti": p.jti,
            "htm": p.method,
            "htu": p.url,
            "iat": now() + p.iat_offset,
        });
        if let Some(token) = p.access_token {
            claims["ath"] = B64.encode(Sha256::digest(token.as_bytes())).into();
        }
        if let Some(nonce) = p.nonce {
            claims["nonce"] = nonce.into();
        }
        self.sign(header, &claims)
    }

    /// A fresh proof for `method` on `app`'s `path`.
    fn proof(&self, app: &TestApp, method: &str, path: &str, access_token: Option<&str>) -> String {
        self.proof_with(ProofFor {
            access_token,
            ..ProofFor::to(method, app.url(path))
        })
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn post_proved(
    app: &TestApp,
    path: &str,
    body: &Value,
    proof: Option<&str>,
) -> reqwest::Response {
    let mut req = app.client.post(app.url(path)).json(body);
    if let Some(proof) = proof {
        req = req.header("DPoP", proof);
    }
    req.send().await.unwrap()
}

async fn bound_login(app: &TestApp, key: &DeviceKey) -> (String, Tokens) {
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status(), 201);
    let proof = key.proof(app, "POST", "/api/login", None);
    let res = post_proved(
        app,
        "/api/login",
        &json!({"email": email, "password": PASSWORD}),
        Some(&proof),
    )
    .await;
    assert_eq!(res.status(), 200);
    (email, res.json().await.unwrap())
}

async fn refresh_with(
    app: &TestApp,
    refresh_token: &str,
    proof: Option<&str>,
) -> reqwest::Response {
    post_proved(
        app,
        "/api/token",
        &json!({"refresh_token": refresh_token}),
        proof,
    )
    .await
}

async fn guarded(
    app: &TestApp,
    scheme: &str,
    token: &str,
    proof: Option<&str>,
) -> reqwest::Response {
    let mut req = app
        .client
        .get(app.url("/api/secure"))
        .header("Authorization", format!("{scheme} {token}"));
    if let Some(proof) = proof {
        req = req.header("DPoP", proof);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_stolen_bound_refresh_token_is_useless_without_the_key_and_cannot_burn_the_session() {
    let app = spawn_app().await;
    let device = DeviceKey::ed25519();
    let (_, tokens) = bound_login(&app, &device).await;
    assert_eq!(tokens.token_type, "DPoP");
    assert_eq!(
        claims_of(&tokens.access_token)["cnf"]["jkt"],
        device.thumbprint()
    );

    // The thief: no proof, then a proof by a key of their own.
    let res = refresh_with(&app, &tokens.refresh_token, None).await;
    let body = assert_error(res, 400, "invalid_dpop_proof").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("required"),
        "{body}"
    );
    let thief = DeviceKey::new(JwtAlgorithm::ES256);
    let proof = thief.proof(&app, "POST", "/api/token", None);
    assert_error(
        refresh_with(&app, &tokens.refresh_token, Some(&proof)).await,
        400,
        "invalid_dpop_proof",
    )
    .await;
    let proof = thief.proof(&app, "POST", "/api/logout", None);
    let res = post_proved(
        &app,
        "/api/logout",
        &json!({"refresh_token": tokens.refresh_token}),
        Some(&proof),
    )
    .await;
    assert_error(res, 400, "invalid_dpop_proof").await;
    let res = app
        .post_form("/api/revoke", &[("token", tokens.refresh_token.as_str())])
        .await;
    assert_error(res, 400, "invalid_dpop_proof").await;

    // Nothing rotated, nothing ended: the device refreshes the same token.
    let proof = device.proof(&app, "POST", "/api/token", None);
    let res = refresh_with(&app, &tokens.refresh_token, Some(&proof)).await;
    assert_eq!(res.status(), 200);
    let next: Tokens = res.json().await.unwrap();
    assert_eq!(next.token_type, "DPoP");
    let list: Value = app
        .client
        .get(app.url("/api/sessions"))
        .header("Authorization", format!("DPoP {}", next.access_token))
        .header(
            "DPoP",
            device.proof(&app, "GET", "/api/sessions", Some(&next.access_token)),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["sessions"][0]["dpop_bound"], true, "{list}");

    // The device's own logout, with its proof, ends it.
    let proof = device.proof(&app, "POST", "/api/logout", None);
    let res = post_proved(
        &app,
        "/api/logout",
        &json!({"refresh_token": next.refresh_token}),
        Some(&proof),
    )
    .await;
    assert_eq!(res.status(), 204);
    let proof = device.proof(&app, "POST", "/api/token", None);
    assert_error(
        refresh_with(&app, &next.refresh_token, Some(&proof)).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn a_proof_is_accepted_once_across_instances() {
    let first = spawn_app().await;
    let second = app().sharing(&first).spawn().await;
    let device = DeviceKey::ed25519();
    let (_, tokens) = bound_login(&first, &device).await;
    // Both instances are reached at their own address: a proof names one
    // URL, so this one is for the second, and is sent to it twice.
    let proof = device.proof(&second, "POST", "/api/token", None);
    let res = refresh_with(&second, &tokens.refresh_token, Some(&proof)).await;
    assert_eq!(res.status(), 200);
    let next: Tokens = res.json().await.unwrap();
    let res = refresh_with(&second, &next.refresh_token, Some(&proof)).await;
    let body = assert_error(res, 400, "invalid_dpop_proof").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("used before"),
        "{body}"
    );
    // The same jti in a proof for the first instance (a copy of the proof
    // sent elsewhere) is the same proof: refused there too.
    let replay = device.proof_with(ProofFor {
        jti: "one-jti".into(),
        ..ProofFor::to("POST", first.url("/api/token"))
    });
    assert_eq!(
        refresh_with(&first, &next.refresh_token, Some(&replay))
            .await
            .status(),
        200
    );
    let replay_second = device.proof_with(ProofFor {
        jti: "one-jti".into(),
        ..ProofFor::to("POST", second.url("/api/token"))
    });
    assert_error(
        refresh_with(&second, &next.refresh_token, Some(&replay_second)).await,
        400,
        "invalid_dpop_proof",
    )
    .await;
}

#[tokio::test]
async fn proofs_for_another_method_uri_time_or_token_are_refused() {
    let app = spawn_app().await;
    let device = DeviceKey::ed25519();
    let (_, tokens) = bound_login(&app, &device).await;
    let fresh = || ProofFor::to("POST", app.url("/api/token"));
    let cases = [
        (
            "htm",
            ProofFor {
                method: "GET",
                ..fresh()
            },
        ),
        (
            "htu",
            ProofFor {
                url: app.url("/api/login"),
                ..fresh()
            },
        ),
        (
            "too old",
            ProofFor {
                iat_offset: -301,
                ..fresh()
            },
        ),
        (
            "in the future",
            ProofFor {
                iat_offset: 60,
                ..fresh()
            },
        ),
    ];
    for (what, proof) in cases {
        let res = refresh_with(&app, &tokens.refresh_token, Some(&device.proof_with(proof))).await;
        let body = assert_error(res, 400, "invalid_dpop_proof").await;
        println!("{what}: {body}");
    }
    // A device clock a little ahead, and a query string, are fine.
    let ahead = ProofFor {
        iat_offset: 3,
        url: app.url("/api/token?x=1"),
        ..fresh()
    };
    assert_eq!(
        refresh_with(&app, &tokens.refresh_token, Some(&device.proof_with(ahead)))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn the_guard_takes_a_bound_token_only_as_dpop_with_a_proof_of_it_used_once() {
    let app = spawn_app().await;
    let device = DeviceKey::ed25519();
    let (_, tokens) = bound_login(&app, &device).await;
    let at = tokens.access_token.as_str();
    // As a Bearer token, or as DPoP without a proof, without ath, with the
    // ath of another token, for another path, or by another key.
    assert_error(
        guarded(&app, "Bearer", at, None).await,
        401,
        "invalid_token",
    )
    .await;
    let res = guarded(&app, "DPoP", at, None).await;
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("DPoP"));
    assert_error(res, 401, "invalid_dpop_proof").await;
    let no_ath = device.proof(&app, "GET", "/api/secure", None);
    assert_error(
        guarded(&app, "DPoP", at, Some(&no_ath)).await,
        401,
        "invalid_dpop_proof",
    )
    .await;
    let other_ath = device.proof(&app, "GET", "/api/secure", Some("another token"));
    assert_error(
        guarded(&app, "DPoP", at, Some(&other_ath)).await,
        401,
        "invalid_dpop_proof",
    )
    .await;
    let other_path = device.proof(&app, "GET", "/api/sessions", Some(at));
    assert_error(
        guarded(&app, "DPoP", at, Some(&other_path)).await,
        401,
        "invalid_dpop_proof",
    )
    .await;
    let thief = DeviceKey::ed25519();
    let stolen = thief.proof(&app, "GET", "/api/secure", Some(at));
    assert_error(
        guarded(&app, "DPoP", at, Some(&stolen)).await,
        401,
        "invalid_dpop_proof",
    )
    .await;
    // The right proof passes once.
    let proof = device.proof(&app, "GET", "/api/secure", Some(at));
    assert_eq!(guarded(&app, "DPoP", at, Some(&proof)).await.status(), 200);
    let res = guarded(&app, "DPoP", at, Some(&proof)).await;
    let body = assert_error(res, 401, "invalid_dpop_proof").await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("used before"),
        "{body}"
    );
    // An unbound token is not accepted as DPoP.
    let (_, plain) = app.signed_in_user().await;
    assert_error(
        guarded(
            &app,
            "DPoP",
            &plain.access_token,
            Some(&device.proof(&app, "GET", "/api/secure", Some(&plain.access_token))),
        )
        .await,
        401,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn malformed_proofs_are_refused_with_a_clear_error() {
    let app = spawn_app().await;
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status(), 201);
    let login = json!({"email": email, "password": PASSWORD});
    let device = DeviceKey::ed25519();
    let claims = json!({"jti": "x", "htm": "POST", "htu": app.url("/api/login"), "iat": now()});
    let header = |jwk: Value, alg: &str| {
        B64.encode(json!({"typ": "dpop+jwt", "alg": alg, "jwk": jwk}).to_string())
    };
    let body_b64 = B64.encode(claims.to_string());
    let public = serde_json::to_value(&device.jwk).unwrap();
    let mut private = public.clone();
    private["d"] = B64.encode([1u8; 32]).into();
    let mut wrong_type = Header::new(Algorithm::EdDSA);
    wrong_type.typ = Some("JWT".into());
    wrong_type.jwk = Some(device.jwk.clone());
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            format!("{}.{body_b64}.", header(public.clone(), "none")),
            "alg",
        ),
        (
            "HS256",
            format!(
                "{}.{body_b64}.AAAA",
                header(json!({"kty": "oct", "k": "c2VjcmV0"}), "HS256")
            ),
            "alg",
        ),
        (
            "a private key",
            format!("{}.{body_b64}.AAAA", header(private, "EdDSA")),
            "public key",
        ),
        (
            "a bad signature",
            format!(
                "{}.{body_b64}.{}",
                header(public, "EdDSA"),
                B64.encode([0u8; 64])
            ),
            "signature",
        ),
        ("typ JWT", device.sign(wrong_type, &claims), "typ"),
        ("oversized", "a".repeat(5000), "too large"),
        ("not a JWT", "garbage".to_string(), "well-formed"),
    ];
    for (what, proof, says) in cases {
        let res = post_proved(&app, "/api/login", &login, Some(&proof)).await;
        let body = assert_error(res, 400, "invalid_dpop_proof").await;
        assert!(
            body["error_description"].as_str().unwrap().contains(says),
            "{what}: {body}"
        );
    }
    let res = app
        .client
        .post(app.url("/api/login"))
        .json(&login)
        .header("DPoP", device.proof(&app, "POST", "/api/login", None))
        .header("DPoP", device.proof(&app, "POST", "/api/login", None))
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "invalid_dpop_proof").await;
    // The same login with a good proof passes.
    assert_eq!(
        post_proved(
            &app,
            "/api/login",
            &login,
            Some(&device.proof(&app, "POST", "/api/login", None))
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn with_nonces_a_proof_without_the_servers_nonce_is_answered_with_one_to_retry_with() {
    let app = app().var("AUTHD_DPOP_NONCE", "true").spawn().await;
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status(), 201);
    let login = json!({"email": email, "password": PASSWORD});
    let device = DeviceKey::ed25519();
    let res = post_proved(
        &app,
        "/api/login",
        &login,
        Some(&device.proof(&app, "POST", "/api/login", None)),
    )
    .await;
    let nonce = res.headers()["dpop-nonce"].to_str().unwrap().to_string();
    assert_error(res, 400, "use_dpop_nonce").await;
    let with_nonce = |path: &str, nonce: &str| {
        device.proof_with(ProofFor {
            nonce: Some(nonce),
            ..ProofFor::to("POST", app.url(path))
        })
    };
    let res = post_proved(
        &app,
        "/api/login",
        &login,
        Some(&with_nonce("/api/login", "forged-nonce")),
    )
    .await;
    assert_error(res, 400, "use_dpop_nonce").await;
    let res = post_proved(
        &app,
        "/api/login",
        &login,
        Some(&with_nonce("/api/login", &nonce)),
    )
    .await;
    assert_eq!(res.status(), 200);
    let next_nonce = res.headers()["dpop-nonce"].to_str().unwrap().to_string();
    let tokens: Tokens = res.json().await.unwrap();
    let res = refresh_with(
        &app,
        &tokens.refresh_token,
        Some(&with_nonce("/api/token", &next_nonce)),
    )
    .await;
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn unbound_sessions_work_as_before_and_bind_at_their_first_proof() {
    let app = spawn_app().await;
    let (_, tokens) = app.signed_in_user().await;
    assert_eq!(tokens.token_type, "Bearer");
    assert!(claims_of(&tokens.access_token).get("cnf").is_none());
    let next = app.refreshed(&tokens.refresh_token).await;
    assert_eq!(next.token_type, "Bearer");
    assert_eq!(app.guard_status(&next.access_token).await, 200);
    let device = DeviceKey::ed25519();
    let res = refresh_with(
        &app,
        &next.refresh_token,
        Some(&device.proof(&app, "POST", "/api/token", None)),
    )
    .await;
    assert_eq!(res.status(), 200);
    let bound: Tokens = res.json().await.unwrap();
    assert_eq!(bound.token_type, "DPoP");
    assert_error(
        refresh_with(&app, &bound.refresh_token, None).await,
        400,
        "invalid_dpop_proof",
    )
    .await;
}

#[tokio::test]
async fn with_dpop_required_a_login_without_a_proof_is_refused() {
    let app = app().var("AUTHD_DPOP_REQUIRED", "true").spawn().await;
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status(), 201);
    let res = app.login(&email, PASSWORD).await;
    assert_error(res, 400, "invalid_dpop_proof").await;
    let device = DeviceKey::new(JwtAlgorithm::ES256);
    let (_, tokens) = bound_login(&app, &device).await;
    assert_eq!(tokens.token_type, "DPoP");
}

#[tokio::test]
async fn metadata_names_the_algorithms_and_introspection_the_key() {
    const SECRET: &str = "an introspection secret of 32 bytes or more";
    let app = app()
        .var("AUTHD_INTROSPECTION_SECRETS", SECRET)
        .spawn()
        .await;
    let metadata: Value = app
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(
        metadata["dpop_signing_alg_values_supported"],
        json!(["ES256", "ES384", "EdDSA", "Ed25519"])
    );
    let device = DeviceKey::ed25519();
    let (_, tokens) = bound_login(&app, &device).await;
    let answer: Value = app
        .client
        .post(app.url("/api/introspect"))
        .bearer_auth(SECRET)
        .form(&[("token", tokens.access_token.as_str())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["cnf"]["jkt"], device.thumbprint(), "{answer}");
}

#[tokio::test]
async fn a_resource_server_on_authds_redis_takes_bound_tokens_with_proofs_used_once_anywhere() {
    use crate::resource_server::{redis_of, resource_server};
    let app = spawn_app().await;
    let config = authd_guard::GuardConfig::for_authd(&app.address, redis_of(&app));
    let server = resource_server(config).await;
    let device = DeviceKey::ed25519();
    let (_, tokens) = bound_login(&app, &device).await;
    let at = tokens.access_token.as_str();
    let url = format!("{server}/api/whoami");
    let call = |scheme: &'static str, proof: Option<String>| {
        let mut req = reqwest::Client::new()
            .get(&url)
            .header("Authorization", format!("{scheme} {at}"));
        if let Some(proof) = proof {
            req = req.header("DPoP", proof);
        }
        req.send()
    };
    let proof_for = |url: String, jti: &str| {
        device.proof_with(ProofFor {
            access_token: Some(at),
            jti: jti.into(),
            ..ProofFor::to("GET", url)
        })
    };
    assert_error(call("Bearer", None).await.unwrap(), 401, "invalid_token").await;
    let proof = proof_for(url.clone(), "first");
    assert_eq!(
        call("DPoP", Some(proof.clone())).await.unwrap().status(),
        200
    );
    assert_error(
        call("DPoP", Some(proof)).await.unwrap(),
        401,
        "invalid_dpop_proof",
    )
    .await;
    // A jti authd's own guard accepted is spent at the resource server too.
    let at_authd = proof_for(app.url("/api/secure"), "shared");
    assert_eq!(
        guarded(&app, "DPoP", at, Some(&at_authd)).await.status(),
        200
    );
    let here = proof_for(url.clone(), "shared");
    assert_error(
        call("DPoP", Some(here)).await.unwrap(),
        401,
        "invalid_dpop_proof",
    )
    .await;
    // A proof by another key is refused.
    let thief = DeviceKey::ed25519();
    let stolen = thief.proof_with(ProofFor {
        access_token: Some(at),
        jti: "thief".into(),
        ..ProofFor::to("GET", url.clone())
    });
    assert_error(
        call("DPoP", Some(stolen)).await.unwrap(),
        401,
        "invalid_dpop_proof",
    )
    .await;
}

#[tokio::test]
async fn the_rfc_9864_name_ed25519_is_taken_like_eddsa() {
    let app = spawn_app().await;
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status(), 201);
    let device = DeviceKey::ed25519();
    let header = json!({"typ": "dpop+jwt", "alg": "Ed25519", "jwk": device.jwk});
    let claims =
        json!({"jti": "rfc-9864", "htm": "POST", "htu": app.url("/api/login"), "iat": now()});
    let signed = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let signature =
        jsonwebtoken::crypto::sign(signed.as_bytes(), &device.key, Algorithm::EdDSA).unwrap();
    let proof = format!("{signed}.{signature}");
    let login = json!({"email": email, "password": PASSWORD});
    let res = post_proved(&app, "/api/login", &login, Some(&proof)).await;
    assert_eq!(res.status(), 200);
    let tokens: Tokens = res.json().await.unwrap();
    assert_eq!(
        claims_of(&tokens.access_token)["cnf"]["jkt"],
        device.thumbprint()
    );
}

/// A bound login with nonces on: the login's first answer gives the nonce.
async fn bound_login_with_nonces(app: &TestApp, key: &DeviceKey) -> Tokens {
    let email = unique_email();
    assert_eq!(app.register(&email, PASSWORD).await.status(), 201);
    let login = json!({"email": email, "password": PASSWORD});
    let res = post_proved(
        app,
        "/api/login",
        &login,
        Some(&key.proof(app, "POST", "/api/login", None)),
    )
    .await;
    let nonce = res.headers()["dpop-nonce"].to_str().unwrap().to_string();
    let proof = key.proof_with(ProofFor {
        nonce: Some(&nonce),
        ..ProofFor::to("POST", app.url("/api/login"))
    });
    let res = post_proved(app, "/api/login", &login, Some(&proof)).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The nonce a 401 `use_dpop_nonce` hands out, asserting RFC 9449 §9's
/// answer: the challenge, the header, the JSON error.
async fn nonce_asked_for(res: reqwest::Response) -> String {
    let nonce = res
        .headers()
        .get("dpop-nonce")
        .expect("a DPoP-Nonce header")
        .to_str()
        .unwrap()
        .to_string();
    let challenge = res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert!(
        challenge.contains(r#"error="use_dpop_nonce""#),
        "{challenge}"
    );
    assert_error(res, 401, "use_dpop_nonce").await;
    nonce
}

#[tokio::test]
async fn with_nonces_the_guard_refuses_a_proof_without_one_and_hands_out_the_nonce() {
    let app = app().var("AUTHD_DPOP_NONCE", "true").spawn().await;
    let device = DeviceKey::ed25519();
    let tokens = bound_login_with_nonces(&app, &device).await;
    let at = tokens.access_token.as_str();
    let proof = |nonce: Option<&str>, iat_offset: i64| {
        device.proof_with(ProofFor {
            access_token: Some(at),
            nonce,
            iat_offset,
            ..ProofFor::to("GET", app.url("/api/secure"))
        })
    };
    // Without a nonce, and one made ahead of time (what a nonce defeats).
    let nonce = nonce_asked_for(guarded(&app, "DPoP", at, Some(&proof(None, 0))).await).await;
    nonce_asked_for(guarded(&app, "DPoP", at, Some(&proof(None, 4))).await).await;
    nonce_asked_for(guarded(&app, "DPoP", at, Some(&proof(Some("made-up"), 0))).await).await;
    // With the nonce handed out, it passes, and the answer carries the
    // nonce of the moment.
    let res = guarded(&app, "DPoP", at, Some(&proof(Some(&nonce), 0))).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("dpop-nonce"));
}

#[tokio::test]
async fn a_resource_server_with_a_nonce_secret_asks_for_its_nonce() {
    use crate::resource_server::{redis_of, resource_server};
    let app = spawn_app().await;
    let mut config = authd_guard::GuardConfig::for_authd(&app.address, redis_of(&app));
    config.dpop_nonce_secret = Some(authd_guard::NonceSecret(authd_guard::Secret::new(
        "the-resource-servers-nonce-secret-32b",
    )));
    let server = resource_server(config).await;
    let device = DeviceKey::ed25519();
    let (_, tokens) = bound_login(&app, &device).await;
    let at = tokens.access_token.as_str();
    let url = format!("{server}/api/whoami");
    let call = |nonce: Option<&str>| {
        let proof = device.proof_with(ProofFor {
            access_token: Some(at),
            nonce,
            ..ProofFor::to("GET", url.clone())
        });
        reqwest::Client::new()
            .get(&url)
            .header("Authorization", format!("DPoP {at}"))
            .header("DPoP", proof)
            .send()
    };
    let nonce = nonce_asked_for(call(None).await.unwrap()).await;
    assert_eq!(call(Some(&nonce)).await.unwrap().status(), 200);
    // Unbound tokens need no proof, so no nonce.
    let (_, plain) = app.signed_in_user().await;
    let res = reqwest::Client::new()
        .get(&url)
        .bearer_auth(&plain.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}
