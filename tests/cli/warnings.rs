//! What startup warns about: stores that may lose or leak, production
//! settings a client would notice, passkeys that cannot be served.

use crate::world::*;

#[tokio::test]
async fn a_redis_that_may_evict_is_warned_about_at_startup() {
    let redis = TestRedis::start_with_args(&["--maxmemory-policy allkeys-lru"]);
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let service = Service::start(
        authd_bin!(),
        dir.path(),
        &[("AUTHD_DATABASE_URL", &db), ("AUTHD_REDIS_URL", &url)],
    );
    std::thread::sleep(Duration::from_millis(200));
    let mut log = service.startup_log.clone();
    log.extend(service.log.try_iter());
    assert!(
        log.iter()
            .any(|l| l.contains("WARN") && l.contains("allkeys-lru") && l.contains("noeviction")),
        "{log:?}"
    );
}

/// A Redis with a replica and no acknowledgement required: a warning.
#[tokio::test]
async fn a_redis_with_replicas_and_no_min_replicas_is_warned_about() {
    let master = TestRedis::start();
    let _replica = TestRedis::start_replica_of(&master);
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let url = format!("redis://127.0.0.1:{}", master.port);
    let service = Service::start(
        authd_bin!(),
        dir.path(),
        &[("AUTHD_DATABASE_URL", &db), ("AUTHD_REDIS_URL", &url)],
    );
    let log = service.startup_log.join("\n");
    assert!(
        log.contains("WARN") && log.contains("has 1 replica(s) but AUTHD_REDIS_MIN_REPLICAS is 0"),
        "{log}"
    );
}

/// Production warns about a store reached in plaintext on another host
/// (here a Redis that does not answer: authd starts anyway, not ready).
#[tokio::test]
async fn production_warns_about_a_plaintext_store_on_another_host() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let key = dir.path().join("key.pem");
    std::fs::write(&key, authd(&["keygen"], &[]).stdout).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let service = Service::start(
        authd_bin!(),
        dir.path(),
        &[
            ("AUTHD_ENV", "production"),
            ("AUTHD_JWT_PRIVATE_KEY_FILE", key.to_str().unwrap()),
            ("AUTHD_SMTP_URL", "smtp://127.0.0.1:1"),
            ("AUTHD_PUBLIC_URL", "https://auth.example.com"),
            ("AUTHD_DATABASE_URL", &db),
            ("AUTHD_REDIS_URL", "redis://192.0.2.1:6379"),
            ("AUTHD_REDIS_TIMEOUT_MS", "200"),
        ],
    );
    let log = service.startup_log.join("\n");
    assert!(
        log.contains("WARN") && log.contains("Redis 192.0.2.1: a plaintext connection"),
        "{log}"
    );
}

/// Production with `/metrics` on the public listener, and tokens whose
/// `iss` is not the metadata's issuer: one warning each, naming the
/// setting; the metadata publishes the public URL as its issuer. With both
/// set as advised: neither warning.
#[tokio::test]
async fn production_warns_about_public_metrics_and_an_issuer_that_is_not_the_public_url() {
    let stores = Stores::private().await;
    let key = production_key(stores.dir.path());
    let public = "https://auth.example.com";
    let production = stores.vars(&[
        ("AUTHD_ENV", "production"),
        ("AUTHD_JWT_PRIVATE_KEY_FILE", key.as_str()),
        ("AUTHD_SMTP_URL", "smtp://127.0.0.1:1"),
        ("AUTHD_PUBLIC_URL", public),
    ]);
    let metrics_warning = |l: &String| l.contains("WARN") && l.contains("AUTHD_METRICS_BIND");
    let issuer_warning =
        |l: &String| l.contains("WARN") && l.contains("AUTHD_ISSUER=https://auth.example.com");

    let service = Service::start(authd_bin!(), stores.dir.path(), &production);
    let log = &service.startup_log;
    assert!(log.iter().any(metrics_warning), "{log:?}");
    assert!(log.iter().any(issuer_warning), "{log:?}");
    let doc: serde_json::Value =
        reqwest::get(service.url("/.well-known/oauth-authorization-server"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(doc["issuer"], public, "{doc}");
    assert_eq!(
        doc["token_endpoint"],
        format!("{public}/api/token"),
        "{doc}"
    );
    drop(service);

    let mut advised = production.clone();
    advised.extend([
        ("AUTHD_ISSUER", public),
        ("AUTHD_METRICS_BIND", "127.0.0.1:0"),
    ]);
    let service = Service::start(authd_bin!(), stores.dir.path(), &advised);
    let log = &service.startup_log;
    assert!(!log.iter().any(metrics_warning), "{log:?}");
    assert!(!log.iter().any(issuer_warning), "{log:?}");
}

/// A development public URL on an IP address (a test load balancer, a
/// phone on the LAN): authd starts with passkeys off, and says which
/// settings turn them on; a relying party that is set and invalid refuses.
#[tokio::test]
async fn a_public_url_on_an_ip_address_starts_with_passkeys_off_and_a_warning() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let port = free_port().to_string();
    let bind = format!("127.0.0.1:{port}");
    let public = format!("http://127.0.0.1:{port}");
    let service = Service::start(
        authd_bin!(),
        dir.path(),
        &[
            ("AUTHD_DATABASE_URL", &db),
            ("AUTHD_REDIS_URL", &url),
            ("AUTHD_BIND", &bind),
            ("AUTHD_PUBLIC_URL", &public),
        ],
    );
    let log = service.startup_log.clone();
    assert!(
        log.iter().any(|l| l.contains("WARN")
            && l.contains("passkeys are off")
            && l.contains("AUTHD_WEBAUTHN_RP_ID")
            && l.contains("AUTHD_WEBAUTHN_ORIGINS")),
        "{log:?}"
    );
    let res = reqwest::Client::new()
        .post(service.url("/api/login/passkey/start"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    let out = authd(
        &[],
        &[
            ("AUTHD_DATABASE_URL", &db),
            ("AUTHD_REDIS_URL", &url),
            ("AUTHD_PUBLIC_URL", &public),
            ("AUTHD_WEBAUTHN_RP_ID", "127.0.0.1"),
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.lines()
            .any(|l| l.contains("cannot start") && l.contains("AUTHD_WEBAUTHN_")),
        "{err}"
    );
}

/// Without a signing key, development warns that access tokens (not
/// sessions or refresh tokens) end with the process, and says how to
/// make a key.
#[tokio::test]
async fn an_ephemeral_key_is_warned_about_for_access_tokens_only() {
    let redis = TestRedis::start();
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_database(dir.path()).await;
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let service = Service::start(
        authd_bin!(),
        dir.path(),
        &[("AUTHD_DATABASE_URL", &db), ("AUTHD_REDIS_URL", &url)],
    );
    let log = service.startup_log.join("\n");
    let warning = log
        .lines()
        .find(|l| l.contains("ephemeral"))
        .unwrap_or_else(|| panic!("no warning about the key: {log}"));
    assert!(warning.contains("WARN"), "{warning}");
    assert!(
        warning.contains("access tokens stop verifying when this process ends"),
        "{warning}"
    );
    assert!(
        warning.contains("refresh tokens live in Redis and go on"),
        "{warning}"
    );
    assert!(!warning.contains("every token"), "{warning}");
    assert!(
        warning.contains("authd keygen > authd-key.pem"),
        "{warning}"
    );
}
