//! `authd admin …`: one admin action against the stores the settings name,
//! printed as JSON.

use std::process::ExitCode;

use authd::app::config::Settings;
use authd::app::startup::assemble;
use authd::auth::{Auth, AuthError};
use authd::connections::sqlite_file;

use crate::cli::AdminAction;
use crate::EX_CONFIG;

/// The label admin actions from a shell are logged with.
const LABEL: &str = "cli";

pub fn run(action: &AdminAction) -> ExitCode {
    let _ = dotenvy::dotenv();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("authd: configuration error: {e}");
            return ExitCode::from(EX_CONFIG);
        }
    };
    // Connecting would create a missing SQLite file: an empty database
    // that answers every question with "no such user".
    if let Some(file) = sqlite_file(settings.database.url.expose()) {
        if !file.exists() {
            eprintln!(
                "authd admin: there is no database at {} (AUTHD_DATABASE_URL): start the service once with `authd` to create it, or set AUTHD_DATABASE_URL to the service's database",
                file.display()
            );
            return ExitCode::FAILURE;
        }
    }
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
        let outcome = act(&assembled.auth, action).await;
        assembled.connections.close().await;
        match outcome {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(AuthError::NotFound) => {
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

async fn act(auth: &Auth, action: &AdminAction) -> Result<serde_json::Value, AuthError> {
    let done = match action {
        AdminAction::List {
            email_prefix,
            cursor,
            limit,
        } => {
            let page = auth
                .admin_list_users(cursor.as_deref(), Some(*limit), email_prefix.as_deref())
                .await?;
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
            return Ok(serde_json::json!({ "users": users, "next_cursor": page.next_cursor }));
        }
        AdminAction::Show(user) => {
            let u = auth.admin_user(&user.id).await?;
            return Ok(serde_json::json!({
                "id": u.user.id.to_string(), "email": u.user.email,
                "email_verified": u.user.email_verified, "disabled": u.user.disabled,
                "sessions": u.sessions.iter().map(|s| s.id.to_string()).collect::<Vec<_>>(),
            }));
        }
        AdminAction::Disable(user) => auth.admin_disable(LABEL, &user.id).await,
        AdminAction::Enable(user) => auth.admin_enable(LABEL, &user.id).await,
        AdminAction::LogoutAll(user) => auth.admin_logout_all(LABEL, &user.id).await,
        AdminAction::VerifyEmail(user) => auth.admin_verify_email(LABEL, &user.id).await,
        AdminAction::RemoveFactors(user) => auth.admin_remove_factors(LABEL, &user.id).await,
        AdminAction::Delete(user) => auth.admin_delete(LABEL, &user.id).await,
    };
    done.map(|()| serde_json::json!({ "done": action.name() }))
}
