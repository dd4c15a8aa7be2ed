//! TLS to the stores, against real TLS servers with a private CA made here
//! (`openssl`): `rediss://` to one Redis and to a Redis Cluster verified
//! with `AUTHD_REDIS_CA_FILE`, Postgres with `sslmode=verify-full` and
//! `sslrootcert`; and a server whose certificate another CA signed is
//! refused.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::helpers::*;

/// A CA and a server certificate it signed for `localhost` and 127.0.0.1.
struct TestCa {
    dir: tempfile::TempDir,
}

impl TestCa {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir for certificates");
        let run = |args: &str| {
            let out = Command::new("sh")
                .current_dir(dir.path())
                .args(["-c", &format!("openssl {args}")])
                .output()
                .expect("openssl (apt-get install openssl)");
            assert!(
                out.status.success(),
                "openssl {args}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
        run(&format!(
            "req -x509 {ec} -days 2 -subj /CN=authd-test-ca -keyout ca.key -out ca.pem"
        ));
        run(&format!(
            "req {ec} -subj /CN=localhost -keyout server.key -out server.csr"
        ));
        std::fs::write(
            dir.path().join("san.cnf"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        run(
            "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
             -extfile san.cnf -out server.pem",
        );
        TestCa { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn ca(&self) -> String {
        self.path("ca.pem").display().to_string()
    }

    /// `redis-server` arguments: TLS on `tls_port` with this CA's
    /// certificate (the plaintext port stays, for the test helpers).
    fn redis_args(&self, tls_port: u16) -> Vec<String> {
        vec![
            format!("--tls-port {tls_port}"),
            format!("--tls-cert-file '{}'", self.path("server.pem").display()),
            format!("--tls-key-file '{}'", self.path("server.key").display()),
            format!("--tls-ca-cert-file '{}'", self.path("ca.pem").display()),
            "--tls-auth-clients no".into(),
        ]
    }
}

/// Registration, login, a refresh and the guard, end to end.
async fn the_core_flows_work(app: &TestApp) {
    let (_, t) = app.signed_in_user().await;
    let t = app.refreshed(&t.refresh_token).await;
    for _ in 0..3 {
        assert_eq!(app.guard_status(&t.access_token).await, 200);
    }
    assert_eq!(
        app.post_with("/api/logout", &t.access_token).await.status(),
        204
    );
    assert_eq!(app.guard_status(&t.access_token).await, 401);
}

#[tokio::test]
async fn redis_over_tls_verified_with_a_private_ca() {
    let ca = TestCa::new();
    let tls_port = free_port();
    let _redis = TestRedis::start_on(free_port(), &str_args(&ca.redis_args(tls_port)));
    let app = app()
        .redis_url(&format!("rediss://localhost:{tls_port}"))
        .var("AUTHD_REDIS_CA_FILE", ca.ca())
        .spawn()
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    the_core_flows_work(&app).await;
    // The session liveness runs over TLS as well.
    let (_, t) = app.signed_in_user().await;
    app.guarded_request(&t.access_token).await;
    assert!(!app.state.connections.liveness.is_empty());
}

#[tokio::test]
async fn a_redis_certificate_from_another_ca_is_refused() {
    let ca = TestCa::new();
    let stranger = TestCa::new();
    let tls_port = free_port();
    let _redis = TestRedis::start_on(free_port(), &str_args(&ca.redis_args(tls_port)));
    let url = format!("rediss://localhost:{tls_port}");
    for ca_file in [Some(stranger.ca()), None] {
        let mut builder = app().redis_url(&url).var("AUTHD_REDIS_TIMEOUT_MS", 500);
        if let Some(file) = &ca_file {
            builder = builder.var("AUTHD_REDIS_CA_FILE", file);
        }
        let app = builder.spawn().await;
        // Registration counts per client IP in Redis: it cannot.
        let res = app.register(&unique_email(), PASSWORD).await;
        assert_eq!(res.status(), 503, "with CA {ca_file:?}");
        assert_eq!(app.get_status("/readyz").await, 503);
    }
}

#[tokio::test]
async fn a_redis_cluster_over_tls() {
    let ca = TestCa::new();
    let tls_ports: std::sync::Mutex<Vec<u16>> = Default::default();
    let cluster = TestCluster::start_with(|_| {
        let tls_port = free_port();
        tls_ports.lock().unwrap().push(tls_port);
        let mut args = ca.redis_args(tls_port);
        args.push("--tls-cluster yes".into());
        args
    });
    let seeds = tls_ports
        .lock()
        .unwrap()
        .iter()
        .map(|p| format!("rediss://localhost:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    let app = app()
        .redis_url(&seeds)
        .var("AUTHD_REDIS_CA_FILE", ca.ca())
        .spawn()
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for _ in 0..4 {
        the_core_flows_work(&app).await;
    }
    drop(cluster);
}

#[tokio::test]
async fn postgres_over_tls_verified_with_sslrootcert() {
    let ca = TestCa::new();
    let pg = TestPostgres::start_with_tls(&ca.path("server.pem"), &ca.path("server.key"));
    let database = create_postgres_database(&pg.admin_url()).await;
    let name = database.rsplit('/').next().unwrap().to_string();
    let tls_url = format!(
        "postgres://postgres@localhost:{}/{name}?sslmode=verify-full&sslrootcert={}",
        pg.port,
        ca.ca()
    );
    let app = app().var("AUTHD_DATABASE_URL", &tls_url).spawn().await;
    the_core_flows_work(&app).await;
    assert!(pg.tls_connections() >= 1, "authd's connections use TLS");

    // Another CA: authd does not start (migrations need the database).
    let stranger = TestCa::new();
    let wrong = tls_url.replace(&ca.ca(), &stranger.ca());
    let settings = authd::app::config::Settings::from_vars(vec![
        ("AUTHD_BIND".to_string(), "127.0.0.1:0".to_string()),
        ("AUTHD_DATABASE_URL".into(), wrong),
        ("AUTHD_REDIS_URL".into(), shared_redis_url()),
        ("AUTHD_DATABASE_TIMEOUT_MS".into(), "2000".into()),
    ])
    .unwrap();
    let refused = authd::app::startup::Application::build(settings).await;
    let error = refused.err().expect("an unknown CA is refused").to_string();
    assert!(error.starts_with("AUTHD_DATABASE_URL"), "{error}");
}

fn str_args(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// A reset mail over SMTP with TLS, verified against `AUTHD_SMTP_CA_FILE`:
/// STARTTLS and implicit TLS; and a server from an unknown CA gets no mail.
#[tokio::test]
async fn mail_goes_over_smtp_tls_verified_against_the_ca_file() {
    use authd_test_support::smtp::{SmtpCatcher, SmtpTls};
    let ca = TestCa::new();
    let cert = || (ca.path("server.pem"), ca.path("server.key"));
    let starttls = {
        let (cert, key) = cert();
        SmtpCatcher::start_tls(SmtpTls::StartTls, cert, key)
    };
    let implicit = {
        let (cert, key) = cert();
        SmtpCatcher::start_tls(SmtpTls::Implicit, cert, key)
    };
    for (catcher, url) in [
        (
            &starttls,
            format!("smtp://localhost:{}?tls=starttls", starttls.port),
        ),
        (&implicit, format!("smtps://localhost:{}", implicit.port)),
    ] {
        let app = app()
            .var("AUTHD_SMTP_URL", &url)
            .var("AUTHD_SMTP_CA_FILE", ca.ca())
            .spawn()
            .await;
        let (email, _) = app.signed_in_user().await;
        let res = app
            .post_json(
                "/api/password/forgot",
                &serde_json::json!({ "email": email }),
            )
            .await;
        assert_eq!(res.status().as_u16(), 202);
        catcher
            .wait_for_mail(&email, "reset-password?token=", 1, Duration::from_secs(15))
            .await;
    }

    // Without the CA file, the system roots do not know this CA: nothing is
    // delivered (the mail waits in the outbox).
    let app = app()
        .var(
            "AUTHD_SMTP_URL",
            format!("smtps://localhost:{}", implicit.port),
        )
        .spawn()
        .await;
    let (email, _) = app.signed_in_user().await;
    app.post_json(
        "/api/password/forgot",
        &serde_json::json!({ "email": email }),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(implicit.mail(&email, "").is_empty());
}
