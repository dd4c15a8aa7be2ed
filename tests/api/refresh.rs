//! Rotation, the grace window, reuse detection and expiry (RFC 9700 §4.14).

use std::time::{Duration, Instant};

use futures::future::join_all;
use serde_json::Value;

use crate::helpers::*;

async fn reason_of(res: reqwest::Response) -> (u16, String, String) {
    let (status, body) = error_of(res).await;
    // Issue 31: the description says the same as `reason`, in words.
    let said = body["error_description"].as_str().unwrap_or_default();
    match body["reason"].as_str() {
        Some("invalid") => assert!(said.starts_with("the refresh token is unknown"), "{said}"),
        Some("reused") => assert!(said.contains("already been used"), "{said}"),
        _ => {}
    }
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
        body["reason"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn every_refresh_rotates_the_token() {
    let app = spawn_app().await;
    let (_, t0) = app.signed_in_user().await;
    let t1 = app.refreshed(&t0.refresh_token).await;
    assert_ne!(t1.refresh_token, t0.refresh_token);
    assert_eq!(t1.session_id, t0.session_id);
    assert_eq!(t1.token_type, "Bearer");
    let t2 = app.refreshed(&t1.refresh_token).await;
    assert_ne!(t2.refresh_token, t1.refresh_token);
    assert_eq!(app.guard_status(&t2.access_token).await, 200);
}

#[tokio::test]
async fn the_refresh_response_is_not_cached() {
    let app = spawn_app().await;
    let (_, t0) = app.signed_in_user().await;
    let res = app.refresh(&t0.refresh_token).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(res.headers()["pragma"], "no-cache");
}

#[tokio::test]
async fn refresh_accepts_the_rfc_6749_form_encoding() {
    let app = spawn_app().await;
    let (_, t0) = app.signed_in_user().await;
    let res = app
        .post_form(
            "/api/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &t0.refresh_token),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_ne!(body["refresh_token"], t0.refresh_token.as_str());
}

#[tokio::test]
async fn a_form_with_another_grant_type_is_unsupported() {
    let app = spawn_app().await;
    let (_, t0) = app.signed_in_user().await;
    let res = app
        .post_form(
            "/api/token",
            &[
                ("grant_type", "password"),
                ("refresh_token", &t0.refresh_token),
            ],
        )
        .await;
    assert_error(res, 400, "unsupported_grant_type").await;
    let res = app
        .post_form("/api/token", &[("refresh_token", &t0.refresh_token)])
        .await;
    assert_error(res, 400, "invalid_request").await;
    let res = app
        .post_form("/api/token", &[("grant_type", "refresh_token")])
        .await;
    assert_error(res, 400, "invalid_request").await;
    // None of that rotated the token.
    app.refreshed(&t0.refresh_token).await;
}

#[tokio::test]
async fn an_unknown_refresh_token_is_an_invalid_grant() {
    let app = spawn_app().await;
    for token in ["", "nope", &"A".repeat(107), &"x".repeat(5000)] {
        let (status, error, reason) = reason_of(app.refresh(token).await).await;
        assert_eq!(
            (status, error.as_str(), reason.as_str()),
            (400, "invalid_grant", "invalid"),
            "{token:?}"
        );
    }
}

#[tokio::test]
async fn a_token_without_the_family_secret_neither_works_nor_revokes() {
    let app = spawn_app().await;
    let (_, t0) = app.signed_in_user().await;
    // Someone who knows the user and session ids (they are in access tokens)
    // but not the family secret cannot end the session.
    let (_, _, reason) = reason_of(app.refresh(&flip(&t0.refresh_token, 40)).await).await;
    assert_eq!(reason, "invalid");
    app.refreshed(&t0.refresh_token).await;
}

#[tokio::test]
async fn a_token_of_the_family_with_an_unknown_secret_counts_as_reuse() {
    // Only an issued token carries the family secret, so a wrong secret with
    // it is an old token of this session being replayed.
    let app = spawn_app().await;
    let (_, t0) = app.signed_in_user().await;
    let (_, _, reason) = reason_of(app.refresh(&flip(&t0.refresh_token, 60)).await).await;
    assert_eq!(reason, "reused");
    assert_eq!(app.refresh(&t0.refresh_token).await.status(), 400);
}

/// Changes one byte of a token: 32..48 is the family secret, 48..80 the
/// rotating secret.
fn flip(token: &str, byte: usize) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let mut raw = URL_SAFE_NO_PAD.decode(token).unwrap();
    raw[byte] ^= 0xff;
    URL_SAFE_NO_PAD.encode(raw)
}

#[tokio::test]
async fn a_token_presented_again_within_grace_gets_the_same_successor() {
    let app = spawn_app().await;
    let (_, t0) = app.signed_in_user().await;
    let t1 = app.refreshed(&t0.refresh_token).await;
    // The client lost the response and retries with the old token.
    let retry = app.refreshed(&t0.refresh_token).await;
    assert_eq!(retry.refresh_token, t1.refresh_token);
    assert_eq!(retry.session_id, t1.session_id);
    assert!(retry.refresh_token_expires_in <= t1.refresh_token_expires_in);
    // And the successor is the live token.
    let t2 = app.refreshed(&t1.refresh_token).await;
    assert_ne!(t2.refresh_token, t1.refresh_token);
}

#[tokio::test]
async fn concurrent_refreshes_with_one_token_rotate_once() {
    let app = spawn_app().await;
    let (_, t0) = app.signed_in_user().await;
    let results = join_all((0..24).map(|_| app.refresh(&t0.refresh_token))).await;
    let mut successors = Vec::new();
    for res in results {
        assert_eq!(res.status(), 200);
        let body: Tokens = res.json().await.unwrap();
        successors.push(body.refresh_token);
    }
    successors.dedup();
    assert_eq!(successors.len(), 1, "every request got the same successor");
    // The session survived and the shared successor is live.
    let next = app.refreshed(&successors[0]).await;
    assert_eq!(next.session_id, t0.session_id);
}

#[tokio::test]
async fn concurrent_refreshes_from_several_tasks_rotate_once() {
    let app = std::sync::Arc::new(spawn_app().await);
    let (_, t0) = app.signed_in_user().await;
    let handles: Vec<_> = (0..20)
        .map(|_| {
            let app = app.clone();
            let token = t0.refresh_token.clone();
            tokio::spawn(async move { app.refreshed(&token).await.refresh_token })
        })
        .collect();
    let mut successors = Vec::new();
    for h in handles {
        successors.push(h.await.unwrap());
    }
    successors.sort();
    successors.dedup();
    assert_eq!(successors.len(), 1);
}

#[tokio::test]
async fn the_replaced_token_after_the_grace_window_revokes_the_session() {
    let app = app().var("AUTHD_REFRESH_REUSE_GRACE", 1).spawn().await;
    let (_, t0) = app.signed_in_user().await;
    let t1 = app.refreshed(&t0.refresh_token).await;
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (status, error, reason) = reason_of(app.refresh(&t0.refresh_token).await).await;
    assert_eq!(
        (status, error.as_str(), reason.as_str()),
        (400, "invalid_grant", "reused")
    );
    // The whole session is gone: its live refresh token and its access token.
    let (_, error, _) = reason_of(app.refresh(&t1.refresh_token).await).await;
    assert_eq!(error, "invalid_grant");
    assert_eq!(app.guard_status(&t1.access_token).await, 401);
}

#[tokio::test]
async fn a_grandparent_token_inside_the_grace_window_is_reuse() {
    let app = spawn_app().await;
    let (_, t0) = app.signed_in_user().await;
    let t1 = app.refreshed(&t0.refresh_token).await;
    let t2 = app.refreshed(&t1.refresh_token).await;
    let (_, _, reason) = reason_of(app.refresh(&t0.refresh_token).await).await;
    assert_eq!(reason, "reused");
    let (status, _, reason) = reason_of(app.refresh(&t2.refresh_token).await).await;
    assert_eq!((status, reason.as_str()), (400, "reused"));
    assert_eq!(app.guard_status(&t2.access_token).await, 401);
}

#[tokio::test]
async fn with_no_grace_a_burst_gets_exactly_one_rotation() {
    // Grace 0 means none: a second presentation is reuse even within the
    // millisecond of the rotation. Several bursts, so that some presentations
    // land in the same millisecond as the rotation they race.
    let app = app().var("AUTHD_REFRESH_REUSE_GRACE", 0).spawn().await;
    let (email, _) = app.signed_in_user().await;
    for _ in 0..5 {
        let t0 = app.login_tokens(&email).await;
        let results = join_all((0..16).map(|_| app.refresh(&t0.refresh_token))).await;
        let statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "{statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 400),
            "{statuses:?}"
        );
    }
}

#[tokio::test]
async fn reuse_revokes_only_that_session() {
    let app = app().var("AUTHD_REFRESH_REUSE_GRACE", 0).spawn().await;
    let (email, a0) = app.signed_in_user().await;
    let b0 = app.login_tokens(&email).await;
    app.refreshed(&a0.refresh_token).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let (_, _, reason) = reason_of(app.refresh(&a0.refresh_token).await).await;
    assert_eq!(reason, "reused");
    app.refreshed(&b0.refresh_token).await;
}

#[tokio::test]
async fn an_idle_session_expires() {
    let app = app().var("AUTHD_REFRESH_TOKEN_TTL", 1).spawn().await;
    let (_, t0) = app.signed_in_user().await;
    assert_eq!(t0.refresh_token_expires_in, 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (status, error, reason) = reason_of(app.refresh(&t0.refresh_token).await).await;
    assert_eq!(
        (status, error.as_str(), reason.as_str()),
        (400, "invalid_grant", "invalid")
    );
    assert_eq!(app.guard_status(&t0.access_token).await, 401);
}

#[tokio::test]
async fn each_refresh_extends_the_idle_lifetime() {
    let app = app().var("AUTHD_REFRESH_TOKEN_TTL", 2).spawn().await;
    let (_, mut t) = app.signed_in_user().await;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        t = app.refreshed(&t.refresh_token).await;
        assert!(t.refresh_token_expires_in >= 1 && t.refresh_token_expires_in <= 2);
    }
    // 4 s after login, past one idle lifetime, still alive.
    assert_eq!(app.guard_status(&t.access_token).await, 200);
}

#[tokio::test]
async fn a_session_ends_at_its_absolute_age_whatever_the_refreshes() {
    let app = app()
        .var("AUTHD_REFRESH_TOKEN_TTL", 2)
        .var("AUTHD_SESSION_MAX_AGE", 3)
        .spawn()
        .await;
    let started = Instant::now();
    let (_, mut t) = app.signed_in_user().await;
    assert_eq!(t.refresh_token_expires_in, 2);
    loop {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let res = app.refresh(&t.refresh_token).await;
        if res.status() != 200 {
            let (_, error, _) = reason_of(res).await;
            assert_eq!(error, "invalid_grant");
            break;
        }
        t = res.json().await.unwrap();
        let left = 3.0 - started.elapsed().as_secs_f64();
        assert!(
            (t.refresh_token_expires_in as f64) <= left + 0.5,
            "expires_in {} beyond the cap ({left:.2}s left)",
            t.refresh_token_expires_in
        );
        assert!(
            started.elapsed() < Duration::from_millis(3500),
            "the session outlived its max age"
        );
    }
    assert!(started.elapsed() >= Duration::from_millis(2500));
}

#[tokio::test]
async fn refresh_token_lifetime_is_capped_by_max_age_from_the_start() {
    let app = app()
        .var("AUTHD_REFRESH_TOKEN_TTL", 100)
        .var("AUTHD_SESSION_MAX_AGE", 50)
        .spawn()
        .await;
    let (_, t0) = app.signed_in_user().await;
    assert_eq!(t0.refresh_token_expires_in, 50);
    let t1 = app.refreshed(&t0.refresh_token).await;
    assert!(t1.refresh_token_expires_in <= 50);
}

#[tokio::test]
async fn a_refreshed_access_token_belongs_to_the_same_session() {
    let app = spawn_app().await;
    let (_, t0) = app.signed_in_user().await;
    let t1 = app.refreshed(&t0.refresh_token).await;
    assert_eq!(
        app.post_with("/api/logout", &t1.access_token)
            .await
            .status(),
        204
    );
    // Logging out with the new access token ended the session of the old one.
    assert_eq!(app.guard_status(&t0.access_token).await, 401);
}
