//! Bad settings stop startup with one line naming the variable and the fix.

use crate::world::*;

#[test]
fn a_malformed_number_stops_startup() {
    let err = assert_refuses(
        &[("AUTHD_ACCESS_TOKEN_TTL", "fifteen")],
        "AUTHD_ACCESS_TOKEN_TTL",
    );
    assert!(err.contains("number"), "{err}");
}

#[test]
fn a_missing_key_file_stops_startup() {
    let err = assert_refuses(
        &[("AUTHD_JWT_PRIVATE_KEY_FILE", "/nonexistent/key.pem")],
        "AUTHD_JWT_PRIVATE_KEY_FILE",
    );
    assert!(err.contains("/nonexistent/key.pem"));
}

#[test]
fn a_short_hs256_secret_stops_startup_without_echoing_it() {
    let err = assert_refuses(
        &[
            ("AUTHD_JWT_ALGORITHM", "HS256"),
            ("AUTHD_JWT_SECRET", "s3cr3t-but-short"),
        ],
        "AUTHD_JWT_SECRET",
    );
    assert!(!err.contains("s3cr3t-but-short"));
}

#[test]
fn production_refuses_to_start_without_a_key() {
    let err = assert_refuses(&[("AUTHD_ENV", "production")], "AUTHD_JWT_PRIVATE_KEY_FILE");
    assert!(err.contains("authd keygen"));
    assert_refuses(
        &[
            ("AUTHD_ENV", "production"),
            ("AUTHD_JWT_ALGORITHM", "HS256"),
        ],
        "AUTHD_JWT_SECRET",
    );
}

#[test]
fn an_unknown_algorithm_or_mode_stops_startup() {
    assert_refuses(&[("AUTHD_JWT_ALGORITHM", "none")], "AUTHD_JWT_ALGORITHM");
    assert_refuses(
        &[("AUTHD_ACCESS_TOKEN_CHECK", "maybe")],
        "AUTHD_ACCESS_TOKEN_CHECK",
    );
    assert_refuses(&[("AUTHD_BIND", "everywhere")], "AUTHD_BIND");
}

#[test]
fn a_key_of_the_wrong_algorithm_stops_startup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("es256.pem");
    std::fs::write(&path, authd(&["keygen", "--alg", "ES256"], &[]).stdout).unwrap();
    assert_refuses(
        &[("AUTHD_JWT_PRIVATE_KEY_FILE", path.to_str().unwrap())],
        "AUTHD_JWT_PRIVATE_KEY_FILE",
    );
}

/// TOTP secrets are sealed with `AUTHD_ENCRYPTION_KEY_FILE`: once a user
/// has one, production will not start without the key (it could not check
/// a code), while development starts and warns.
#[tokio::test]
async fn production_refuses_to_start_without_the_encryption_key_once_a_user_has_totp() {
    let stores = Stores::private().await;
    let key = production_key(stores.dir.path());
    sqlx::any::install_default_drivers();
    let url = match stores.database_url.starts_with("sqlite:") {
        true => format!("{}?mode=rwc", stores.database_url),
        false => stores.database_url.clone(),
    };
    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::migrate!("./migrations").run(&db).await.unwrap();
    sqlx::query("INSERT INTO totp_factors (user_id, secret, confirmed, created_at) VALUES ('u', 'v1:AAAA', 1, 0)")
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    let production = stores.vars(&[
        ("AUTHD_ENV", "production"),
        ("AUTHD_JWT_PRIVATE_KEY_FILE", key.as_str()),
        ("AUTHD_SMTP_URL", "smtp://127.0.0.1:1"),
        ("AUTHD_PUBLIC_URL", "https://auth.example.com"),
    ]);
    let out = authd(&[], &production);
    assert!(!out.status.success(), "production started without the key");
    let err = stderr(&out);
    assert!(
        err.contains("cannot start: AUTHD_ENCRYPTION_KEY_FILE") && err.contains("TOTP"),
        "{err}"
    );
    // With the key, it starts.
    let sealing = stores.dir.path().join("sealing.key");
    std::fs::write(&sealing, [9u8; 32]).unwrap();
    let mut keyed = production.clone();
    let sealing = sealing.to_str().unwrap().to_string();
    keyed.push(("AUTHD_ENCRYPTION_KEY_FILE", sealing.as_str()));
    let service = Service::start(authd_bin!(), stores.dir.path(), &keyed);
    assert_eq!(
        reqwest::get(service.url("/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );
}

/// RFC 8414 §3.3: the metadata's issuer must be the https URL it is
/// published under, so production will not start without one.
#[test]
fn production_refuses_to_start_without_an_https_public_url() {
    let dir = tempfile::tempdir().unwrap();
    let key = production_key(dir.path());
    let production = [
        ("AUTHD_ENV", "production"),
        ("AUTHD_JWT_PRIVATE_KEY_FILE", key.as_str()),
        ("AUTHD_SMTP_URL", "smtp://127.0.0.1:1"),
    ];
    let err = assert_refuses(&production, "AUTHD_PUBLIC_URL");
    assert!(err.contains("https://"), "{err}");
    let mut plain = production.to_vec();
    plain.push(("AUTHD_PUBLIC_URL", "http://auth.example.com"));
    assert_refuses(&plain, "AUTHD_PUBLIC_URL");
}

/// Issue 31: one start reports every configuration error, one a line (the
/// first on the line that says it is one), not one error per start.
#[test]
fn every_configuration_error_is_reported_in_one_start() {
    let out = authd(
        &[],
        &[
            ("AUTHD_ENV", "production"),
            ("AUTHD_REFRESH_TOKEN_TTL", "fifteen"),
            ("AUTHD_BIND", "everywhere"),
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    let first = err
        .lines()
        .position(|l| l.starts_with("authd: configuration error: AUTHD_"))
        .unwrap_or_else(|| panic!("{err}"));
    let further: Vec<&str> = err
        .lines()
        .skip(first + 1)
        .take_while(|l| l.starts_with("  AUTHD_"))
        .collect();
    assert_eq!(further.len(), 4, "{err}");
    for name in [
        "AUTHD_BIND",
        "AUTHD_REFRESH_TOKEN_TTL",
        "AUTHD_JWT_PRIVATE_KEY_FILE",
        "AUTHD_SMTP_URL",
        "AUTHD_PUBLIC_URL",
    ] {
        assert!(err.contains(&format!("{name}: ")), "{name}: {err}");
    }
    assert_eq!(
        err.lines().filter(|l| l.contains("error")).count(),
        1,
        "{err}"
    );
}

/// The rules' three sections (tokens, DPoP, accounts) report their errors
/// together, as the other sections do.
#[test]
fn the_rules_sections_report_their_errors_together() {
    let out = authd(
        &[],
        &[
            ("AUTHD_REVOKE_ACCESS_TOKENS", "maybe"),
            ("AUTHD_DPOP_NONCE", "maybe"),
            ("AUTHD_RESET_TOKEN_TTL", "soon"),
        ],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    for name in [
        "AUTHD_REVOKE_ACCESS_TOKENS",
        "AUTHD_DPOP_NONCE",
        "AUTHD_RESET_TOKEN_TTL",
    ] {
        assert!(err.contains(&format!("{name}: ")), "{name}: {err}");
    }
}
