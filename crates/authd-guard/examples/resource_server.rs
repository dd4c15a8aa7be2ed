//! A resource server that accepts authd's access tokens with `authd-guard`:
//! `GET /hello` is open, everything under `/api` needs a valid token of a
//! live session.
//!
//!     AUTHD_URL=http://127.0.0.1:8080 AUTHD_GUARD_REVOCATION=redis \
//!     AUTHD_GUARD_REDIS_URL=redis://127.0.0.1:6379 \
//!     cargo run -p authd-guard --example resource_server
//!
//! Settings: `AUTHD_URL`, `AUTHD_GUARD_*` (see docs/clients.md) and `BIND`
//! (default `127.0.0.1:8081`). Prints `listening on http://<address>`; a
//! bad setting stops it with one line naming the variable (exit 78).

use std::process::ExitCode;

use actix_web::{web, App, HttpResponse, HttpServer};
use authd_guard::{GuardConfig, Identity, RequireToken};

async fn hello() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "hello": "world" }))
}

/// `Identity` is the extractor: the user and session the token names.
async fn whoami(who: Identity) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "user_id": who.user_id,
        "session_id": who.session_id,
    }))
}

fn main() -> ExitCode {
    env_logger::init_from_env(env_logger::Env::default().default_filter_or("warn"));
    // A setting (or what it points at) that keeps the server from starting:
    // one line naming it, and sysexits.h EX_CONFIG; any other failure: 1.
    match actix_web::rt::System::new().block_on(serve()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Config(e)) => {
            eprintln!("resource_server: configuration error: {e}");
            ExitCode::from(78)
        }
        Err(Failure::Io(e)) => {
            eprintln!("resource_server: {e}");
            ExitCode::FAILURE
        }
    }
}

enum Failure {
    Config(String),
    Io(String),
}

async fn serve() -> Result<(), Failure> {
    let config = GuardConfig::from_env().map_err(|e| Failure::Config(e.to_string()))?;
    let guard = config
        .build()
        .await
        .map_err(|e| Failure::Config(e.to_string()))?;
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8081".into());
    let server = HttpServer::new(move || {
        App::new().route("/hello", web::get().to(hello)).service(
            web::scope("/api")
                .wrap(RequireToken::new(guard.clone()))
                .route("/whoami", web::get().to(whoami)),
        )
    })
    .bind(&bind)
    .map_err(|e| Failure::Config(format!("BIND: cannot listen on {bind}: {e}")))?;
    for address in server.addrs() {
        println!("listening on http://{address}");
    }
    server
        .run()
        .await
        .map_err(|e| Failure::Io(format!("stopped serving: {e}")))
}
