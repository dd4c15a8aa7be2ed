//! The `authd` binary: `authd` serves, `authd keygen` prints a key.

use std::process::ExitCode;

use authd::app::config::Settings;
use authd::app::startup::assemble;
use authd::app::startup::Application;
use authd::jwt::{generate_private_key_pem, JwtAlgorithm};

const HELP: &str = "\
authd: login, short-lived JWT access tokens, rotating refresh tokens

USAGE:
    authd                         run the service (settings from AUTHD_* and .env)
    authd keygen [--alg ALG]      print a fresh PKCS#8 PEM private key
                                  ALG: EdDSA (default), ES256, RS256
    authd hash-time               time Argon2id here: the login ceiling
    authd admin list [--email-prefix P] [--cursor C] [--limit N]
    authd admin show|disable|enable|logout-all|verify-email|remove-factors|delete USER_ID
                                  the admin API's actions, from a shell (same
                                  settings as the service; logged as `cli`)
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
        Some("admin") => admin(&args[1..]),
        Some(other) => {
            eprintln!("authd: unknown argument `{other}`; see `authd --help`");
            ExitCode::from(2)
        }
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

/// `authd admin …`: one admin action against the stores the settings name,
/// printed as JSON.
fn admin(args: &[String]) -> ExitCode {
    let _ = dotenvy::dotenv();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("authd: configuration error: {e}");
            return ExitCode::from(EX_CONFIG);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("authd admin: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let public_url = settings
            .server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", settings.server.bind));
        let assembled = match assemble(&settings, &public_url).await {
            Ok(assembled) => assembled,
            Err(e) => {
                eprintln!("authd admin: cannot reach the stores: {e}");
                return ExitCode::from(EX_CONFIG);
            }
        };
        let auth = &assembled.auth;
        let flag = |name: &str| {
            args.iter()
                .position(|a| a == name)
                .and_then(|i| args.get(i + 1))
                .map(String::as_str)
        };
        let outcome = match args.first().map(String::as_str) {
            Some("list") => {
                let limit = flag("--limit").and_then(|n| n.parse().ok());
                auth.admin_list_users(flag("--cursor"), limit, flag("--email-prefix"))
                    .await
                    .map(|page| {
                        let users: Vec<_> = page
                            .users
                            .into_iter()
                            .map(|u| {
                                serde_json::json!({
                                    "id": u.id.to_string(), "email": u.email,
                                    "email_verified": u.email_verified, "disabled": u.disabled,
                                })
                            })
                            .collect();
                        serde_json::json!({ "users": users, "next_cursor": page.next_cursor })
                    })
            }
            Some("show") if args.len() == 2 => auth.admin_user(&args[1]).await.map(|u| {
                serde_json::json!({
                    "id": u.user.id.to_string(), "email": u.user.email,
                    "email_verified": u.user.email_verified, "disabled": u.user.disabled,
                    "sessions": u.sessions.iter().map(|s| s.id.to_string()).collect::<Vec<_>>(),
                })
            }),
            Some(action) if args.len() == 2 => {
                let id = &args[1];
                let done = match action {
                    "disable" => auth.admin_disable("cli", id).await,
                    "enable" => auth.admin_enable("cli", id).await,
                    "logout-all" => auth.admin_logout_all("cli", id).await,
                    "verify-email" => auth.admin_verify_email("cli", id).await,
                    "remove-factors" => auth.admin_remove_factors("cli", id).await,
                    "delete" => auth.admin_delete("cli", id).await,
                    _ => {
                        eprintln!("authd admin: unknown action `{action}`; see `authd --help`");
                        return ExitCode::from(2);
                    }
                };
                done.map(|()| serde_json::json!({ "done": action }))
            }
            _ => {
                eprintln!("authd admin: see `authd --help` for the actions");
                return ExitCode::from(2);
            }
        };
        assembled.connections.close().await;
        match outcome {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(authd::auth::AuthError::NotFound) => {
                eprintln!("authd admin: no such user");
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("authd admin: {}", authd::common::error_chain(&e));
                ExitCode::FAILURE
            }
        }
    })
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
