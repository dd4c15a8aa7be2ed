//! The rules of authd, apart from HTTP: who may register, log in, refresh,
//! log out, change a password, list and end sessions, and whether an access
//! token stands. Routes parse a request, call one method here, and render
//! what it returns; everything the contract decides is decided here, against
//! the domain stores it is given. Unit-testable without a server.

mod account;
mod admin;
mod callers;
mod devices;
mod dpop;
mod error;
mod federated;
mod guard;
mod identities;
mod login;
mod mfa;
mod oauth;
mod passkeys;
mod password;
mod recovery;
mod refresh;
mod settings;
mod verification;
mod web_flow;

use std::net::IpAddr;
use std::sync::Arc;

pub use admin::{AdminUser, UserPage, MAX_PAGE};
pub use callers::{AdminCallers, IntrospectionCallers};
pub use devices::DeviceSession;
pub use error::{AuthError, InternalError, Mailed};
pub use guard::{AuthdGuard, LiveSessions};
pub use identities::FreshProof;
pub use login::LoginOutcome;
pub use mfa::{MfaRequired, SecondFactor, TotpEnrolmentStarted};
pub use oauth::TokenState;
pub use passkeys::PasskeyInfo;
pub use settings::{AccessTokenCheck, AccountRules, AuthSettings, DpopRules, TokenRules};
pub use web_flow::Callback;

use crate::common::sealing::Sealer;
use crate::factors::{Challenges, RelyingParty, StandIns};
use crate::federation::Federation;
use crate::jwt::AccessTokens;
use crate::mail::Mailer;
use crate::sessions::{ProofLog, SessionStore};
use crate::throttle::Throttle;
use crate::users::{Email, PasswordHasher, UserStore};

pub struct Auth {
    users: UserStore,
    hasher: PasswordHasher,
    /// Shared with the tasks that finish a password change even when the
    /// request that started it is gone.
    sessions: Arc<SessionStore>,
    throttle: Throttle,
    access_tokens: AccessTokens,
    mailer: Mailer,
    settings: AuthSettings,
    dpop: dpop::Dpop,
    factors: FactorServices,
    /// Sign-in with OpenID providers (none configured: off).
    federation: Federation,
}

/// What second factors run on: sealed TOTP secrets, the WebAuthn relying
/// party, and the second step's and ceremonies' state in Redis.
pub struct FactorServices {
    /// Shared with the mailer (mail with a link is sealed too).
    pub sealer: Arc<Sealer>,
    /// `None`: passkeys are off (the relying party could not be derived
    /// from `AUTHD_PUBLIC_URL`, and was not set).
    pub relying_party: Option<RelyingParty>,
    /// What a passkey login lists for an address without passkeys.
    pub stand_ins: StandIns,
    pub challenges: Challenges,
    /// The issuer in `otpauth://` URIs (`AUTHD_WEBAUTHN_RP_NAME`).
    pub issuer: String,
}

/// Where a request came from, as the HTTP layer resolved it.
#[derive(Debug, Clone, Default)]
pub struct Client {
    pub ip: Option<IpAddr>,
    /// Cut to 256 bytes.
    pub user_agent: Option<String>,
}

/// What login and refresh hand out (RFC 6749 §5.1 plus what a mobile client
/// needs to schedule its next refresh).
pub struct TokenPair {
    pub access_token: String,
    pub expires_in: u64,
    pub refresh_token: String,
    pub refresh_token_expires_in: u64,
    pub session_id: uuid::Uuid,
    /// The access token is bound to a DPoP key (`token_type: DPoP`).
    pub dpop_bound: bool,
}

impl Auth {
    /// `proofs`: where DPoP `jti`s are spent; `public_url`:
    /// `AUTHD_PUBLIC_URL`, the base of the URIs proofs name.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        users: UserStore,
        hasher: PasswordHasher,
        sessions: SessionStore,
        throttle: Throttle,
        access_tokens: AccessTokens,
        mailer: Mailer,
        settings: &AuthSettings,
        proofs: ProofLog,
        public_url: Option<String>,
        factors: FactorServices,
        federation: Federation,
    ) -> Self {
        let dpop = dpop::Dpop {
            rules: authd_guard::dpop::ProofRules {
                max_age: settings.dpop.dpop_max_age,
                future_skew: dpop::FUTURE_SKEW,
            },
            public_base: public_url,
            required: settings.dpop.dpop_required,
            nonces: settings.dpop.dpop_nonce.then(|| {
                Arc::new(authd_guard::dpop::Nonces::new(
                    access_tokens.keys().nonce_key,
                ))
            }),
            log: proofs,
        };
        Self {
            dpop,
            factors,
            federation,
            users,
            hasher,
            sessions: Arc::new(sessions),
            throttle,
            access_tokens,
            mailer,
            settings: settings.clone(),
        }
    }

    pub fn access_tokens(&self) -> &AccessTokens {
        &self.access_tokens
    }

    /// How many Argon2 runs this process has made: lets tests prove a path
    /// did no hashing.
    pub fn hashing_runs(&self) -> u64 {
        self.hasher.runs()
    }
}

/// An address to find an account by (`Email::lookup`: accounts registered
/// under older rules still log in).
fn lookup_email(input: &str) -> Result<Email, AuthError> {
    Email::lookup(input).ok_or(AuthError::InvalidRequest(
        "email is not a valid address (local@domain, at most 254 characters)",
    ))
}

/// An address to register (`Email::parse`).
fn parse_email(input: &str) -> Result<Email, AuthError> {
    Email::parse(input).ok_or(AuthError::InvalidRequest(
        "email must be a bare address (local@domain, at most 254 characters): no display name, angle brackets, comments or quotes",
    ))
}
