//! The `authd` binary: `authd` (or `authd serve`) serves, `authd keygen`
//! prints a key, `authd hash-time` times a password hash, `authd admin …`
//! runs an admin action. The command line is declared in `cli.rs`; the
//! admin actions run in `cli_admin.rs`.

use std::process::ExitCode;

use authd::app::config::Settings;
use authd::app::startup::Application;
use authd::jwt::{generate_private_key_pem, JwtAlgorithm};

mod cli;
mod cli_admin;

use cli::Command;

/// sysexits.h EX_CONFIG: the settings (or what they point at) are wrong.
const EX_CONFIG: u8 = 78;

fn main() -> ExitCode {
    let command = match cli::parse() {
        Ok(command) => command,
        // Help and --version on stdout (0); a wrong argument on stderr (2).
        Err((text, 0)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err((text, code)) => {
            eprint!("{text}");
            return ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    match command {
        Command::Serve => serve(),
        Command::Keygen { alg } => keygen(alg.into()),
        Command::HashTime => hash_time(),
        Command::Admin { action } => cli_admin::run(&action),
    }
}

/// Prints the median Argon2id time on this machine and the most logins per
/// second the hashing slots allow.
fn hash_time() -> ExitCode {
    use authd::common::settings::Vars;
    use authd::users::{HashingSettings, PasswordHasher};
    // The configured parameters and pool (AUTHD_ARGON2_*, AUTHD_HASHING_THREADS).
    let hashing = match HashingSettings::read(&Vars::new(std::env::vars())) {
        Ok(hashing) => hashing,
        Err(e) => {
            eprintln!("authd hash-time: {e}");
            return ExitCode::FAILURE;
        }
    };
    let timed = hashing
        .params(false)
        .map_err(|e| e.to_string())
        .and_then(|params| PasswordHasher::time_hash(21, &params));
    match timed {
        Ok(one) => {
            let slots = hashing.threads();
            let ms = one.as_secs_f64() * 1000.0;
            println!(
                "argon2id: {ms:.1} ms per hash (median of 21); {slots} hashing slot(s): at most {:.0} logins/s",
                slots as f64 * 1000.0 / ms
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("authd hash-time: {e}");
            ExitCode::FAILURE
        }
    }
}

fn keygen(alg: JwtAlgorithm) -> ExitCode {
    match generate_private_key_pem(alg) {
        Ok(pem) => {
            print!("{pem}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("authd keygen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve() -> ExitCode {
    // A missing .env is normal; a malformed one is reported by the settings.
    let _ = dotenvy::dotenv();
    authd::app::logging::init();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("authd: configuration error: {e}");
            return ExitCode::from(EX_CONFIG);
        }
    };
    actix_web::rt::System::new().block_on(async {
        let app = match Application::build(settings).await {
            Ok(app) => app,
            Err(e) => {
                eprintln!("authd: cannot start: {e}");
                return ExitCode::from(EX_CONFIG);
            }
        };
        match app.run_until_stopped().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("authd: stopped serving after an error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
