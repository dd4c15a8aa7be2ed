//! Three instances of one deployment (same Redis prefix, same database):
//! every flow crosses them, and races are settled by the shared stores.

use std::collections::HashSet;
use std::sync::Arc;

use futures::future::join_all;

use crate::helpers::*;

async fn deployment() -> Vec<Arc<TestApp>> {
    let first = app().var("AUTHD_LOGIN_MAX_FAILURES", 3).spawn().await;
    let second = app()
        .var("AUTHD_LOGIN_MAX_FAILURES", 3)
        .sharing(&first)
        .spawn()
        .await;
    let third = app()
        .var("AUTHD_LOGIN_MAX_FAILURES", 3)
        .sharing(&first)
        .spawn()
        .await;
    vec![Arc::new(first), Arc::new(second), Arc::new(third)]
}

#[tokio::test]
async fn every_flow_crosses_instances() {
    let apps = deployment().await;
    let email = unique_email();
    assert_eq!(apps[0].register(&email, PASSWORD).await.status(), 201);
    assert_eq!(apps[1].register(&email, PASSWORD).await.status(), 409);
    let t0 = apps[1].login_tokens(&email).await;
    for app in &apps {
        assert_eq!(app.guard_status(&t0.access_token).await, 200);
    }
    let t1 = apps[2].refreshed(&t0.refresh_token).await;
    // The retry of a lost response may land anywhere.
    assert_eq!(
        apps[0].refreshed(&t0.refresh_token).await.refresh_token,
        t1.refresh_token
    );
    let other = apps[0].login_tokens(&email).await;
    let list: serde_json::Value = apps[1]
        .get_with("/api/sessions", &t1.access_token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["sessions"].as_array().unwrap().len(), 2);
    // Logout on one is visible on all at once.
    assert_eq!(
        apps[2]
            .post_with("/api/logout", &t1.access_token)
            .await
            .status(),
        204
    );
    for app in &apps {
        assert_eq!(app.guard_status(&t1.access_token).await, 401);
        assert_eq!(app.guard_status(&other.access_token).await, 200);
    }
    // Throttling counts across all of them.
    for app in &apps {
        assert_eq!(app.login(&email, "not the password").await.status(), 400);
    }
    for app in &apps {
        assert_eq!(app.login(&email, PASSWORD).await.status(), 429);
    }
}

#[tokio::test]
async fn thirty_parallel_refreshes_over_three_instances_rotate_once() {
    let apps = deployment().await;
    let (_, t0) = apps[0].signed_in_user().await;
    let results = join_all((0..30).map(|i| apps[i % 3].refresh(&t0.refresh_token))).await;
    let mut successors = HashSet::new();
    for res in results {
        assert_eq!(res.status(), 200);
        successors.insert(res.json::<Tokens>().await.unwrap().refresh_token);
    }
    assert_eq!(successors.len(), 1);
    let next = apps[1].refreshed(successors.iter().next().unwrap()).await;
    assert_eq!(next.session_id, t0.session_id);
}

#[tokio::test]
async fn twenty_clients_refreshing_round_robin_never_break_or_fork_a_chain() {
    let apps = deployment().await;
    let mut clients = Vec::new();
    for _ in 0..20 {
        let (_, t) = apps[0].signed_in_user().await;
        clients.push(t);
    }
    let chains = clients.into_iter().enumerate().map(|(c, t0)| {
        let apps = apps.clone();
        tokio::spawn(async move {
            let mut chain = vec![t0];
            for i in 0..15 {
                let t = chain.last().expect("a token");
                let next = apps[(c + i) % 3].refreshed(&t.refresh_token).await;
                assert_eq!(next.session_id, t.session_id);
                chain.push(next);
            }
            chain
        })
    });
    for chain in join_all(chains).await {
        let chain = chain.expect("no chain broke");
        let last = chain.last().unwrap();
        // One session per client, and only its newest token is live: an
        // older one (outside the grace window) is refused as reuse.
        let list: serde_json::Value = apps[2]
            .get_with("/api/sessions", &last.access_token)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            list["sessions"].as_array().unwrap().len(),
            1,
            "the chain forked into sessions"
        );
        let older = &chain[chain.len() - 3];
        let (_, body) = error_of(apps[0].refresh(&older.refresh_token).await).await;
        assert_eq!(body["reason"], "reused");
        assert_eq!(
            apps[1].guard_status(&last.access_token).await,
            401,
            "reuse ended it"
        );
    }
}

#[tokio::test]
async fn nine_parallel_registrations_of_one_email_over_three_instances_make_one_account() {
    let apps = deployment().await;
    let apps: Vec<&TestApp> = apps.iter().map(|a| a.as_ref()).collect();
    assert_registration_race_makes_one_account(&apps, 9).await;
}
