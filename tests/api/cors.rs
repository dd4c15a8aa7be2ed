//! CORS for the origins `AUTHD_CORS_ORIGINS` lists: every `/api` route's
//! preflight, the headers a browser client must read (a DPoP client reads
//! `DPoP-Nonce` and `WWW-Authenticate`), and nothing for any other origin.
//! The TypeScript client's Chromium tests call authd from another origin
//! (clients/js/test/browser).

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::*;

const APP: &str = "https://app.example.com";
const LOCAL: &str = "http://localhost:5173";

fn header(res: &Response, name: &str) -> Option<String> {
    let values: Vec<_> = res
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    (!values.is_empty()).then(|| values.join(", ").to_ascii_lowercase())
}

fn lists(res: &Response, name: &str, items: &[&str]) {
    let value = header(res, name).unwrap_or_else(|| panic!("no {name}"));
    let listed: Vec<_> = value.split(',').map(str::trim).collect();
    for item in items {
        assert!(
            listed.contains(&item.to_ascii_lowercase().as_str()),
            "{name}: {value} lacks {item}"
        );
    }
}

async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> Response {
    app.client
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "authorization,content-type,dpop,x-request-id",
        )
        .send()
        .await
        .unwrap()
}

fn no_cors_headers(res: &Response) {
    for (name, _) in res.headers() {
        assert!(
            !name.as_str().starts_with("access-control-"),
            "{name} for an origin not listed"
        );
    }
}

#[tokio::test]
async fn every_api_route_answers_the_preflight_of_a_listed_origin() {
    let app = app()
        .var("AUTHD_CORS_ORIGINS", format!("{APP}, {LOCAL}"))
        .spawn()
        .await;
    let doc: Value = app.get_json("/openapi.json").await;
    let mut checked = 0;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/") {
            continue;
        }
        let path = path
            .replace("{id}", "0190d6c0-0000-7000-8000-000000000000")
            .replace("{identity}", "0190d6c0-0000-7000-8000-000000000001");
        for method in operations.as_object().unwrap().keys() {
            let method = method.to_ascii_uppercase();
            for origin in [APP, LOCAL] {
                let res = preflight(&app, &path, origin, &method).await;
                assert_eq!(res.status().as_u16(), 204, "{method} {path}");
                assert_eq!(
                    header(&res, "access-control-allow-origin").as_deref(),
                    Some(origin),
                    "{method} {path}: the origin itself, never *"
                );
                lists(&res, "vary", &["origin"]);
                lists(&res, "access-control-allow-methods", &[&method]);
                lists(
                    &res,
                    "access-control-allow-headers",
                    &["authorization", "content-type", "dpop", "x-request-id"],
                );
                let max_age: u64 = header(&res, "access-control-max-age")
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(max_age > 0);
                assert!(header(&res, "access-control-allow-credentials").is_none());
                checked += 1;
            }
        }
    }
    assert!(checked > 80, "{checked} preflights");
}

#[tokio::test]
async fn answers_to_a_listed_origin_expose_what_a_client_reads_errors_included() {
    let app = app().var("AUTHD_CORS_ORIGINS", APP).spawn().await;
    let (email, _) = app.signed_in_user().await;
    let expose = [
        "dpop-nonce",
        "x-request-id",
        "retry-after",
        "www-authenticate",
    ];

    let login = app
        .client
        .post(app.url("/api/login"))
        .header("origin", APP)
        .json(&json!({ "email": email, "password": "correct horse battery staple" }))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    assert_eq!(
        header(&login, "access-control-allow-origin").as_deref(),
        Some(APP)
    );
    lists(&login, "access-control-expose-headers", &expose);
    lists(&login, "vary", &["origin"]);

    // A 401 the client must read (its WWW-Authenticate), and a 405 that
    // actix answers itself, rewritten to JSON with the CORS headers kept.
    for (method, path, status) in [
        (Method::GET, "/api/me", 401),
        (Method::DELETE, "/api/login", 405),
        (Method::GET, "/api/nowhere", 404),
    ] {
        let res = app
            .client
            .request(method.clone(), app.url(path))
            .header("origin", APP)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status, "{method} {path}");
        assert_eq!(
            header(&res, "access-control-allow-origin").as_deref(),
            Some(APP),
            "{method} {path}"
        );
        lists(&res, "access-control-expose-headers", &expose);
        assert!(header(&res, "content-type")
            .unwrap()
            .starts_with("application/json"));
    }
}

#[tokio::test]
async fn another_origin_and_a_server_without_origins_get_no_cors_header() {
    let listed = app().var("AUTHD_CORS_ORIGINS", APP).spawn().await;
    let unlisted = spawn_app().await;
    for (app, origin) in [
        (&listed, "https://evil.example.com"),
        (&listed, "https://app.example.com.evil.example"),
        (&listed, "http://app.example.com"),
        (&listed, "null"),
        (&unlisted, APP),
    ] {
        let res = preflight(app, "/api/login", origin, "POST").await;
        assert_ne!(res.status().as_u16(), 204, "{origin}");
        no_cors_headers(&res);
        let res = app
            .client
            .get(app.url("/api/me"))
            .header("origin", origin)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401);
        no_cors_headers(&res);
    }
}
