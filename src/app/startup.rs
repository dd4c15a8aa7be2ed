//! Builds the application: keys, stores, the route table, and a listener
//! bound before the server starts so tests can ask for port 0.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Condition, ErrorHandlers};
use actix_web::{web, App, HttpServer};

use crate::app::config::{ConfigError, Environment, Settings};
use authd_guard::RequireToken;

use crate::auth::{AccessTokenCheck, AdminCallers, Auth, FactorServices, IntrospectionCallers};
use crate::common::sealing::Sealer;
use crate::common::telemetry;
use crate::connections::{Connections, Durability};
use crate::factors::{Challenges, RelyingParty, StandIns};
use crate::federation::{Federation, Flows, NonceLog};
use crate::http::body::MAX_BODY_BYTES;
use crate::http::error::render_framework_error;
use crate::http::mount::Guards;
use crate::http::routes;
use crate::http::state::AppState;
use crate::http::{cors, observe, request_id};
use crate::jwt::{AccessTokens, KeySet};
use crate::mail::{Mailer, Sender};
use crate::sessions::{ProofLog, SessionStore};
use crate::throttle::Throttle;
use crate::users::{PasswordHasher, UserStore};

pub struct Application {
    port: u16,
    server: Server,
    /// `/metrics` on its own listener (`AUTHD_METRICS_BIND`), and its port.
    metrics: Option<(Server, u16)>,
    state: web::Data<AppState>,
    mail_task: tokio::task::JoinHandle<()>,
}

/// The rules and the connections they run on, as the service uses them:
/// what `Application::build` serves, and what tests of the rules call
/// directly, without HTTP.
/// What `assemble` builds: the rules, the connections they run on, and the
/// mail sender that delivers what they queue (not yet running).
pub struct Assembled {
    pub auth: Auth,
    pub connections: Connections,
    pub mail_sender: Sender,
}

/// `public_url`: where clients reach authd (links in mail point under it).
pub async fn assemble(settings: &Settings, public_url: &str) -> Result<Assembled, ConfigError> {
    let jwt = &settings.jwt;
    let keys = KeySet::load(
        jwt.algorithm,
        &settings.signing_key()?,
        &jwt.verify_key_files,
    )?;
    if keys.ephemeral {
        log::warn!(
            "no signing key configured: using an ephemeral {} key, so access tokens stop verifying when this process ends (sessions and refresh tokens live in Redis and go on: clients refresh for new access tokens); for keys that survive a restart, run `authd keygen > authd-key.pem` and set AUTHD_JWT_PRIVATE_KEY_FILE=authd-key.pem",
            jwt.algorithm.as_str()
        );
    }
    let cache_entries = settings.guard_cache.cache_entries;
    let access_tokens = AccessTokens::new(keys, jwt, cache_entries);

    let redis = &settings.redis;
    let database = &settings.database;
    if settings.server.environment == Environment::Production {
        for warning in crate::connections::store_transport_warnings(&redis.url, &database.url) {
            log::warn!("{warning}");
        }
    }
    // Session liveness is tracked only where the guard asks for it.
    let tracked = match settings.auth.tokens.access_token_check {
        AccessTokenCheck::Session => cache_entries,
        AccessTokenCheck::Signature => 0,
    };
    let connections = Connections::open(database, redis, redis.ca()?, tracked)
        .await
        .map_err(|e| match e {
            crate::connections::ConnectError::Redis(e) => ConfigError::new("AUTHD_REDIS_URL", e),
            e => ConfigError::new("AUTHD_DATABASE_URL", e.to_string()),
        })?;
    // A login waits for a hashing slot no longer than for the database.
    let params = settings
        .hashing
        .params(settings.server.environment == Environment::Production)?;
    let hasher = PasswordHasher::new(database.timeout, settings.hashing.threads(), params)
        .map_err(|e| ConfigError::new("argon2", e))?;
    log::info!(
        "password hashing: {} at a time, {} MiB of Argon2 working memory each",
        hasher.slots(),
        hasher.memory_per_slot() / (1024 * 1024)
    );
    let throttle = Throttle::new(connections.redis.clone(), &redis.prefix, &settings.throttle);
    let sessions = SessionStore::new(
        connections.redis.clone(),
        connections.liveness.clone(),
        &redis.prefix,
        &settings.sessions,
    )
    .with_durability(durability(settings));
    let production = settings.server.environment == Environment::Production;
    let sealer = Arc::new(Sealer::load(
        settings.factors.encryption_key_file.as_deref(),
        production,
    )?);
    let (mailer, mail_sender) = Mailer::new(
        connections.sql.clone(),
        &settings.mail,
        public_url,
        sealer.clone(),
    )?;
    // Stand-ins must not change when the signing key rotates (the real
    // credentials would not): from the encryption key when there is one.
    let stand_ins = StandIns::new(
        sealer
            .derive("passkey stand-ins")
            .unwrap_or(access_tokens.keys().stand_in_key),
    );
    let factors = second_factors(settings, &connections, sealer, stand_ins).await?;
    let auth = Auth::new(
        UserStore::new(connections.sql.clone()),
        hasher,
        sessions,
        throttle,
        access_tokens,
        mailer,
        &settings.auth,
        ProofLog::new(connections.redis.clone(), &redis.prefix),
        settings.server.public_url.clone(),
        factors,
        Federation::new(
            settings.providers.clone(),
            NonceLog::new(connections.redis.clone(), &redis.prefix),
            Flows::new(connections.redis.clone(), &redis.prefix),
            settings.federation.redirect_urls.clone(),
            settings.server.public_url.as_deref(),
        ),
    );
    Ok(Assembled {
        auth,
        connections,
        mail_sender,
    })
}

/// `AUTHD_REDIS_MIN_REPLICAS` ≥ 1: what every change of session and
/// second-factor state waits for.
fn durability(settings: &Settings) -> Option<Durability> {
    let redis = &settings.redis;
    (redis.min_replicas > 0).then(|| Durability {
        replicas: redis.min_replicas,
        // WAIT answers (good or bad) well inside the client's own budget.
        wait_ms: (redis.timeout.as_millis() as u64 / 2).max(1),
    })
}

/// TOTP sealing, the WebAuthn relying party and the second-factor state.
/// Production refuses to start without `AUTHD_ENCRYPTION_KEY_FILE` once a
/// user has a TOTP secret: it could not open it.
async fn second_factors(
    settings: &Settings,
    connections: &Connections,
    sealer: Arc<Sealer>,
    stand_ins: StandIns,
) -> Result<FactorServices, ConfigError> {
    let factors = &settings.factors;
    let production = settings.server.environment == Environment::Production;
    if !sealer.keyed() {
        let users = UserStore::new(connections.sql.clone());
        let enrolled = users
            .any_totp()
            .await
            .map_err(|e| ConfigError::new("AUTHD_DATABASE_URL", crate::common::error_chain(&e)))?;
        if production && enrolled {
            return Err(ConfigError::new(
                "AUTHD_ENCRYPTION_KEY_FILE",
                "users have TOTP secrets sealed at rest: set the file of the key that sealed them",
            ));
        }
        if enrolled {
            log::warn!("AUTHD_ENCRYPTION_KEY_FILE is unset: TOTP secrets are stored unsealed (development only)");
        }
    }
    Ok(FactorServices {
        sealer,
        relying_party: RelyingParty::new(factors, settings.server.public_url.as_deref())?,
        challenges: Challenges::new(
            connections.redis.clone(),
            &settings.redis.prefix,
            durability(settings),
        ),
        issuer: factors.webauthn_rp_name.clone(),
        stand_ins,
    })
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, ConfigError> {
        // The listener first (it serves nothing until the server runs):
        // links in mail point at AUTHD_PUBLIC_URL, or at the address taken,
        // whose port is the real one when AUTHD_BIND asks for any (port 0).
        let listener = TcpListener::bind(settings.server.bind).map_err(|e| {
            ConfigError::new(
                "AUTHD_BIND",
                format!("cannot listen on {}: {e}", settings.server.bind),
            )
        })?;
        let address = listener
            .local_addr()
            .map_err(|e| ConfigError::new("AUTHD_BIND", e.to_string()))?;
        let public_url = settings
            .server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));
        let Assembled {
            auth,
            connections,
            mail_sender,
        } = assemble(&settings, &public_url).await?;
        connections
            .warn_about_redis(settings.redis.min_replicas)
            .await;
        for warning in settings.startup_warnings() {
            log::warn!("{warning}");
        }
        // Delivers queued mail until the application stops.
        let mail_task = tokio::spawn(mail_sender.run());
        let introspection = IntrospectionCallers::new(&settings.auth.tokens.introspection_secrets);
        let state = web::Data::new(AppState {
            auth,
            connections,
            trusted_proxies: settings.server.trusted_proxies.clone(),
            metadata: routes::oauth::metadata_json(
                settings.metadata_issuer(),
                &public_url,
                introspection.is_some(),
                settings.sessions.reuse_grace.as_secs(),
            ),
            introspection,
            admin: AdminCallers::new(&settings.auth.accounts.admin_secrets),
            pages_title: settings.server.pages_title.clone(),
        });
        log::info!("authd listening on http://{address}");

        let metrics = match settings.server.metrics_bind {
            Some(bind) => Some(metrics_server(bind)?),
            None => None,
        };
        let metrics_here = metrics.is_none();
        let shared = state.clone();
        let cors_origins = settings.server.cors_origins.clone();
        let guards = Guards {
            require: RequireToken::new(Arc::new(state.auth.guard())),
            enrol: RequireToken::new(Arc::new(state.auth.enrolment_guard())),
        };
        let server = HttpServer::new(move || {
            // Runs once on each worker thread.
            crate::connections::serve_from_this_thread();
            App::new()
                .app_data(shared.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                // Inside the error renderer, which keeps its headers.
                .wrap(cors::middleware(&cors_origins))
                .wrap(Condition::new(
                    !cors_origins.is_empty(),
                    from_fn(cors::fit_to_contract),
                ))
                .wrap(ErrorHandlers::new().default_handler(render_framework_error))
                // After the response, inside the request id's scope.
                .wrap(from_fn(observe::record))
                .wrap(from_fn(request_id::assign))
                .configure(|cfg| routes::configure(cfg, &guards, metrics_here))
        })
        .listen(listener)
        .map_err(|e| ConfigError::new("AUTHD_BIND", e.to_string()))?
        .shutdown_timeout(10)
        .run();

        telemetry::handle();
        Ok(Self {
            port: address.port(),
            server,
            metrics,
            state,
            mail_task,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the metrics listener, when `AUTHD_METRICS_BIND` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }

    /// The state handlers share; tests read counters from it.
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until SIGTERM/SIGINT (or the server handle stops it): then
    /// stops accepting, lets in-flight requests finish (10 s at most), and
    /// closes the store pools.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics.map(|(server, _)| {
            let handle = server.handle();
            (tokio::spawn(server), handle)
        });
        let served = self.server.await;
        if let Some((task, handle)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        // Mail it holds is released when its lease runs out.
        self.mail_task.abort();
        log::info!("authd stopped serving; closing pools");
        self.state.connections.close().await;
        served
    }
}

/// `/metrics` alone, on its own address: only whoever reaches that address
/// (a Prometheus on a private network) sees the counters.
fn metrics_server(bind: SocketAddr) -> Result<(Server, u16), ConfigError> {
    let listener = TcpListener::bind(bind).map_err(|e| {
        ConfigError::new(
            "AUTHD_METRICS_BIND",
            format!("cannot listen on {bind}: {e}"),
        )
    })?;
    let port = listener
        .local_addr()
        .map_err(|e| ConfigError::new("AUTHD_METRICS_BIND", e.to_string()))?
        .port();
    let server = HttpServer::new(|| {
        App::new()
            .configure(routes::metrics::configure)
            .default_service(web::to(routes::not_found))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)
    .map_err(|e| ConfigError::new("AUTHD_METRICS_BIND", e.to_string()))?
    .run();
    log::info!("metrics on http://{bind}/metrics");
    Ok((server, port))
}
