//! An OpenID provider for the native flow's tests: a real HTTP server on a
//! free port of 127.0.0.1 serving a discovery document and a JWKS, with
//! RSA keys of its own to mint ID tokens shaped like Apple's or Google's.
//! It counts its JWKS fetches, can rotate its key, and can be taken down
//! (every answer a 503) and brought back. For the web flow it has an
//! `/authorize` that signs in the user it was told to at once (consent
//! given) and a `/token` that checks the code, the redirect URI, the client
//! id and secret and the PKCE verifier before it mints the ID token.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use actix_web::{web, App, HttpResponse, HttpServer};
use authd::jwt::{generate_private_key_pem, JwtAlgorithm};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A signing key of the provider: its `kid`, the private half to mint
/// with and the public JWK it publishes.
#[derive(Clone)]
pub struct ProviderKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub jwk: Jwk,
}

impl ProviderKey {
    /// RSA keys take a moment to make: the process's first few are kept.
    fn nth(n: usize) -> Self {
        static PEMS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
        let pem = {
            let mut pems = PEMS
                .get_or_init(|| Mutex::new(Vec::new()))
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            while pems.len() <= n {
                pems.push(generate_private_key_pem(JwtAlgorithm::RS256).expect("RSA keygen"));
            }
            pems[n].clone()
        };
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).expect("RSA key");
        let kid = format!("key-{n}-{}", uuid::Uuid::new_v4().simple());
        let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).expect("JWK");
        jwk.common.key_id = Some(kid.clone());
        jwk.common.public_key_use = Some(PublicKeyUse::Signature);
        jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
        Self { kid, encoding, jwk }
    }
}

/// A code the provider's `/authorize` handed out, waiting for `/token`.
struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: String,
    code_challenge: String,
    claims: Value,
}

struct Shared {
    issuer: String,
    /// Who `/authorize` signs in (consent given at once): extra claims of
    /// the ID token (`sub`, `email`, …).
    user: Mutex<Option<Value>>,
    /// What `/token` requires as `client_secret` (none: no check).
    client_secret: Mutex<Option<String>>,
    /// The `client_secret` `/token` was last sent.
    last_client_secret: Mutex<Option<String>>,
    grants: Mutex<std::collections::HashMap<String, Grant>>,
    /// Every `/authorize` query, as received.
    authorizations: Mutex<Vec<std::collections::HashMap<String, String>>>,
    /// Published, newest last; tokens are signed with the newest.
    keys: Mutex<Vec<ProviderKey>>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
    down: AtomicBool,
    /// Publish keys without `alg`, as some providers do.
    without_alg: AtomicBool,
}

pub struct TestProvider {
    pub issuer: String,
    shared: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
    keys_made: AtomicUsize,
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { handle.stop(false).await });
        }
    }
}

async fn discovery(shared: web::Data<Arc<Shared>>) -> HttpResponse {
    if shared.down.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().finish();
    }
    shared.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    let issuer = &shared.issuer;
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code", "id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(shared: web::Data<Arc<Shared>>) -> HttpResponse {
    if shared.down.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().finish();
    }
    shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let without_alg = shared.without_alg.load(Ordering::SeqCst);
    let keys = shared
        .keys
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|k| {
            let mut jwk = k.jwk.clone();
            if without_alg {
                jwk.common.key_algorithm = None;
            }
            jwk
        })
        .collect();
    HttpResponse::Ok().json(JwkSet { keys })
}

async fn authorize(
    shared: web::Data<Arc<Shared>>,
    query: web::Query<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    let q = query.into_inner();
    shared
        .authorizations
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(q.clone());
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    let Some(claims) = shared
        .user
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
    else {
        return HttpResponse::BadRequest().body("nobody to sign in");
    };
    if get("response_type") != "code" || get("code_challenge_method") != "S256" {
        return HttpResponse::BadRequest().body("response_type=code and S256 PKCE only");
    }
    let code = uuid::Uuid::new_v4().simple().to_string();
    shared
        .grants
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(
            code.clone(),
            Grant {
                client_id: get("client_id"),
                redirect_uri: get("redirect_uri"),
                nonce: get("nonce"),
                code_challenge: get("code_challenge"),
                claims,
            },
        );
    let location = format!(
        "{}?code={code}&state={}",
        get("redirect_uri"),
        urlencode(&get("state"))
    );
    HttpResponse::Found()
        .insert_header(("location", location))
        .finish()
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn token(
    shared: web::Data<Arc<Shared>>,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> HttpResponse {
    if shared.down.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().finish();
    }
    let f = form.into_inner();
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    *shared
        .last_client_secret
        .lock()
        .unwrap_or_else(|p| p.into_inner()) = f.get("client_secret").cloned();
    let refuse = |why: &str| {
        HttpResponse::BadRequest().json(json!({"error": "invalid_grant", "error_description": why}))
    };
    let Some(grant) = shared
        .grants
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&get("code"))
    else {
        return refuse("unknown code");
    };
    if get("grant_type") != "authorization_code"
        || get("redirect_uri") != grant.redirect_uri
        || get("client_id") != grant.client_id
    {
        return refuse("grant_type, redirect_uri or client_id");
    }
    let challenge = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(get("code_verifier").as_bytes()))
    };
    if challenge != grant.code_challenge {
        return refuse("code_verifier");
    }
    let expected = shared
        .client_secret
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if expected.is_some_and(|secret| secret != get("client_secret")) {
        return HttpResponse::Unauthorized().json(json!({"error": "invalid_client"}));
    }
    let key = shared
        .keys
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .last()
        .cloned()
        .expect("a key");
    let now = now();
    let mut claims = json!({
        "iss": shared.issuer,
        "aud": grant.client_id,
        "iat": now,
        "exp": now + 600,
        "nonce": grant.nonce,
    });
    if let (Some(extra), Some(map)) = (grant.claims.as_object(), claims.as_object_mut()) {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(key.kid.clone());
    let id_token = jsonwebtoken::encode(&header, &claims, &key.encoding).expect("sign");
    HttpResponse::Ok().json(json!({
        "access_token": "provider-access-token",
        "token_type": "Bearer",
        "expires_in": 3600,
        "id_token": id_token,
    }))
}

/// The lowercase hex SHA-256 of `nonce`, as an app hands it to the
/// provider (written here, not taken from authd).
pub fn hashed(nonce: &str) -> String {
    Sha256::digest(nonce.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

impl TestProvider {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("address").port();
        let issuer = format!("http://127.0.0.1:{port}");
        let shared = Arc::new(Shared {
            issuer: issuer.clone(),
            keys: Mutex::new(vec![ProviderKey::nth(0)]),
            jwks_fetches: AtomicUsize::new(0),
            discovery_fetches: AtomicUsize::new(0),
            down: AtomicBool::new(false),
            without_alg: AtomicBool::new(false),
            user: Mutex::new(None),
            client_secret: Mutex::new(None),
            last_client_secret: Mutex::new(None),
            grants: Mutex::new(std::collections::HashMap::new()),
            authorizations: Mutex::new(Vec::new()),
        });
        let data = web::Data::new(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(discovery),
                )
                .route("/jwks", web::get().to(jwks))
                .route("/authorize", web::get().to(authorize))
                .route("/token", web::post().to(token))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            issuer,
            shared,
            handle,
            keys_made: AtomicUsize::new(1),
        }
    }

    /// The key tokens are signed with now.
    pub fn current_key(&self) -> ProviderKey {
        self.shared
            .keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last()
            .cloned()
            .expect("a key")
    }

    /// A new signing key, published beside the old ones (`retire_old`:
    /// instead of them).
    pub fn rotate(&self, retire_old: bool) -> ProviderKey {
        let key = ProviderKey::nth(self.keys_made.fetch_add(1, Ordering::SeqCst));
        let mut keys = self.shared.keys.lock().unwrap_or_else(|p| p.into_inner());
        if retire_old {
            keys.clear();
        }
        keys.push(key.clone());
        key
    }

    /// A key of the provider's kind it never publishes.
    pub fn unpublished_key(&self) -> ProviderKey {
        ProviderKey::nth(self.keys_made.fetch_add(1, Ordering::SeqCst))
    }

    /// Who the sign-in page signs in: the ID token's `sub`, `email` and
    /// whatever else `claims` holds.
    pub fn signs_in(&self, claims: Value) {
        *self.shared.user.lock().unwrap_or_else(|p| p.into_inner()) = Some(claims);
    }

    /// The client secret `/token` requires.
    pub fn requires_client_secret(&self, secret: &str) {
        *self
            .shared
            .client_secret
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(secret.to_string());
    }

    /// The `client_secret` the token endpoint was last sent.
    pub fn last_client_secret(&self) -> Option<String> {
        self.shared
            .last_client_secret
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The query of every `/authorize` request so far.
    pub fn authorizations(&self) -> Vec<std::collections::HashMap<String, String>> {
        self.shared
            .authorizations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    pub fn discovery_fetches(&self) -> usize {
        self.shared.discovery_fetches.load(Ordering::SeqCst)
    }

    /// Every answer a 503 (`true`) or as before.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    pub fn publish_without_alg(&self) {
        self.shared.without_alg.store(true, Ordering::SeqCst);
    }

    /// `claims` signed with `key` (RS256, its `kid`).
    pub fn sign_with(&self, key: &ProviderKey, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(key.kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).expect("sign")
    }

    /// `claims` signed with the current key.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with(&self.current_key(), claims)
    }

    /// The claims of a fresh ID token from this provider for `aud` and
    /// `sub`, carrying the hash of `nonce`, valid for 10 minutes.
    pub fn claims(&self, aud: &str, sub: &str, nonce: &str) -> Value {
        let now = now();
        json!({
            "iss": self.issuer,
            "aud": aud,
            "sub": sub,
            "iat": now,
            "exp": now + 600,
            "nonce": hashed(nonce),
        })
    }
}
