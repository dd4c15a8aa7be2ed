//! What every handler shares, built once in `startup`.

use crate::client_ip::TrustedProxies;
use crate::config::AccessTokenCheck;
use crate::sessions::SessionStore;
use crate::throttle::LoginThrottle;
use crate::tokens::AccessTokens;
use crate::users::{PasswordHasher, UserStore};

pub struct AppState {
    pub access_tokens: AccessTokens,
    pub sessions: SessionStore,
    pub users: UserStore,
    pub hasher: PasswordHasher,
    pub access_token_check: AccessTokenCheck,
    pub throttle: LoginThrottle,
    pub trusted_proxies: TrustedProxies,
}
