//! The command line of the `authd` binary, declared with clap: each
//! subcommand and argument with its line of help, the settings' reference
//! under `authd --help`, and errors on one line.

use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use authd::app::config::Settings;
use authd::jwt::JwtAlgorithm;

/// authd: login, short-lived JWT access tokens, rotating refresh tokens.
///
/// With no subcommand, authd serves (as `authd serve`). Every subcommand
/// reads the same settings: AUTHD_* variables from the environment, or a
/// .env file in the working directory.
#[derive(Debug, Parser)]
#[command(name = "authd", version, propagate_version = true)]
#[command(
    after_help = "`authd --help` also lists every setting, grouped by what it configures, with its default and meaning."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service (also what `authd` with no subcommand does).
    ///
    /// Reads the settings (see `authd --help`), creates a missing SQLite
    /// database, applies the migrations, and serves until SIGINT or SIGTERM.
    Serve,
    /// Print a fresh PKCS#8 PEM private key, for AUTHD_JWT_PRIVATE_KEY_FILE.
    ///
    /// For example `authd keygen > authd-key.pem && chmod 600 authd-key.pem`.
    Keygen {
        /// The key's algorithm (set AUTHD_JWT_ALGORITHM to the same); HS256
        /// takes a secret in AUTHD_JWT_SECRET instead of a key.
        #[arg(long, value_enum, ignore_case = true, default_value = "EdDSA")]
        alg: KeyAlgorithm,
    },
    /// Time one Argon2id hash on this machine: the most logins per second.
    ///
    /// With the configured parameters (AUTHD_ARGON2_*) and hashing slots
    /// (AUTHD_HASHING_THREADS): the median of 21 hashes.
    HashTime,
    /// Do what the admin API does, from a shell; prints JSON.
    ///
    /// Against the stores the settings name (the service's own: run it with
    /// the same AUTHD_DATABASE_URL and AUTHD_REDIS_URL); each change is
    /// logged with the label `cli`. Refuses a SQLite database that does not
    /// exist yet.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
}

/// The algorithms `authd keygen` makes keys for.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KeyAlgorithm {
    /// Ed25519 (the default).
    #[value(name = "EdDSA")]
    EdDsa,
    /// ECDSA on P-256.
    #[value(name = "ES256")]
    Es256,
    /// RSA, 2048 bits.
    #[value(name = "RS256")]
    Rs256,
}

impl From<KeyAlgorithm> for JwtAlgorithm {
    fn from(alg: KeyAlgorithm) -> Self {
        match alg {
            KeyAlgorithm::EdDsa => JwtAlgorithm::EdDSA,
            KeyAlgorithm::Es256 => JwtAlgorithm::ES256,
            KeyAlgorithm::Rs256 => JwtAlgorithm::RS256,
        }
    }
}

/// One action of the admin API.
#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// List users by id: `{"users": [...], "next_cursor"}`.
    List {
        /// Only users whose email starts with this.
        #[arg(long, value_name = "PREFIX")]
        email_prefix: Option<String>,
        /// The `next_cursor` of the page before.
        #[arg(long, value_name = "CURSOR")]
        cursor: Option<String>,
        /// Users per page, 1 to 200.
        #[arg(long, value_name = "N", default_value_t = 50,
              value_parser = clap::value_parser!(i64).range(1..=authd::auth::MAX_PAGE))]
        limit: i64,
    },
    /// Show a user: the account and its live sessions.
    Show(UserId),
    /// Disable a user: no login, and every session ends.
    Disable(UserId),
    /// Enable a disabled user again.
    Enable(UserId),
    /// End every session of a user.
    LogoutAll(UserId),
    /// Mark a user's email address verified.
    VerifyEmail(UserId),
    /// Remove a user's second factors and passkeys (the way back for one
    /// who lost them all); a notice is mailed.
    RemoveFactors(UserId),
    /// Delete a user, with every session.
    Delete(UserId),
}

#[derive(Debug, clap::Args)]
pub struct UserId {
    /// The user's id (a UUID, as `authd admin list` prints it).
    #[arg(value_name = "USER_ID")]
    pub id: String,
}

impl AdminAction {
    /// The name of the action, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Self::List { .. } => "list",
            Self::Show(_) => "show",
            Self::Disable(_) => "disable",
            Self::Enable(_) => "enable",
            Self::LogoutAll(_) => "logout-all",
            Self::VerifyEmail(_) => "verify-email",
            Self::RemoveFactors(_) => "remove-factors",
            Self::Delete(_) => "delete",
        }
    }
}

/// What the command line asks for, or what to print and the exit code
/// (help and `--version`: 0 on stdout; a wrong or missing argument: one
/// line on stderr, 2).
pub fn parse() -> Result<Command, (String, i32)> {
    parse_from(std::env::args_os())
}

fn parse_from<I, T>(args: I) -> Result<Command, (String, i32)>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let command = Cli::command().after_long_help(settings_help());
    let parsed = command
        .try_get_matches_from(&args)
        .and_then(|matches| Cli::from_arg_matches(&matches));
    match parsed {
        Ok(cli) => Ok(cli.command.unwrap_or(Command::Serve)),
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                Err((e.render().to_string(), e.exit_code()))
            }
            _ => Err((format!("{}\n", one_line(&e, &args)), 2)),
        },
    }
}

/// A wrong command line on one line: clap's error and its details (no
/// tips, unless one suggests a similar name), the usage when clap gives
/// it, and the help to read.
fn one_line(e: &clap::Error, args: &[std::ffi::OsString]) -> String {
    let (path, subcommands) = subcommand_of(args);
    let more = format!("`{path} --help` says more");
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return format!(
            "authd: `{path}` needs one of {} ({more})",
            subcommands.join(", ")
        );
    }
    let rendered = e.render().to_string();
    let mut parts: Vec<&str> = Vec::new();
    let mut usage = None;
    for line in rendered.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(text) = line.strip_prefix("Usage:") {
            usage = Some(text.trim());
            break;
        }
        match line.strip_prefix("tip:") {
            Some(tip) if tip.contains("similar") => parts.push(tip.trim()),
            Some(_) => {}
            None if line.starts_with("For more information") => {}
            None => parts.push(line.trim_start_matches("error:").trim()),
        }
    }
    let text = parts.join(" ").replace(" a similar", "; a similar");
    match usage {
        Some(usage) => format!("authd: {text} (usage: {usage}; {more})"),
        None => format!("authd: {text} ({more})"),
    }
}

/// The subcommand `args` name (`authd admin show`), and its own
/// subcommands' names.
fn subcommand_of(args: &[std::ffi::OsString]) -> (String, Vec<String>) {
    let mut command = Cli::command();
    let mut path = vec!["authd".to_string()];
    for arg in args.iter().skip(1).filter_map(|a| a.to_str()) {
        if arg.starts_with('-') {
            continue;
        }
        match command.find_subcommand(arg).cloned() {
            Some(sub) => {
                path.push(sub.get_name().to_string());
                command = sub;
            }
            None => break,
        }
    }
    let subcommands = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    (path.join(" "), subcommands)
}

/// The settings' part of `authd --help`.
fn settings_help() -> String {
    format!(
        "Settings: AUTHD_* variables, from the environment or a .env file in the working\n\
         directory (.env.example lists them too), by what they configure; each with\n\
         [its default], empty when unset, and what it does.\n\n{}",
        Settings::help()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(args: &[&str]) -> (String, i32) {
        let args = std::iter::once("authd").chain(args.iter().copied());
        match parse_from(args) {
            Ok(command) => panic!("{command:?}"),
            Err(out) => out,
        }
    }

    #[test]
    fn no_subcommand_serves() {
        assert!(matches!(parse_from(["authd"]), Ok(Command::Serve)));
    }

    #[test]
    fn errors_are_one_line_naming_the_usage() {
        for args in [
            &["admin", "show"][..],
            &["--frobnicate"],
            &["keygen", "--alg", "HS512"],
            &["admin"],
            &["admin", "list", "--limit", "0"],
            &["frobnicate"],
        ] {
            let (text, code) = error_of(args);
            assert_eq!(code, 2, "{args:?}");
            assert_eq!(text.lines().count(), 1, "{args:?}: {text}");
            assert!(text.starts_with("authd: "), "{text}");
            assert!(text.contains("--help"), "{text}");
        }
        let (text, _) = error_of(&["admin", "show"]);
        assert!(text.contains("<USER_ID>"), "{text}");
        assert!(text.contains("`authd admin show --help`"), "{text}");
        let (text, _) = error_of(&["admin"]);
        assert!(text.contains("list, show, disable"), "{text}");
        let (text, _) = error_of(&["keygen", "--alg", "HS512"]);
        assert!(text.contains("EdDSA, ES256, RS256"), "{text}");
        assert!(text.contains("`authd keygen --help`"), "{text}");
        assert!(!text.contains("For more information"), "{text}");
    }

    #[test]
    fn declared_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
