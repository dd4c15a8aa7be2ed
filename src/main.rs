//! The `authd` binary: `authd` serves, `authd keygen` prints a key.

use std::process::ExitCode;

use authd::app::config::Settings;
use authd::app::startup::Application;
use authd::jwt::{generate_private_key_pem, JwtAlgorithm};

const HELP: &str = "\
authd: login, short-lived JWT access tokens, rotating refresh tokens

USAGE:
    authd                         run the service (settings from AUTHD_* and .env)
    authd keygen [--alg ALG]      print a fresh PKCS#8 PEM private key
                                  ALG: EdDSA (default), ES256, RS256
    authd hash-time               time Argon2id here: the login ceiling
    authd --help | --version

SETTINGS (environment, defaults in brackets; see .env.example):
";

/// sysexits.h EX_CONFIG: the settings (or what they point at) are wrong.
const EX_CONFIG: u8 = 78;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => serve(),
        Some("-h" | "--help" | "help") => {
            print!("{HELP}{}", Settings::help());
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!("authd {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Some("keygen") => keygen(&args[1..]),
        Some("hash-time") => hash_time(),
        Some(other) => {
            eprintln!("authd: unknown argument `{other}`; see `authd --help`");
            ExitCode::from(2)
        }
    }
}

/// Prints the median Argon2id time on this machine and the most logins per
/// second the hashing slots allow.
fn hash_time() -> ExitCode {
    use authd::users::hasher::{hashing_slots, PasswordHasher};
    match PasswordHasher::time_hash(21) {
        Ok(one) => {
            let slots = hashing_slots();
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

fn keygen(args: &[String]) -> ExitCode {
    let alg = match args {
        [] => JwtAlgorithm::EdDSA,
        [flag, alg] if flag == "--alg" => {
            match alg.parse::<JwtAlgorithm>() {
                Ok(JwtAlgorithm::HS256) | Err(_) => {
                    eprintln!("authd keygen: --alg takes EdDSA, ES256 or RS256 (HS256 uses AUTHD_JWT_SECRET)");
                    return ExitCode::from(2);
                }
                Ok(alg) => alg,
            }
        }
        _ => {
            eprintln!("authd keygen: usage: authd keygen [--alg EdDSA|ES256|RS256]");
            return ExitCode::from(2);
        }
    };
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
