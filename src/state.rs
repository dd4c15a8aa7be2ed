//! What every handler shares, built once in `startup`.

use crate::config::AccessTokenCheck;
use crate::sessions::SessionStore;
use crate::tokens::AccessTokens;
use crate::users::{PasswordHasher, UserStore};

pub struct AppState {
    pub access_tokens: AccessTokens,
    pub sessions: SessionStore,
    pub users: UserStore,
    pub hasher: PasswordHasher,
    pub access_token_check: AccessTokenCheck,
}
