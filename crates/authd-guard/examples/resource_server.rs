//! A resource server that accepts authd's access tokens with `authd-guard`:
//! `GET /hello` is open, everything under `/api` needs a valid token of a
//! live session.
//!
//!     AUTHD_URL=http://127.0.0.1:8080 AUTHD_GUARD_REVOCATION=redis \
//!     AUTHD_GUARD_REDIS_URL=redis://127.0.0.1:6379 \
//!     cargo run -p authd-guard --example resource_server
//!
//! Settings: `AUTHD_URL`, `AUTHD_GUARD_*` (see docs/clients.md) and `BIND`
//! (default `127.0.0.1:8081`). Prints `listening on http://<address>`.

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

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    env_logger::init_from_env(env_logger::Env::default().default_filter_or("warn"));
    let config = GuardConfig::from_env().map_err(std::io::Error::other)?;
    let guard = config.build().await.map_err(std::io::Error::other)?;
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:8081".into());
    let server = HttpServer::new(move || {
        App::new().route("/hello", web::get().to(hello)).service(
            web::scope("/api")
                .wrap(RequireToken::new(guard.clone()))
                .route("/whoami", web::get().to(whoami)),
        )
    })
    .bind(&bind)?;
    for address in server.addrs() {
        println!("listening on http://{address}");
    }
    server.run().await
}
