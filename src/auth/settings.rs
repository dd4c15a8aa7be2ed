//! The rules' own settings: how the guard decides a token stands, which
//! resource servers may introspect, what a revocation ends; DPoP; the
//! accounts' mailed links and the admin API's callers.

use std::time::Duration;

use crate::common::settings::{
    flag, labelled_secrets, positive_seconds, secrets, ConfigErrors, Problems, Vars,
};
use crate::common::Secret;
use crate::settings_section;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessTokenCheck {
    /// Signature, claims, and a live session in Redis.
    Session,
    /// Signature and claims only: no I/O on the guarded path.
    Signature,
}

fn access_token_check(value: &str) -> Result<AccessTokenCheck, String> {
    match value {
        "session" => Ok(AccessTokenCheck::Session),
        "signature" => Ok(AccessTokenCheck::Signature),
        other => Err(format!("`{other}` is neither `session` nor `signature`")),
    }
}

settings_section! {
    /// How the guard, introspection and revocation decide.
    pub struct TokenRules in "guard, introspection and revocation" {
        /// `session`: the guard also checks the session is live (from memory while
        /// Redis tracks the session for this instance, else one Redis read);
        /// `signature`: signature and claims only, no Redis on guarded routes.
        pub access_token_check: AccessTokenCheck = "AUTHD_ACCESS_TOKEN_CHECK" ["session"] => access_token_check;
        /// Comma-separated secrets, each at least 32 bytes, that resource servers
        /// send as `Authorization: Bearer <secret>` to `POST /api/introspect`;
        /// empty turns introspection off (404).
        pub introspection_secrets: Vec<Secret> = "AUTHD_INTROSPECTION_SECRETS" [""] => secrets;
        /// `true`: `POST /api/revoke` with an access token ends its whole session
        /// (RFC 7009 allows it), so whoever holds one (a resource server, a log
        /// that captured it) can sign the user out; `false`: only a refresh token
        /// ends a session there, and an access token is answered 200 and ends
        /// nothing (it lives until it expires).
        pub revoke_access_tokens: bool = "AUTHD_REVOKE_ACCESS_TOKENS" ["true"] => flag;
        /// `true`: the guard refuses access tokens whose `amr` has no second
        /// factor or passkey with 403 `insufficient_user_authentication` (RFC
        /// 9470), except on the routes that enrol a factor (`/api/mfa/totp…`,
        /// `/api/passkeys…`).
        pub require_mfa: bool = "AUTHD_REQUIRE_MFA" ["false"] => flag;
    }
}

settings_section! {
    /// Proof of possession (DPoP, RFC 9449): tokens bound to a client's key.
    pub struct DpopRules in "DPoP: tokens bound to a key" {
        /// Seconds a DPoP proof (RFC 9449) is accepted after its `iat`; a proof
        /// up to 5 s ahead of authd's clock is accepted too. Each proof's `jti` is
        /// accepted once, across every instance.
        pub dpop_max_age: Duration = "AUTHD_DPOP_MAX_AGE" ["300"] => positive_seconds;
        /// `true`: DPoP proofs must carry a server nonce (`DPoP-Nonce`, error
        /// `use_dpop_nonce`); nonces are stateless and shared by every instance
        /// with the same signing key.
        pub dpop_nonce: bool = "AUTHD_DPOP_NONCE" ["false"] => flag;
        /// `true`: login and refresh need a DPoP proof (every session is bound
        /// to a key); `false`: a session is bound when a proof first comes.
        pub dpop_required: bool = "AUTHD_DPOP_REQUIRED" ["false"] => flag;
    }
}

settings_section! {
    /// Accounts: the mailed links, verified addresses, and operators.
    pub struct AccountRules in "accounts and the admin API" {
        /// Seconds a password-reset token stays usable; a newer one replaces it
        /// at once.
        pub reset_token_ttl: Duration = "AUTHD_RESET_TOKEN_TTL" ["1800"] => positive_seconds;
        /// Seconds an email-verification token stays usable; a newer one
        /// replaces it at once.
        pub verify_token_ttl: Duration = "AUTHD_VERIFY_TOKEN_TTL" ["86400"] => positive_seconds;
        /// `true`: a login with the right password to an unverified address is
        /// refused with 403 `email_not_verified` (a wrong password is still 400
        /// `invalid_grant`).
        pub require_verified_email: bool = "AUTHD_REQUIRE_VERIFIED_EMAIL" ["false"] => flag;
        /// Comma-separated `label:secret` pairs (each secret at least 32 bytes)
        /// that operators send as `Authorization: Bearer <secret>` to the admin
        /// API (`/api/admin/…`); each action is logged with the label. Empty:
        /// every admin route answers 404.
        pub admin_secrets: Vec<(String, Secret)> = "AUTHD_ADMIN_SECRETS" [""] => labelled_secrets;
    }
}

/// The rules' settings, by section.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    pub tokens: TokenRules,
    pub dpop: DpopRules,
    pub accounts: AccountRules,
}

impl AuthSettings {
    /// Each section through its parsers, defaults applied; every section's
    /// errors at once.
    pub fn read(vars: &Vars) -> Result<Self, ConfigErrors> {
        let mut problems = Problems::default();
        let tokens = problems.take(TokenRules::read(vars));
        let dpop = problems.take(DpopRules::read(vars));
        let accounts = problems.take(AccountRules::read(vars));
        match (tokens, dpop, accounts) {
            (Some(tokens), Some(dpop), Some(accounts)) => Ok(Self {
                tokens,
                dpop,
                accounts,
            }),
            _ => Err(problems.into_errors()),
        }
    }
}
