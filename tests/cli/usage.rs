//! The command line itself: `--help` for authd and each subcommand, the
//! settings' reference, one-line usage errors, and `authd admin` refusing
//! a database that does not exist yet.

use crate::world::*;

const SUBCOMMANDS: &[&str] = &["serve", "keygen", "hash-time", "admin"];
const ADMIN_ACTIONS: &[&str] = &[
    "list",
    "show",
    "disable",
    "enable",
    "logout-all",
    "verify-email",
    "remove-factors",
    "delete",
];

/// The help of `args`: exit 0, on stdout.
fn help(args: &[&str]) -> String {
    let out = authd(args, &[]);
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    stdout(&out)
}

/// What a help listing says of `name`: the rest of the line that names it
/// first, or the next line (clap's long help puts it there).
fn described<'a>(text: &'a str, name: &str) -> &'a str {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    lines
        .iter()
        .enumerate()
        .find_map(|(at, line)| {
            let rest = line.strip_prefix(name)?;
            match rest.trim() {
                "" if rest.is_empty() => lines.get(at + 1).copied(),
                said if rest.starts_with(' ') => Some(said),
                _ => None,
            }
        })
        .filter(|said| !said.is_empty())
        .unwrap_or_else(|| panic!("{name} is not listed with a description:\n{text}"))
}

#[test]
fn help_describes_every_subcommand() {
    for flag in ["--help", "-h"] {
        let text = help(&[flag]);
        for name in SUBCOMMANDS {
            assert!(!described(&text, name).is_empty());
        }
        assert!(text.contains("--version"), "{text}");
    }
    // Each subcommand has its own help, describing its arguments.
    assert!(described(&help(&["keygen", "--help"]), "--alg <ALG>").contains("algorithm"));
    let text = help(&["serve", "--help"]);
    assert!(text.contains("authd serve"), "{text}");
    let text = help(&["hash-time", "--help"]);
    assert!(text.contains("Argon2id"), "{text}");
    let out = authd(&["--version"], &[]);
    assert!(out.status.success());
    assert_eq!(
        stdout(&out).trim(),
        format!("authd {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn admin_help_lists_the_actions_and_each_action_has_its_own() {
    let text = help(&["admin", "--help"]);
    for action in ADMIN_ACTIONS {
        assert!(!described(&text, action).is_empty());
    }
    for action in &ADMIN_ACTIONS[1..] {
        let text = help(&["admin", action, "--help"]);
        assert!(text.contains("<USER_ID>"), "{action}: {text}");
    }
}

/// `--help` anywhere on the line is help: nothing runs, nothing is created.
#[test]
fn admin_list_help_shows_help_and_lists_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = authd_in(dir.path(), &["admin", "list", "--help"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for flag in [
        "--email-prefix <PREFIX>",
        "--cursor <CURSOR>",
        "--limit <N>",
    ] {
        assert!(!described(&text, flag).is_empty());
    }
    assert!(text.contains("Usage: authd admin list"), "{text}");
    assert!(!text.starts_with('{'), "listed instead: {text}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_missing_or_unknown_argument_is_one_line_and_exit_2() {
    let err = assert_usage_error(&authd(&["admin", "show"], &[]));
    assert!(err.contains("<USER_ID>"), "{err}");
    assert!(err.contains("authd admin show --help"), "{err}");
    for args in [
        &["--frobnicate"][..],
        &["frobnicate"],
        &["admin"],
        &["admin", "frobnicate"],
        &["admin", "show", "a", "b"],
        &["admin", "list", "--limit", "0"],
        &["admin", "list", "--limit"],
        &["keygen", "--alg", "HS256"],
        &["keygen", "extra"],
        &["hash-time", "--frobnicate"],
    ] {
        let err = assert_usage_error(&authd(args, &[]));
        assert!(err.starts_with("authd: "), "{args:?}: {err}");
        assert!(err.contains("--help"), "{args:?}: {err}");
    }
    let err = assert_usage_error(&authd(&["keygen", "--alg", "HS256"], &[]));
    assert!(err.contains("EdDSA, ES256, RS256"), "{err}");
}

/// The default database is a file in the working directory: from anywhere
/// else, `authd admin` would create an empty one and find no user.
#[test]
fn admin_refuses_a_sqlite_database_that_does_not_exist_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for vars in [
        &[][..],
        &[("AUTHD_DATABASE_URL", "sqlite://elsewhere/users.db?mode=rwc")],
    ] {
        let out = authd_in(dir.path(), &["admin", "list"], vars);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("AUTHD_DATABASE_URL"), "{err}");
        assert!(err.contains("`authd`"), "{err}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{vars:?}"
        );
    }
    let err = stderr(&authd_in(dir.path(), &["admin", "list"], &[]));
    assert!(err.contains("authd.db"), "{err}");
    let err = stderr(&authd_in(dir.path(), &["admin", "show", "x"], &[]));
    assert!(err.contains("authd.db"), "{err}");
}

#[test]
fn every_declared_setting_is_in_the_help_with_its_default() {
    let text = help(&["--help"]);
    for var in authd::app::config::Settings::variables() {
        let line = format!("{} [{}]", var.name, var.default.unwrap_or(""));
        assert!(text.contains(&line), "{line} is not in --help");
    }
}

/// `authd --help` names each setting under the heading of what it
/// configures, followed by its meaning.
#[test]
fn the_settings_help_groups_settings_with_their_meaning() {
    let text = help(&["--help"]);
    let lines: Vec<&str> = text.lines().collect();
    for var in authd::app::config::Settings::variables() {
        let at = lines
            .iter()
            .position(|l| l.trim_start().starts_with(&format!("{} [", var.name)))
            .unwrap_or_else(|| panic!("{} is not in --help", var.name));
        let heading = lines[..at]
            .iter()
            .rev()
            .find(|l| !l.starts_with(' ') && l.ends_with(':'))
            .unwrap_or_else(|| panic!("{} is under no heading", var.name));
        assert_eq!(*heading, format!("{}:", var.section), "{}", var.name);
        let first_word = var
            .text()
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(
            lines[at + 1].trim_start().starts_with(&first_word),
            "{}: its meaning should follow: {}",
            var.name,
            lines[at + 1]
        );
    }
    // Mailed links and the admin API are accounts; DPoP its own topic;
    // none of them is how the guard decides.
    let section_of = |name: &str| {
        authd::app::config::Settings::variables()
            .find(|v| v.name == name)
            .map(|v| v.section)
            .unwrap_or_default()
    };
    for name in [
        "AUTHD_RESET_TOKEN_TTL",
        "AUTHD_VERIFY_TOKEN_TTL",
        "AUTHD_REQUIRE_VERIFIED_EMAIL",
        "AUTHD_ADMIN_SECRETS",
    ] {
        assert_eq!(section_of(name), "accounts and the admin API", "{name}");
    }
    for name in [
        "AUTHD_DPOP_MAX_AGE",
        "AUTHD_DPOP_NONCE",
        "AUTHD_DPOP_REQUIRED",
    ] {
        assert!(section_of(name).starts_with("DPoP"), "{name}");
    }
}
