//! The OAuth 2.0 family: revocation (RFC 7009), introspection (RFC 7662),
//! authorization server metadata (RFC 8414).

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

const SECRET: &str = "resource-server-secret-0123456789abcdef";

async fn revoke_json(app: &TestApp, token: &str) -> reqwest::Response {
    app.post_json("/api/revoke", &json!({ "token": token }))
        .await
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_session_everywhere() {
    let a = spawn_app().await;
    let b = app().sharing(&a).spawn().await;
    let (_, t) = a.signed_in_user().await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    accepted_by(&[&a, &b, &a, &b], &t.access_token).await;
    let res = revoke_json(&a, &t.refresh_token).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.bytes().await.unwrap().is_empty(), "an empty body");
    assert_eq!(a.guard_status(&t.access_token).await, 401);
    refused_by_all(&[&b], &t.access_token, "revocation").await;
    assert_eq!(a.refresh(&t.refresh_token).await.status(), 400);
}

#[tokio::test]
async fn an_earlier_refresh_token_of_the_family_ends_the_session_too() {
    let app = spawn_app().await;
    let (_, t0) = app.signed_in_user().await;
    let t1 = app.refreshed(&t0.refresh_token).await;
    let res = app
        .post_form(
            "/api/revoke",
            &[
                ("token", &t0.refresh_token),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.refresh(&t1.refresh_token).await.status(), 400);
    assert_eq!(app.guard_status(&t1.access_token).await, 401);
}

#[tokio::test]
async fn revoking_an_access_token_ends_its_session() {
    let app = spawn_app().await;
    let (_, t) = app.signed_in_user().await;
    let res = app
        .post_form(
            "/api/revoke",
            &[
                ("token", &t.access_token),
                ("token_type_hint", "access_token"),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(app.guard_status(&t.access_token).await, 401);
    assert_eq!(app.refresh(&t.refresh_token).await.status(), 400);
}

/// `AUTHD_REVOKE_ACCESS_TOKENS=false`: whoever holds an access token
/// cannot sign its user out; revocation still answers 200 (RFC 7009
/// §2.2), and a refresh token still ends its session.
#[tokio::test]
async fn with_access_token_revocation_off_an_access_token_ends_nothing() {
    let app = app()
        .var("AUTHD_REVOKE_ACCESS_TOKENS", "false")
        .spawn()
        .await;
    let (_, t) = app.signed_in_user().await;
    for res in [
        revoke_json(&app, &t.access_token).await,
        app.post_form(
            "/api/revoke",
            &[
                ("token", &t.access_token),
                ("token_type_hint", "access_token"),
            ],
        )
        .await,
    ] {
        assert_eq!(res.status(), 200);
    }
    assert_eq!(app.guard_status(&t.access_token).await, 200);
    let next = app.refreshed(&t.refresh_token).await;
    assert_eq!(revoke_json(&app, &next.refresh_token).await.status(), 200);
    assert_eq!(app.guard_status(&next.access_token).await, 401);
    assert_eq!(app.refresh(&next.refresh_token).await.status(), 400);
}

#[tokio::test]
async fn revocation_answers_200_for_any_well_formed_request() {
    let app = spawn_app().await;
    let (_, t) = app.signed_in_user().await;
    let (_, other) = app.signed_in_user().await;
    let mut forged = t.refresh_token.clone();
    forged.replace_range(60..70, "AAAAAAAAAA");
    for token in [
        "not a token at all",
        &forged,
        &t.refresh_token,
        &t.refresh_token, // already revoked
        "eyJhbGciOiJub25lIn0.e30.",
    ] {
        let res = revoke_json(&app, token).await;
        assert_eq!(res.status(), 200, "{token}");
    }
    // A forged token revoked nothing of anyone else's.
    assert_eq!(app.guard_status(&other.access_token).await, 200);
    for body in [
        json!({}),
        json!({ "token": "" }),
        json!({ "token_type_hint": "access_token" }),
    ] {
        let (status, err) = error_of(app.post_json("/api/revoke", &body).await).await;
        assert_eq!(
            (status, err["error"].as_str()),
            (400, Some("invalid_request")),
            "{body}"
        );
    }
    let res = app
        .client
        .post(app.url("/api/revoke"))
        .header("content-type", "text/plain")
        .body("token=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
}

async fn introspect(app: &TestApp, secret: Option<&str>, token: &str) -> reqwest::Response {
    let mut req = app
        .client
        .post(app.url("/api/introspect"))
        .form(&[("token", token)]);
    if let Some(secret) = secret {
        req = req.bearer_auth(secret);
    }
    req.send().await.expect("request")
}

async fn introspected(app: &TestApp, token: &str) -> Value {
    let res = introspect(app, Some(SECRET), token).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    res.json().await.unwrap()
}

async fn introspecting_app(check: &str) -> TestApp {
    app()
        .var(
            "AUTHD_INTROSPECTION_SECRETS",
            format!("another-secret-of-32-bytes-or-more!!,{SECRET}"),
        )
        .var("AUTHD_ACCESS_TOKEN_CHECK", check)
        .spawn()
        .await
}

#[tokio::test]
async fn introspection_is_off_without_secrets_and_needs_one_to_call() {
    let off = spawn_app().await;
    let (_, t) = off.signed_in_user().await;
    let (status, err) = error_of(introspect(&off, Some(SECRET), &t.access_token).await).await;
    assert_eq!((status, err["error"].as_str()), (404, Some("not_found")));

    let app = introspecting_app("session").await;
    let (_, t) = app.signed_in_user().await;
    for caller in [
        None,
        Some("wrong-secret-of-32-bytes-0123456789"),
        Some(t.access_token.as_str()),
    ] {
        let res = introspect(&app, caller, &t.access_token).await;
        assert_eq!(res.status(), 401, "{caller:?}");
        assert!(res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer realm=\"authd\""));
        let (_, err) = error_of(res).await;
        assert_eq!(err["error"], "invalid_token");
    }
}

#[tokio::test]
async fn an_access_token_is_active_while_its_session_lives_in_either_mode() {
    for check in ["session", "signature"] {
        let app = introspecting_app(check).await;
        let (_, t) = app.signed_in_user().await;
        let me: Value = app.me(&t.access_token).await;
        let got = introspected(&app, &t.access_token).await;
        assert_eq!(got["active"], true, "{check}: {got}");
        assert_eq!(got["token_type"], "access_token");
        assert_eq!(got["sub"], me["id"]);
        assert_eq!(got["sid"], t.session_id.as_str());
        assert_eq!(got["iss"], "authd");
        assert_eq!(got["aud"], "authd");
        assert!(got["jti"].as_str().is_some_and(|j| !j.is_empty()));
        let (iat, exp) = (got["iat"].as_u64().unwrap(), got["exp"].as_u64().unwrap());
        assert_eq!(exp - iat, t.expires_in);
        // Ended: inactive, even where the guard checks signatures only.
        assert_eq!(
            app.post_with("/api/logout", &t.access_token).await.status(),
            204
        );
        assert_eq!(
            introspected(&app, &t.access_token).await,
            json!({ "active": false })
        );
    }
}

#[tokio::test]
async fn a_refresh_token_is_active_only_while_current_and_introspection_changes_nothing() {
    let app = introspecting_app("session").await;
    let (_, t0) = app.signed_in_user().await;
    let got = introspected(&app, &t0.refresh_token).await;
    assert_eq!(got["active"], true, "{got}");
    assert_eq!(got["token_type"], "refresh_token");
    assert_eq!(got["sid"], t0.session_id.as_str());
    let exp = got["exp"].as_u64().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        exp.abs_diff(now + t0.refresh_token_expires_in) <= 2,
        "{exp}"
    );
    assert!(got.get("jti").is_none());

    // Introspection did not rotate it.
    let t1 = app.refreshed(&t0.refresh_token).await;
    // The replaced token is inactive, and asking does not count as reuse.
    assert_eq!(
        introspected(&app, &t0.refresh_token).await,
        json!({ "active": false })
    );
    assert_eq!(
        introspected(&app, &t0.refresh_token).await,
        json!({ "active": false })
    );
    let t2 = app.refreshed(&t1.refresh_token).await;
    assert_eq!(introspected(&app, &t2.refresh_token).await["active"], true);
    for junk in ["garbage", "a.b.c", &t2.refresh_token[..50]] {
        assert_eq!(introspected(&app, junk).await, json!({ "active": false }));
    }
    let (status, err) = error_of(
        app.client
            .post(app.url("/api/introspect"))
            .bearer_auth(SECRET)
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, err["error"].as_str()),
        (400, Some("invalid_request"))
    );
}

#[tokio::test]
async fn metadata_names_the_endpoints_under_the_public_url() {
    let app = app()
        .var("AUTHD_PUBLIC_URL", "https://auth.example.com/")
        .var("AUTHD_INTROSPECTION_SECRETS", SECRET)
        .spawn()
        .await;
    let res = app
        .client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    // RFC 8414 §3.3: the issuer is the URL the metadata is published under
    // (tokens still carry AUTHD_ISSUER as iss).
    assert_eq!(doc["issuer"], "https://auth.example.com");
    assert_eq!(doc["token_endpoint"], "https://auth.example.com/api/token");
    assert_eq!(
        doc["jwks_uri"],
        "https://auth.example.com/.well-known/jwks.json"
    );
    assert_eq!(
        doc["revocation_endpoint"],
        "https://auth.example.com/api/revoke"
    );
    assert_eq!(
        doc["introspection_endpoint"],
        "https://auth.example.com/api/introspect"
    );
    assert_eq!(doc["grant_types_supported"], json!(["refresh_token"]));
    // How long a client may retry a refresh whose response it lost.
    assert_eq!(doc["refresh_token_reuse_grace"], 10);
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["none"])
    );

    // No secrets: no introspection endpoint; no public URL: where it listens.
    let plain = spawn_app().await;
    let doc: Value = plain
        .get_json("/.well-known/oauth-authorization-server")
        .await;
    assert!(doc.get("introspection_endpoint").is_none(), "{doc}");
    assert_eq!(doc["issuer"], "authd", "AUTHD_ISSUER without a public URL");
    assert_eq!(
        doc["token_endpoint"],
        format!("{}/api/token", plain.address)
    );
    let jwks = plain
        .client
        .get(doc["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200);
}

#[tokio::test]
async fn an_access_token_past_its_exp_is_inactive_even_within_the_leeway() {
    let app = app()
        .var("AUTHD_INTROSPECTION_SECRETS", SECRET)
        .var("AUTHD_ACCESS_TOKEN_TTL", 1)
        .spawn()
        .await;
    let (_, t) = app.signed_in_user().await;
    assert_eq!(introspected(&app, &t.access_token).await["active"], true);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // The guard still takes it (AUTHD_JWT_LEEWAY tolerates skew)...
    assert_eq!(app.guard_status(&t.access_token).await, 200);
    // ...but introspection does not report a token whose exp has passed.
    assert_eq!(
        introspected(&app, &t.access_token).await,
        json!({ "active": false })
    );
}
