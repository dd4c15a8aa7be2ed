//! Settings: every declared one in `.env.example`, the README and
//! `--help`, the contract's names declared, `.env` read.

use crate::world::*;

/// The settings the service contract names: each must be declared (the
/// contract is the spec, so this list is written from it, not generated).
const CONTRACT_VARIABLES: &[&str] = &[
    "AUTHD_BIND",
    "AUTHD_REDIS_URL",
    "AUTHD_REDIS_PREFIX",
    "AUTHD_DATABASE_URL",
    "AUTHD_ENV",
    "AUTHD_ISSUER",
    "AUTHD_AUDIENCE",
    "AUTHD_JWT_ALGORITHM",
    "AUTHD_JWT_PRIVATE_KEY_FILE",
    "AUTHD_JWT_SECRET",
    "AUTHD_JWT_VERIFY_KEY_FILES",
    "AUTHD_JWT_LEEWAY",
    "AUTHD_ACCESS_TOKEN_TTL",
    "AUTHD_REFRESH_TOKEN_TTL",
    "AUTHD_SESSION_MAX_AGE",
    "AUTHD_REFRESH_REUSE_GRACE",
    "AUTHD_ACCESS_TOKEN_CHECK",
    "AUTHD_LOGIN_MAX_FAILURES",
    "AUTHD_LOGIN_LOCKOUT",
    "AUTHD_TRUSTED_PROXIES",
    "AUTHD_REDIS_TIMEOUT_MS",
    "AUTHD_DATABASE_TIMEOUT_MS",
    "AUTHD_MAX_SESSIONS_PER_USER",
    "AUTHD_REGISTER_MAX_PER_IP",
    "AUTHD_GUARD_CACHE_ENTRIES",
    "AUTHD_PUBLIC_URL",
    "AUTHD_INTROSPECTION_SECRETS",
    "AUTHD_LOG_FORMAT",
    "AUTHD_METRICS_BIND",
    "AUTHD_REDIS_CA_FILE",
    "AUTHD_REDIS_MIN_REPLICAS",
    // Account lifecycle.
    "AUTHD_SMTP_URL",
    "AUTHD_SMTP_FROM",
    "AUTHD_SMTP_CA_FILE",
    "AUTHD_LINK_RESET",
    "AUTHD_LINK_VERIFY",
    "AUTHD_MAIL_TEMPLATES_DIR",
    "AUTHD_RESET_TOKEN_TTL",
    "AUTHD_VERIFY_TOKEN_TTL",
    "AUTHD_REQUIRE_VERIFIED_EMAIL",
    "AUTHD_ADMIN_SECRETS",
    // Second factors and passkeys.
    "AUTHD_ENCRYPTION_KEY_FILE",
    "AUTHD_WEBAUTHN_RP_ID",
    "AUTHD_WEBAUTHN_RP_NAME",
    "AUTHD_WEBAUTHN_ORIGINS",
    "AUTHD_REQUIRE_MFA",
];

#[test]
fn env_example_lists_every_setting_with_its_default() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example")).unwrap();
    let vars: Vec<(String, String)> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let mut names: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
    names.sort();
    let mut declared: Vec<&str> = authd::app::config::Settings::variables()
        .map(|v| v.name)
        .collect();
    declared.sort();
    assert_eq!(names, declared);
    for name in CONTRACT_VARIABLES {
        assert!(
            declared.contains(name),
            "the contract's {name} is not declared"
        );
    }
    let from_example = authd::app::config::Settings::from_vars(vars).unwrap();
    let defaults = authd::app::config::Settings::from_vars(Vec::new()).unwrap();
    assert_eq!(format!("{from_example:?}"), format!("{defaults:?}"));
}

#[test]
fn the_readme_documents_every_setting() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for var in authd::app::config::Settings::variables().map(|v| v.name) {
        // A table row whose first cell names it.
        let row = readme.lines().any(|line| {
            line.starts_with("| `")
                && line
                    .split(" | ")
                    .next()
                    .is_some_and(|cell| cell.contains(&format!("`{var}`")))
        });
        assert!(row, "{var} is not in the README's table");
    }
}

#[test]
fn settings_are_read_from_a_dot_env_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "AUTHD_REFRESH_TOKEN_TTL=a-month\n").unwrap();
    let out = Command::new(authd_bin!())
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("AUTHD_REFRESH_TOKEN_TTL"));
}

/// `.env.example`, the README's table and docs/clients.md's table of the
/// guard's settings are rendered from the declarations; `AUTHD_UPDATE_DOCS=1`
/// rewrites them.
#[test]
fn settings_docs_are_rendered_from_the_declarations() {
    use authd::app::config::Settings;
    rendered_part(".env.example", None, &Settings::env_example());
    rendered_part(
        "README.md",
        Some(("<!-- settings: generated", "<!-- settings:end -->")),
        &Settings::markdown_table(),
    );
    rendered_part(
        "docs/clients.md",
        Some((
            "<!-- guard settings: generated",
            "<!-- guard settings:end -->",
        )),
        &authd_guard::GuardConfig::markdown_table(),
    );
}

/// Checks that `file` (or its part between the line of the `markers`'
/// start and the end marker) is `rendered`; with `AUTHD_UPDATE_DOCS`,
/// writes it instead.
fn rendered_part(file: &str, markers: Option<(&str, &str)>, rendered: &str) {
    let path = format!("{}/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let (from, to) = match markers {
        None => (0, text.len()),
        Some((start, end)) => {
            let open = text
                .find(start)
                .unwrap_or_else(|| panic!("{file} lacks the marker {start}"));
            let from = open + text[open..].find("-->\n").unwrap() + "-->\n".len();
            let to = text
                .find(end)
                .unwrap_or_else(|| panic!("{file} lacks the marker {end}"));
            (from, to)
        }
    };
    if text[from..to] == *rendered {
        return;
    }
    assert!(
        std::env::var_os("AUTHD_UPDATE_DOCS").is_some(),
        "{file} differs from the declarations: run `AUTHD_UPDATE_DOCS=1 cargo test --test cli settings_docs`"
    );
    std::fs::write(&path, format!("{}{rendered}{}", &text[..from], &text[to..])).unwrap();
}
