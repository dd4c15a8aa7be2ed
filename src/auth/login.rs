//! Login: a throttled password check (`password`), then a session unless a
//! newer password landed meanwhile, then the token pair; or, for a user
//! with a second factor, the second step to answer.

use authd_guard::{Amr, Presented, Thumbprint};

use super::mfa::MfaRequired;
use super::password::presented_password;
use super::{lookup_email, Auth, AuthError, Client, TokenPair};
use crate::common::telemetry::{self, Login};
use crate::connections::StoreError;
use crate::sessions::{Created, SessionMeta};
use crate::users::{Credentials, Password};

pub const MAX_DEVICE_CHARS: usize = 100;

/// What a right password leads to.
pub enum LoginOutcome {
    /// A session, and its tokens.
    Session(TokenPair),
    /// The user has a second factor: the second step to answer
    /// (`/api/login/mfa`).
    SecondStep(MfaRequired),
}

impl Auth {
    /// `POST /api/login`: a session for the account if the password matches
    /// (or its second step, for a user with a second factor). With a DPoP
    /// proof, the session is bound to its key.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        device: Option<&str>,
        client: &Client,
        presented: &Presented<'_>,
    ) -> Result<LoginOutcome, AuthError> {
        // Every return counts, `?` included: the body runs as one block.
        let outcome = async {
            let email = lookup_email(email)?;
            let password = presented_password(password)?;
            let device = device_name(device)?;
            // Before the password is hashed: a bad proof costs no Argon2.
            let key = self
                .proof(presented, None, self.dpop.required)
                .await?
                .map(|p| p.thumbprint);
            let credentials = self
                .checked_keeping(
                    &email,
                    client.ip,
                    async {
                        let credentials = self.users.credentials_by_email(&email).await?;
                        let mut rehash = None;
                        let matched = match password {
                            Some(password) => {
                                if credentials
                                    .as_ref()
                                    .is_some_and(|c| self.hasher.needs_rehash(&c.password_hash))
                                {
                                    rehash = Some(password.clone());
                                }
                                self.password_matches(password, credentials.as_ref())
                                    .await?
                            }
                            None => false,
                        };
                        // A disabled account answers as a wrong password would.
                        let credentials = credentials.filter(|c| matched && !c.user.disabled);
                        if let (Some(credentials), Some(password)) = (&credentials, rehash) {
                            self.rehash_later(credentials, password);
                        }
                        Ok(credentials)
                    },
                    // With a second factor to come, the account's failures
                    // stand until the second step succeeds: a thief with the
                    // password cannot reset the count between code guesses.
                    |credentials: &Credentials| credentials.factors.any(),
                )
                .await?;
            // Only once the password is right, so this tells nothing more
            // than a successful login would.
            if self.settings.accounts.require_verified_email && !credentials.user.email_verified {
                return Err(AuthError::EmailNotVerified);
            }
            if credentials.factors.any() {
                let challenge = self
                    .second_step(&credentials, device, Amr::PASSWORD)
                    .await?;
                return Ok(LoginOutcome::SecondStep(challenge));
            }
            self.open_session(&credentials, device, client, key, Amr::PASSWORD)
                .await
                .map(LoginOutcome::Session)
        }
        .await;
        telemetry::login(match &outcome {
            Ok(LoginOutcome::Session(_)) => Login::Success,
            Ok(LoginOutcome::SecondStep(_)) => Login::SecondStep,
            Err(
                AuthError::InvalidCredentials
                | AuthError::CredentialsChanged
                | AuthError::InvalidRequest(_)
                | AuthError::EmailNotVerified
                | AuthError::InvalidDpopProof(_)
                | AuthError::UseDpopNonce(_),
            ) => Login::Invalid,
            Err(AuthError::RateLimited { .. }) => Login::Throttled,
            Err(_) => Login::Unavailable,
        });
        outcome
    }
}

impl Auth {
    /// A session for an account whose login has been checked in full
    /// (`amr`: how), unless a newer password landed meanwhile; then its
    /// token pair, bound to the DPoP `key` the request proved.
    pub(super) async fn open_session(
        &self,
        credentials: &Credentials,
        device: Option<String>,
        client: &Client,
        key: Option<Thumbprint>,
        amr: Amr,
    ) -> Result<TokenPair, AuthError> {
        let meta = SessionMeta {
            device,
            user_agent: client.user_agent.clone(),
            ip: client.ip,
        };
        let mut finished_change = false;
        loop {
            match self
                .sessions
                .create(
                    credentials.user.id,
                    &meta,
                    credentials.version,
                    credentials.user.email_verified,
                    key,
                    amr,
                )
                .await?
            {
                Created::Session(refresh) => return self.token_pair(refresh, key),
                // A password change landed while this login was being checked.
                Created::Stale => return Err(AuthError::CredentialsChanged),
                // The change this login verified never ran its Redis step:
                // finish it before this session joins the others.
                Created::Lagging if !finished_change => {
                    self.finish_change(credentials).await?;
                    finished_change = true;
                }
                Created::Lagging => {
                    return Err(StoreError::RedisReply(
                        "the credential marker stays behind after finishing a change".into(),
                    )
                    .into())
                }
            }
        }
    }
}

/// The device name a login gives, trimmed; empty means none.
pub(super) fn device_name(device: Option<&str>) -> Result<Option<String>, AuthError> {
    let Some(device) = device.map(str::trim).filter(|d| !d.is_empty()) else {
        return Ok(None);
    };
    if device.chars().count() > MAX_DEVICE_CHARS || device.chars().any(is_invisible) {
        return Err(AuthError::InvalidRequest(
            "device must be at most 100 characters without control characters",
        ));
    }
    Ok(Some(device.to_string()))
}

/// Control characters, and the format characters that can disguise a name
/// when it is shown (bidi overrides, zero-width characters, line separators).
fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

impl Auth {
    /// A password that just verified against a hash made with other Argon2
    /// parameters is hashed again with today's, in the background (the
    /// login does not wait; it takes a hashing slot like a login). A
    /// password change meanwhile keeps its own hash.
    fn rehash_later(&self, credentials: &Credentials, password: Password) {
        let (users, hasher) = (self.users.clone(), self.hasher.clone());
        let (user, old_hash) = (credentials.user.id, credentials.password_hash.clone());
        tokio::spawn(async move {
            let outcome = match hasher.hash(password).await {
                Ok(new_hash) => users
                    .rehash_password(user, &old_hash, &new_hash)
                    .await
                    .map_err(|e| crate::common::error_chain(&e)),
                Err(e) => Err(crate::common::error_chain(&e)),
            };
            match outcome {
                Ok(true) => log::info!(
                    "user {user}: password rehashed with the configured Argon2 parameters"
                ),
                Ok(false) => {}
                Err(e) => log::warn!(
                    "user {user}: rehashing the password failed ({e}); the next login tries again"
                ),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_are_trimmed_and_bounded() {
        assert_eq!(
            device_name(Some("  phone ")).unwrap().as_deref(),
            Some("phone")
        );
        assert_eq!(device_name(Some("   ")).unwrap(), None);
        assert!(device_name(Some(&"x".repeat(101))).is_err());
        assert!(device_name(Some("evil\u{202E}name")).is_err());
    }
}
