//! Device sessions: what they record, listing, and ending one.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::*;

async fn sessions_of(app: &TestApp, access_token: &str) -> Vec<Value> {
    app.sessions(access_token).await
}

fn ids(sessions: &[Value]) -> Vec<String> {
    sessions
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect()
}

fn rfc3339(v: &Value) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        v.as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
}

#[tokio::test]
async fn sessions_record_device_agent_ip_and_times_newest_first() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    let phone = login_as(&app, &email, Some("Ada's phone"), "AuthdTest/1.0 (iPhone)").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let laptop = login_as(&app, &email, None, "curl/8").await;

    let list = sessions_of(&app, &phone.access_token).await;
    assert_eq!(
        ids(&list),
        vec![laptop.session_id.clone(), phone.session_id.clone()]
    );
    let (newest, oldest) = (&list[0], &list[1]);
    assert_eq!(oldest["device"], "Ada's phone");
    assert_eq!(oldest["user_agent"], "AuthdTest/1.0 (iPhone)");
    assert_eq!(oldest["ip"], "127.0.0.1");
    assert_eq!(oldest["current"], true);
    assert_eq!(newest["current"], false);
    assert!(newest["device"].is_null());
    assert_eq!(newest["user_agent"], "curl/8");
    let created = rfc3339(&oldest["created_at"]);
    let expires = rfc3339(&oldest["expires_at"]);
    assert_eq!(rfc3339(&oldest["last_used_at"]), created);
    let lifetime = (expires - created).whole_seconds();
    assert!((2_591_998..=2_592_001).contains(&lifetime), "{lifetime}");
}

#[tokio::test]
async fn a_refresh_updates_last_used() {
    let app = spawn_app().await;
    let (_, t0) = app.signed_in_user().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let t1 = app.refreshed(&t0.refresh_token).await;
    let list = sessions_of(&app, &t1.access_token).await;
    assert!(rfc3339(&list[0]["last_used_at"]) > rfc3339(&list[0]["created_at"]));
}

#[tokio::test]
async fn a_device_name_is_bounded_and_printable() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    for device in [
        json!("x".repeat(101)),
        json!("tab\there"),
        json!("nul\u{0}"),
        json!(42),
    ] {
        let res = app
            .post_json(
                "/api/login",
                &json!({"email": email, "password": PASSWORD, "device": device}),
            )
            .await;
        assert_error(res, 400, "invalid_request").await;
    }
    for device in [
        "evil\u{202E}gnp.exe",
        "zero\u{200B}width",
        "line\u{2028}break",
    ] {
        let res = app
            .post_json(
                "/api/login",
                &json!({"email": email, "password": PASSWORD, "device": device}),
            )
            .await;
        assert_error(res, 400, "invalid_request").await;
    }
    let t = login_as(&app, &email, Some(&"é".repeat(100)), "ua").await;
    assert_eq!(
        sessions_of(&app, &t.access_token).await[0]["device"],
        "é".repeat(100).as_str()
    );
}

#[tokio::test]
async fn a_long_user_agent_is_cut_to_256_bytes() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    let ua = format!("{}{}", "a".repeat(255), "ü".repeat(50));
    let t = login_as(&app, &email, None, &ua).await;
    let stored = sessions_of(&app, &t.access_token).await[0]["user_agent"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(stored, "a".repeat(255), "cut on a character boundary");
}

#[tokio::test]
async fn ended_sessions_are_never_listed() {
    let app = app().var("AUTHD_REFRESH_REUSE_GRACE", 0).spawn().await;
    let (email, keeper) = app.signed_in_user().await;
    let by_bearer = app.login_tokens(&email).await;
    let by_refresh = app.login_tokens(&email).await;
    let reused = app.login_tokens(&email).await;
    let deleted = app.login_tokens(&email).await;
    assert_eq!(sessions_of(&app, &keeper.access_token).await.len(), 5);

    app.post_with("/api/logout", &by_bearer.access_token).await;
    app.post_json(
        "/api/logout",
        &json!({"refresh_token": by_refresh.refresh_token}),
    )
    .await;
    app.refreshed(&reused.refresh_token).await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(app.refresh(&reused.refresh_token).await.status(), 400);
    let res = app
        .end_session(&keeper.access_token, &deleted.session_id)
        .await;
    assert_eq!(res.status(), 204);
    assert_eq!(
        ids(&sessions_of(&app, &keeper.access_token).await),
        vec![keeper.session_id.clone()]
    );

    app.post_with("/api/logout-all", &keeper.access_token).await;
    let fresh = app.login_tokens(&email).await;
    assert_eq!(
        ids(&sessions_of(&app, &fresh.access_token).await),
        vec![fresh.session_id]
    );
}

#[tokio::test]
async fn idle_and_aged_out_sessions_are_not_listed() {
    let app = app()
        .var("AUTHD_REFRESH_TOKEN_TTL", 2)
        .var("AUTHD_SESSION_MAX_AGE", 3)
        .spawn()
        .await;
    let (email, idle) = app.signed_in_user().await;
    let mut active = app.login_tokens(&email).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut late = app.login_tokens(&email).await;
    active = app.refreshed(&active.refresh_token).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // 2.4 s: `idle` was never refreshed (idle lifetime 2 s); `active` was.
    let list = ids(&sessions_of(&app, &late.access_token).await);
    assert!(!list.contains(&idle.session_id));
    assert!(list.contains(&active.session_id));
    active = app.refreshed(&active.refresh_token).await;
    late = app.refreshed(&late.refresh_token).await;
    tokio::time::sleep(Duration::from_millis(900)).await;
    // 3.3 s: `active` reached its absolute age although refreshed; `late` lives.
    let list = ids(&sessions_of(&app, &late.access_token).await);
    assert_eq!(list, vec![late.session_id.clone()]);
    let _ = active;
}

#[tokio::test]
async fn deleting_a_session_ends_it_at_once() {
    let app = spawn_app().await;
    let (email, me) = app.signed_in_user().await;
    let other = app.login_tokens(&email).await;
    let url = app.url(&format!("/api/sessions/{}", other.session_id));
    let res = app.delete_with(&url, &me.access_token).await;
    assert_eq!(res.status(), 204);
    assert_error(
        app.refresh(&other.refresh_token).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(app.guard_status(&other.access_token).await, 401);
    // Again: it is gone.
    let res = app.delete_with(&url, &me.access_token).await;
    assert_error(res, 404, "not_found").await;
    // One's own current session can be ended too.
    let own = app.url(&format!("/api/sessions/{}", me.session_id));
    assert_eq!(app.delete_with(&own, &me.access_token).await.status(), 204);
    assert_eq!(app.guard_status(&me.access_token).await, 401);
}

#[tokio::test]
async fn another_users_session_is_not_found_and_survives() {
    let app = spawn_app().await;
    let (_, me) = app.signed_in_user().await;
    let (_, victim) = app.signed_in_user().await;
    for id in [
        victim.session_id.as_str(),
        "00000000-0000-0000-0000-000000000000",
        "not-a-uuid",
        "%20",
    ] {
        let res = app.end_session(&me.access_token, id).await;
        assert_error(res, 404, "not_found").await;
    }
    assert_eq!(app.guard_status(&victim.access_token).await, 200);
    app.refreshed(&victim.refresh_token).await;
}

#[tokio::test]
async fn session_routes_need_a_bearer_token() {
    let app = spawn_app().await;
    assert_eq!(app.get_status("/api/sessions").await, 401);
    let res = app
        .client
        .delete(app.url("/api/sessions/00000000-0000-0000-0000-000000000000"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn session_memory_is_constant_across_100_refreshes() {
    let app = spawn_app().await;
    let email = unique_email();
    app.register(&email, PASSWORD).await;
    let ua = "Mozilla/5.0 (authd test; forty bytes!!!)";
    assert_eq!(ua.len(), 40);
    let mut t = login_as(&app, &email, Some("phone"), ua).await;
    let at_login = app.redis_memory().await;
    t = app.refreshed(&t.refresh_token).await;
    // The first rotation adds the fields that remember the previous token.
    let after_one = app.redis_memory().await;
    for _ in 0..100 {
        t = app.refreshed(&t.refresh_token).await;
    }
    let after_101 = app.redis_memory().await;
    eprintln!(
        "redis bytes for one session (40-byte UA): {at_login} after login, {after_one} after 1 refresh, {after_101} after 101"
    );
    assert_eq!(after_101, after_one);
    assert!(at_login <= after_one);
}

#[tokio::test]
async fn a_login_beyond_the_cap_ends_the_least_recently_used_session() {
    let app = app().var("AUTHD_MAX_SESSIONS_PER_USER", 3).spawn().await;
    let (email, a) = app.signed_in_user().await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let b = app.login_tokens(&email).await;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let c = app.login_tokens(&email).await;
    // `a` is used again, so `b` is now the least recently used.
    let a = app.refreshed(&a.refresh_token).await;
    let d = app.login_tokens(&email).await;

    assert_error(app.refresh(&b.refresh_token).await, 400, "invalid_grant").await;
    assert_eq!(app.guard_status(&b.access_token).await, 401);
    let listed = ids(&sessions_of(&app, &d.access_token).await);
    assert_eq!(listed.len(), 3, "{listed:?}");
    for kept in [&a, &c, &d] {
        assert!(listed.contains(&kept.session_id), "{listed:?}");
        assert_eq!(app.guard_status(&kept.access_token).await, 200);
    }
}

#[tokio::test]
async fn listing_and_logout_all_touch_at_most_the_cap_per_call() {
    // Five sessions made under a cap of 5; an instance configured with a cap
    // of 2 (a lowered setting) lists at most 2 and still ends all five,
    // in several bounded script calls.
    let wide = app().var("AUTHD_MAX_SESSIONS_PER_USER", 5).spawn().await;
    let (email, first) = wide.signed_in_user().await;
    let mut all = vec![first];
    for _ in 0..4 {
        all.push(wide.login_tokens(&email).await);
    }
    let narrow = app()
        .var("AUTHD_MAX_SESSIONS_PER_USER", 2)
        .sharing(&wide)
        .spawn()
        .await;
    assert_eq!(sessions_of(&narrow, &all[0].access_token).await.len(), 2);
    assert_eq!(
        narrow
            .post_with("/api/logout-all", &all[0].access_token)
            .await
            .status(),
        204
    );
    for t in &all {
        assert_error(wide.refresh(&t.refresh_token).await, 400, "invalid_grant").await;
    }
}
