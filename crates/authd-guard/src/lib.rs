//! Accept authd's access tokens in any actix-web service.
//!
//! - [`Verifier`]: RFC 9068 access tokens checked the way authd checks them
//!   (algorithm pinned per key, `typ: at+jwt`, `kid`, `iss`, `aud`, `exp`,
//!   `nbf`), with a bounded cache of tokens verified before ([`cache`]).
//! - [`Keys`]: authd's own keys, or its JWKS fetched and cached, fetched
//!   again (at most once per interval, one fetch for all waiting requests)
//!   when a token names an unknown `kid`: key rotation needs no restart.
//! - [`SessionCheck`]: whether the token's session still lives. [`Revocation`]
//!   chooses by configuration: signature only, authd's Redis read the way
//!   authd's own guard reads it ([`AuthdRedis`], client-side tracking
//!   in [`liveness`]), or RFC 7662 introspection with a short cache
//!   ([`Introspection`]).
//! - [`dpop`]: RFC 9449 proofs for tokens bound to a client's key
//!   (`cnf.jkt`), checked by the guard with [`DpopPolicy`].
//! - [`RequireToken`]: the middleware; [`Identity`] is also an extractor.
//!   [`Guard::with_required_mfa`] refuses tokens without a second factor
//!   ([`Amr`], RFC 9470 `insufficient_user_authentication`).
//!
//! authd's own guard is this crate, with its own keys and session store.

mod amr;
mod authd_redis;
pub mod cache;
mod config;
pub mod dpop;
mod error;
mod extract;
mod guard;
mod identity;
mod introspection;
mod jwks;
mod keys;
pub mod liveness;
mod middleware;
mod presented;
mod revocation;
mod session_check;
mod token_problem;
mod unavailable;
mod verifier;
mod verifying_key;

pub use amr::Amr;
pub use authd_redis::{first_use, session_key, AuthdRedis};
pub use authd_settings::{ConfigError, ConfigErrors, Secret};
pub use config::{
    GuardCacheSettings, GuardConfig, GuardSettings, NonceSecret, RevocationConfig, RevocationMode,
};
pub use dpop::{DpopPolicy, MemoryReplay, Nonces, ProofReplay, Thumbprint};
pub use error::{
    challenge, dpop_challenge, nonce_challenge, Refusal, INSUFFICIENT_AUTHENTICATION_DESCRIPTION,
    STEP_UP_CHALLENGE, UNAVAILABLE_DESCRIPTION, USE_DPOP_NONCE_DESCRIPTION,
};
pub use guard::{bearer_token, Guard};
pub use identity::Identity;
pub use introspection::Introspection;
pub use jwks::{Jwks, JwksError};
pub use keys::Keys;
pub use middleware::RequireToken;
pub use presented::{access_token, Presented, Scheme, Target};
pub use revocation::Revocation;
pub use session_check::SessionCheck;
pub use token_problem::{TokenProblem, INVALID_TOKEN_DESCRIPTION};
pub use unavailable::Unavailable;
pub use verifier::{Claims, Rejected, Rules, Verifier, ACCESS_TOKEN_TYPE, MAX_ACCESS_TOKEN_BYTES};
pub use verifying_key::VerifyingKey;

pub use jsonwebtoken::{Algorithm, DecodingKey};
