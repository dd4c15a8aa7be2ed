//! `GET /metrics`, read with a Prometheus text parser: requests by method,
//! route pattern and status (unknown paths folded into one label), their
//! durations, and the login, refresh, session-end and store-error
//! counters moving. The counters are per process and other tests run
//! beside these, so each check is "grew by at least what this test did".

use std::collections::HashMap;

use openmetrics_parser::prometheus::parse_prometheus;
use openmetrics_parser::{MetricsExposition, PrometheusType, PrometheusValue};
use serde_json::json;
use uuid::Uuid;

use crate::helpers::*;

struct Metrics(MetricsExposition<PrometheusType, PrometheusValue>);

type Labels = HashMap<String, String>;

impl Metrics {
    async fn of(url: &str) -> Self {
        let res = reqwest::get(url).await.expect("scrape");
        assert_eq!(res.status(), 200);
        let content_type = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        let text = res.text().await.unwrap();
        let parsed = parse_prometheus(&text).unwrap_or_else(|e| panic!("{e:?} in:\n{text}"));
        Self(parsed)
    }

    /// Every sample of the family `name`, with its labels.
    fn samples(&self, name: &str) -> Vec<(Labels, PrometheusValue)> {
        let family = self
            .0
            .families
            .get(name)
            .or_else(|| self.0.families.get(name.trim_end_matches("_total")));
        let Some(family) = family else {
            return Vec::new();
        };
        family
            .iter_samples()
            .map(|sample| {
                let labels = sample
                    .get_labelset()
                    .map(|set| set.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default();
                (labels, sample.value.clone())
            })
            .collect()
    }

    /// The counter `name` with all of `labels`, summed over other labels.
    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples(name)
            .into_iter()
            .filter(|(have, _)| {
                labels
                    .iter()
                    .all(|(k, v)| have.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, value)| match value {
                PrometheusValue::Counter(c) => c.value.as_f64(),
                PrometheusValue::Unknown(n) => n.as_f64(),
                _ => 0.0,
            })
            .sum()
    }

    fn label_values(&self, name: &str, label: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .samples(name)
            .into_iter()
            .filter_map(|(labels, _)| labels.get(label).cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

#[tokio::test]
async fn requests_are_counted_by_route_pattern_and_unknown_paths_share_a_label() {
    let app = spawn_app().await;
    let (_, t) = app.signed_in_user().await;
    let before = Metrics::of(&app.url("/metrics")).await;
    for _ in 0..3 {
        let res = app
            .client
            .delete(app.url(&format!("/api/sessions/{}", Uuid::new_v4())))
            .bearer_auth(&t.access_token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404);
    }
    for i in 0..20 {
        assert_eq!(
            app.get_status(&format!("/wp-admin/probe-{i}.php")).await,
            404
        );
        assert_eq!(app.get_status(&format!("/api/nothing-{i}")).await, 404);
    }
    let after = Metrics::of(&app.url("/metrics")).await;
    let routes = after.label_values("authd_http_requests_total", "route");
    assert!(
        routes.contains(&"/api/sessions/{id}".to_string()),
        "{routes:?}"
    );
    assert!(routes.contains(&"unmatched".to_string()), "{routes:?}");
    assert!(
        routes
            .iter()
            .all(|r| !r.contains("wp-admin") && !r.contains("nothing-")),
        "{routes:?}"
    );
    let deleted = [
        ("method", "DELETE"),
        ("route", "/api/sessions/{id}"),
        ("status", "404"),
    ];
    let grew = |labels: &[(&str, &str)]| {
        after.counter("authd_http_requests_total", labels)
            - before.counter("authd_http_requests_total", labels)
    };
    assert!(grew(&deleted) >= 3.0);
    assert!(grew(&[("route", "unmatched"), ("status", "404")]) >= 40.0);
    let histogram = after
        .samples("authd_http_request_duration_seconds")
        .into_iter()
        .find(|(labels, _)| labels.get("route").map(String::as_str) == Some("/api/sessions/{id}"))
        .expect("a duration histogram");
    match histogram.1 {
        PrometheusValue::Histogram(h) => {
            assert!(h.buckets.len() >= 10, "{h:?}");
            assert!(h.count.unwrap_or(0) >= 3, "{h:?}");
        }
        other => panic!("not a histogram: {other:?}"),
    }
}

#[tokio::test]
async fn login_refresh_session_end_and_store_error_counters_move() {
    let app = app()
        .var("AUTHD_MAX_SESSIONS_PER_USER", 2)
        .var("AUTHD_LOGIN_MAX_FAILURES", 1)
        .spawn()
        .await;
    let scrape = app.url("/metrics");
    let before = Metrics::of(&scrape).await;

    // Logins: success (3, the third evicting the first), invalid, throttled.
    let (email, a) = app.signed_in_user().await;
    let b = app.login_tokens(&email).await;
    let c = app.login_tokens(&email).await;
    let stranger = unique_email();
    assert_eq!(app.login(&stranger, "wrong password 1").await.status(), 400);
    assert_eq!(app.login(&stranger, "wrong password 2").await.status(), 429);
    // Refreshes: rotated, grace, reused (ends the session), invalid.
    let b1 = app.refreshed(&b.refresh_token).await;
    assert_eq!(app.refresh(&b.refresh_token).await.status(), 200);
    app.refreshed(&b1.refresh_token).await;
    assert_eq!(app.refresh(&b.refresh_token).await.status(), 400);
    assert_eq!(app.refresh("garbage").await.status(), 400);
    // Session ends: logout, revoke, deletion, logout-all, password change.
    let (email2, d) = app.signed_in_user().await;
    let e = app.login_tokens(&email2).await;
    assert_eq!(
        app.post_with("/api/logout", &c.access_token).await.status(),
        204
    );
    let res = app
        .post_json("/api/revoke", &json!({ "token": d.refresh_token }))
        .await;
    assert_eq!(res.status(), 200);
    let (_, f) = app.signed_in_user().await;
    let res = app
        .client
        .delete(app.url(&format!("/api/sessions/{}", f.session_id)))
        .bearer_auth(&f.access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let (email3, g) = app.signed_in_user().await;
    app.login_tokens(&email3).await;
    assert_eq!(
        app.post_with("/api/logout-all", &g.access_token)
            .await
            .status(),
        204
    );
    let h = app.login_tokens(&email2).await;
    let res = app
        .change_password(&h.access_token, PASSWORD, "a brand new password 9")
        .await;
    assert_eq!(res.status(), 204);
    let _ = (a, e);

    // A store that does not answer.
    let dead = crate::helpers::app()
        .redis_url(&format!("redis://127.0.0.1:{}", free_port()))
        .var("AUTHD_REDIS_TIMEOUT_MS", 200)
        .spawn()
        .await;
    let (_, t) = app.signed_in_user().await;
    assert_eq!(dead.refresh(&t.refresh_token).await.status(), 503);

    let after = Metrics::of(&scrape).await;
    let grew = |name: &str, label: &str, value: &str| {
        after.counter(name, &[(label, value)]) - before.counter(name, &[(label, value)])
    };
    let expected: HashMap<(&str, &str), f64> = HashMap::from([
        (("authd_logins_total", "success"), 7.0),
        (("authd_logins_total", "invalid"), 1.0),
        (("authd_logins_total", "throttled"), 1.0),
        (("authd_refreshes_total", "rotated"), 2.0),
        (("authd_refreshes_total", "grace"), 1.0),
        (("authd_refreshes_total", "reused"), 1.0),
        (("authd_refreshes_total", "invalid"), 1.0),
        (("authd_refreshes_total", "unavailable"), 1.0),
        (("authd_sessions_ended_total", "evicted"), 1.0),
        (("authd_sessions_ended_total", "reused"), 1.0),
        (("authd_sessions_ended_total", "logout"), 1.0),
        (("authd_sessions_ended_total", "revoked"), 1.0),
        (("authd_sessions_ended_total", "deleted"), 1.0),
        (("authd_sessions_ended_total", "logout_all"), 2.0),
        (("authd_sessions_ended_total", "password_change"), 1.0),
        (("authd_store_errors_total", "redis"), 1.0),
    ]);
    for ((name, value), at_least) in expected {
        let label = match name {
            "authd_sessions_ended_total" => "reason",
            "authd_store_errors_total" => "store",
            _ => "outcome",
        };
        let moved = grew(name, label, value);
        assert!(
            moved >= at_least,
            "{name}{{{label}=\"{value}\"}} grew by {moved}, not {at_least}"
        );
    }
    // Every outcome is there from the start, at 0 or more.
    for outcome in [
        "success",
        "mfa_required",
        "invalid",
        "throttled",
        "unavailable",
    ] {
        assert!(before
            .label_values("authd_logins_total", "outcome")
            .contains(&outcome.to_string()));
    }
}

#[tokio::test]
async fn with_a_metrics_bind_they_are_served_there_only() {
    let app = app().var("AUTHD_METRICS_BIND", "127.0.0.1:0").spawn().await;
    assert_eq!(app.get_status("/metrics").await, 404);
    let metrics = app.metrics_address.clone().expect("a metrics listener");
    let scrape = Metrics::of(&format!("{metrics}/metrics")).await;
    assert!(!scrape
        .label_values("authd_logins_total", "outcome")
        .is_empty());
    let res = reqwest::get(format!("{metrics}/api/secure")).await.unwrap();
    assert_eq!(res.status(), 404);
}
