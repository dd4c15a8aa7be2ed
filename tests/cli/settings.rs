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
    let update = std::env::var_os("AUTHD_UPDATE_DOCS").is_some();
    let root = env!("CARGO_MANIFEST_DIR");

    let example_path = format!("{root}/.env.example");
    let example = std::fs::read_to_string(&example_path).unwrap_or_default();
    let rendered = Settings::env_example();
    if update && example != rendered {
        std::fs::write(&example_path, &rendered).unwrap();
    } else {
        assert_eq!(
            example, rendered,
            ".env.example differs from the declarations: run `AUTHD_UPDATE_DOCS=1 cargo test --test cli settings_docs`"
        );
    }

    let readme_path = format!("{root}/README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap();
    let (start, end) = ("-->\n", "<!-- settings:end -->");
    let open = readme
        .find("<!-- settings: generated")
        .expect("the README's settings table has its start marker");
    let table_start = open + readme[open..].find(start).unwrap() + start.len();
    let table_end = readme.find(end).expect("and its end marker");
    let table = Settings::markdown_table();
    if update && readme[table_start..table_end] != table {
        let updated = format!("{}{table}{}", &readme[..table_start], &readme[table_end..]);
        std::fs::write(&readme_path, updated).unwrap();
    } else {
        assert_eq!(
            &readme[table_start..table_end],
            table,
            "the README's settings table differs from the declarations: run `AUTHD_UPDATE_DOCS=1 cargo test --test cli settings_docs`"
        );
    }

    // The guard crate's settings, in docs/clients.md.
    let clients_path = format!("{root}/docs/clients.md");
    let clients = std::fs::read_to_string(&clients_path).unwrap();
    let open = clients
        .find("<!-- guard settings: generated")
        .expect("docs/clients.md's guard settings have their start marker");
    let table_start = open + clients[open..].find(start).unwrap() + start.len();
    let table_end = clients
        .find("<!-- guard settings:end -->")
        .expect("and their end marker");
    let table = authd_guard::GuardConfig::markdown_table();
    if update && clients[table_start..table_end] != table {
        let updated = format!(
            "{}{table}{}",
            &clients[..table_start],
            &clients[table_end..]
        );
        std::fs::write(&clients_path, updated).unwrap();
    } else {
        assert_eq!(
            &clients[table_start..table_end],
            table,
            "docs/clients.md's guard settings differ from the declarations: run `AUTHD_UPDATE_DOCS=1 cargo test --test cli settings_docs`"
        );
    }
}
