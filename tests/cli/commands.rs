//! The subcommands at work: keygen, hash-time, admin (their help and
//! usage errors: `usage.rs`).

use crate::world::*;

#[test]
fn keygen_prints_a_pkcs8_pem_key_for_each_algorithm() {
    for args in [
        vec!["keygen"],
        vec!["keygen", "--alg", "EdDSA"],
        vec!["keygen", "--alg", "ES256"],
        vec!["keygen", "--alg", "RS256"],
    ] {
        let out = authd(&args, &[]);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let pem = String::from_utf8(out.stdout).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{args:?}");
        assert!(pem.trim_end().ends_with("-----END PRIVATE KEY-----"));
    }
    let a = authd(&["keygen"], &[]).stdout;
    let b = authd(&["keygen"], &[]).stdout;
    assert_ne!(a, b, "keys are random");
    let out = authd(&["keygen", "--alg", "HS512"], &[]);
    assert!(!out.status.success());
}

#[test]
fn hash_time_prints_the_login_ceiling() {
    let out = authd(&["hash-time"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(" ms per hash") && text.contains(" logins/s"),
        "{text}"
    );
}

/// `authd admin …` does from a shell what the admin API does, against the
/// stores the settings name.
#[tokio::test]
async fn an_operator_at_a_shell_lists_and_disables_a_user() {
    let stores = Stores::private().await;
    let vars = stores.vars(&[]);
    let service = Service::start(authd_bin!(), stores.dir.path(), &vars);
    let email = "operated@example.com";
    let registered = Command::new("curl")
        .args(["-s", "-X", "POST", &service.url("/api/register")])
        .args(["-H", "content-type: application/json"])
        .args([
            "-d",
            &format!(r#"{{"email":"{email}","password":"{PASSWORD}"}}"#),
        ])
        .output()
        .expect("curl");
    let user: serde_json::Value = serde_json::from_slice(&registered.stdout).unwrap();
    let id = user["id"].as_str().unwrap();

    let out = authd(&["admin", "list", "--email-prefix", "operated"], &vars);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed["users"][0]["email"], email);

    let out = authd(&["admin", "disable", id], &vars);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = authd(&["admin", "show", id], &vars);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["disabled"], true);

    let out = authd(
        &["admin", "show", "00000000-0000-0000-0000-000000000000"],
        &vars,
    );
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no such user"));
    let out = authd(&["admin", "frobnicate", id], &vars);
    assert_usage_error(&out);
}
