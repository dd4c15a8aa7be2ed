//! Logs that never carry a secret, in text and JSON, each line of a
//! request with its id.

use crate::world::*;

/// Starts the real binary on port 0 against a private Redis, makes requests
/// carrying secrets in every place a client might put them, and reads the
/// whole log.
#[tokio::test]
async fn the_service_logs_its_address_and_never_a_secret() {
    let log = requests_carrying_secrets_logged_as("text").await.join("\n");
    assert!(log.contains("authd listening on http://"), "{log}");
}

/// The same requests with `AUTHD_LOG_FORMAT=json`: every line one JSON
/// object; the access lines with their fields; no secret anywhere.
#[tokio::test]
async fn json_logs_are_one_object_a_line_with_the_access_fields() {
    let lines = requests_carrying_secrets_logged_as("json").await;
    let mut access = 0;
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        for field in ["timestamp", "level", "target", "message"] {
            assert!(v[field].is_string(), "{field} in {line}");
        }
        if v["target"] == "authd::access" {
            access += 1;
            assert!(v["method"].is_string() && v["route"].is_string(), "{line}");
            assert!(
                v["status"].is_u64() && v["duration_ms"].is_number(),
                "{line}"
            );
            assert!(
                v["request_id"].as_str().is_some_and(|r| r.len() >= 8),
                "{line}"
            );
            assert!(!v["message"].as_str().unwrap().contains('?'), "{line}");
        }
    }
    assert!(access >= 6, "{access} access lines in {lines:?}");
    assert!(lines.iter().any(|l| l.contains(r#""route":"/api/secure""#)));
}

/// Starts the real binary on port 0 against a private Redis with the log
/// format given, makes requests carrying secrets in every place a client
/// might put them, checks that no secret is logged, and returns the lines.
async fn requests_carrying_secrets_logged_as(format: &str) -> Vec<String> {
    let stores = Stores::private().await;
    let service = Service::start(
        authd_bin!(),
        stores.dir.path(),
        &stores.vars(&[("RUST_LOG", "debug"), ("AUTHD_LOG_FORMAT", format)]),
    );
    let address = service.address.clone();

    let password = "a-very-secret-password";
    let email = "logs@example.com";
    let http = |method: &str, path: &str, headers: &[(&str, &str)], body: &str| -> String {
        let mut cmd = Command::new("curl");
        cmd.args(["-s", "-X", method, &format!("http://{address}{path}")]);
        for (k, v) in headers {
            cmd.args(["-H", &format!("{k}: {v}")]);
        }
        if !body.is_empty() {
            cmd.args(["-H", "content-type: application/json", "-d", body]);
        }
        String::from_utf8(cmd.output().expect("curl").stdout).unwrap()
    };
    http(
        "POST",
        "/api/register",
        &[],
        &format!(r#"{{"email":"{email}","password":"{password}"}}"#),
    );
    let tokens: serde_json::Value = serde_json::from_str(&http(
        "POST",
        "/api/login",
        &[],
        &format!(r#"{{"email":"{email}","password":"{password}"}}"#),
    ))
    .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
    http(
        "GET",
        &format!("/api/secure?access_token={access}&refresh_token={refresh}"),
        &[("Authorization", &format!("Bearer {access}"))],
        "",
    );
    http(
        "GET",
        "/api/secure",
        &[("Authorization", &format!("Bearer {access}x"))],
        "",
    );
    http(
        "POST",
        "/api/token",
        &[],
        &format!(r#"{{"refresh_token":"{refresh}"}}"#),
    );
    http(
        "POST",
        "/api/login",
        &[],
        &format!(r#"{{"email":"{email}","password":"{password}-wrong"}}"#),
    );

    std::thread::sleep(Duration::from_millis(300));
    let mut lines = service.startup_log.clone();
    lines.extend(service.log.try_iter());
    let log = lines.join("\n");
    assert!(log.contains("/api/secure"), "requests are logged: {log}");
    for secret in [
        password,
        &access,
        &refresh,
        &access[access.len() - 20..],
        &refresh[refresh.len() - 20..],
    ] {
        assert!(!log.contains(secret), "the log leaks a secret:\n{log}");
    }
    lines
}

/// The access log names the method and path, and every line a request
/// causes (here the 503 warning and the access line) carries its id.
#[tokio::test]
async fn every_log_line_of_a_request_carries_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    // Nothing listens there: the login's Redis call fails, and authd says why.
    let dead_redis = format!("redis://127.0.0.1:{}", free_port());
    let service = Service::start(
        authd_bin!(),
        dir.path(),
        &[
            ("AUTHD_DATABASE_URL", db.as_str()),
            ("AUTHD_REDIS_URL", dead_redis.as_str()),
            ("AUTHD_REDIS_TIMEOUT_MS", "300"),
            ("RUST_LOG", "info"),
        ],
    );
    let res = reqwest::Client::new()
        .post(service.url("/api/login?probe=1"))
        .header("x-request-id", "trace-me-7")
        .json(&serde_json::json!({"email": "a@example.com", "password": "whatever-password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["x-request-id"], "trace-me-7");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut lines = Vec::new();
    while Instant::now() < deadline && !lines.iter().any(|l: &String| l.contains("\" 503 ")) {
        if let Ok(line) = service.log.recv_timeout(Duration::from_millis(100)) {
            lines.push(line);
        }
    }
    let access = lines
        .iter()
        .find(|l| l.contains("\" 503 "))
        .unwrap_or_else(|| panic!("no access line: {lines:?}"));
    assert!(access.contains("\"POST /api/login\""), "{access}");
    assert!(!access.contains("probe=1"), "{access}");
    let warning = lines
        .iter()
        .find(|l| l.contains("WARN") && l.contains("503"))
        .unwrap_or_else(|| panic!("no warning: {lines:?}"));
    for line in [access, warning] {
        assert!(line.contains("rid=trace-me-7"), "{line}");
    }
}

/// A raw request whose path holds a `"` (no HTTP library sends one): the
/// text access line writes it percent-encoded, so the quoted field still
/// ends where the path does.
#[tokio::test]
async fn a_quote_in_a_raw_request_path_is_escaped_in_the_access_log() {
    use std::io::{Read, Write};
    let stores = Stores::private().await;
    let service = Service::start(
        authd_bin!(),
        stores.dir.path(),
        &stores.vars(&[("RUST_LOG", "info")]),
    );
    let mut stream = std::net::TcpStream::connect(&service.address).unwrap();
    stream
        .write_all(b"GET /a\"b\\c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut lines = Vec::new();
    while Instant::now() < deadline && !lines.iter().any(|l: &String| l.contains(" 404 ")) {
        if let Ok(line) = service.log.recv_timeout(Duration::from_millis(100)) {
            lines.push(line);
        }
    }
    let access = lines
        .iter()
        .find(|l| l.contains(" 404 "))
        .unwrap_or_else(|| panic!("no access line: {lines:?}"));
    assert!(access.contains("\"GET /a%22b%5Cc\" 404 "), "{access}");
}

/// Development without `AUTHD_SMTP_URL`: mail goes to the log, link
/// included, so a developer can follow it.
#[tokio::test]
async fn development_without_smtp_writes_mail_to_the_log() {
    let stores = Stores::private().await;
    let service = Service::start(authd_bin!(), stores.dir.path(), &stores.vars(&[]));
    let post = |path: &str, body: &str| {
        Command::new("curl")
            .args(["-s", "-X", "POST", &service.url(path)])
            .args(["-H", "content-type: application/json", "-d", body])
            .output()
            .expect("curl")
    };
    let email = "forgetful@example.com";
    post(
        "/api/register",
        &format!(r#"{{"email":"{email}","password":"{PASSWORD}"}}"#),
    );
    post("/api/password/forgot", &format!(r#"{{"email":"{email}"}}"#));
    let until = Instant::now() + Duration::from_secs(10);
    let mut log = service.startup_log.join("\n");
    while !log.contains("reset-password?token=") {
        assert!(Instant::now() < until, "no mail in the log:\n{log}");
        if let Ok(line) = service.log.recv_timeout(Duration::from_millis(200)) {
            log.push('\n');
            log.push_str(&line);
        }
    }
    assert!(log.contains(email));
}

/// Issue 31: a Redis that does not answer at startup is named by the URL
/// tried (its password hidden) with how to start one.
#[tokio::test]
async fn a_redis_that_does_not_answer_at_startup_is_named_with_how_to_start_one() {
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database(dir.path()).await;
    let redis_url = format!("redis://:redis-s3cret@127.0.0.1:{}", free_port());
    let service = Service::start(
        authd_bin!(),
        dir.path(),
        &[
            ("AUTHD_DATABASE_URL", database_url.as_str()),
            ("AUTHD_REDIS_URL", redis_url.as_str()),
            ("AUTHD_REDIS_TIMEOUT_MS", "300"),
        ],
    );
    let log = service.startup_log.join("\n");
    let tried = redis_url.replace("redis-s3cret", "***");
    let line = service
        .startup_log
        .iter()
        .find(|l| l.contains("did not answer at startup"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains(&format!("tried {tried}")), "{line}");
    assert!(line.contains("`redis-server`"), "{line}");
    assert!(line.contains("`docker compose up -d redis`"), "{line}");
    assert!(!log.contains("redis-s3cret"), "{log}");
}

/// Issue 31: a database that cannot be reached or opened stops startup
/// with the URL tried (its password hidden) and what to do.
#[test]
fn a_database_that_does_not_answer_at_startup_is_named_with_how_to_start_one() {
    let postgres = format!("postgres://authd:pg-s3cret@127.0.0.1:{}/authd", free_port());
    let out = authd(
        &[],
        &[
            ("AUTHD_DATABASE_URL", postgres.as_str()),
            ("AUTHD_DATABASE_TIMEOUT_MS", "500"),
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.contains("AUTHD_DATABASE_URL"))
        .unwrap_or_else(|| panic!("{err}"));
    let tried = postgres.replace("pg-s3cret", "***");
    assert!(line.contains(&format!("tried {tried}")), "{line}");
    assert!(line.contains("--profile scaled up -d postgres"), "{line}");
    assert!(!err.contains("pg-s3cret"), "{err}");

    let out = authd(
        &[],
        &[(
            "AUTHD_DATABASE_URL",
            "sqlite:///nonexistent-authd-dir/authd.db",
        )],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("the SQLite file /nonexistent-authd-dir/authd.db could not be opened"),
        "{err}"
    );
}
