//! The account itself: registration, who-am-I, password change.

use super::login::{new_password, parse_email, presented_password};
use super::{Auth, AuthError, Client, InternalError};
use crate::identity::Identity;
use crate::users::{CreateUserError, Email, User};

impl Auth {
    /// `POST /api/register`. Throttled per client IP, counted whether or not
    /// it succeeds; a taken email costs no hashing (the unique index settles
    /// races between instances).
    pub async fn register(
        &self,
        email: &str,
        password: &str,
        client: &Client,
    ) -> Result<User, AuthError> {
        let email = parse_email(email)?;
        let password = new_password(password)?;
        if let Some(retry_after_secs) = self.throttle.admit_registration(client.ip).await? {
            return Err(AuthError::RateLimited { retry_after_secs });
        }
        if self.users.email_exists(&email).await? {
            return Err(AuthError::EmailTaken);
        }
        let hash = self.hasher.hash(password).await?;
        self.users.create(&email, &hash).await.map_err(|e| match e {
            CreateUserError::EmailTaken => AuthError::EmailTaken,
            CreateUserError::Store(e) => e.into(),
        })
    }

    /// `GET /api/me`.
    pub async fn me(&self, who: Identity) -> Result<User, AuthError> {
        self.users
            .find(who.user_id)
            .await?
            .ok_or(AuthError::InvalidToken { token_sent: true })
    }

    /// `POST /api/password`: one atomic step against concurrent changes and
    /// store failures.
    ///
    /// The new hash lands in SQL by compare-and-swap on the credential
    /// version, so of two changes from the same version exactly one wins.
    /// Then Redis learns the new version and every other session ends.
    /// Logins refuse to make a session only for a version newer than the one
    /// they verified, so if the Redis step fails (503) the account still
    /// works with the new password; and the client's retry of the same
    /// request (whose current password no longer matches, but whose new one
    /// does) finishes the Redis step and answers 204.
    pub async fn change_password(
        &self,
        who: Identity,
        current: &str,
        new: &str,
        client: &Client,
    ) -> Result<(), AuthError> {
        let new = new_password(new)?;
        let current = presented_password(current)?;
        let Some(credentials) = self.users.credentials_by_id(who.user_id).await? else {
            return Err(AuthError::InvalidToken { token_sent: true });
        };
        let email = Email::parse(&credentials.user.email)
            .ok_or(AuthError::Internal(InternalError::StoredEmail))?;
        let stored = credentials.password_hash.clone();
        let landed_before = self
            .checked(&email, client.ip, async {
                if let Some(current) = current {
                    if self.hasher.verify(current, Some(stored.clone())).await? {
                        return Ok(Some(false));
                    }
                }
                // A retry of a change that landed: the new password is
                // already the account's.
                let already = self.hasher.verify(new.clone(), Some(stored)).await?;
                Ok(already.then_some(true))
            })
            .await?;
        let version = if landed_before {
            credentials.version
        } else {
            let hash = self.hasher.hash(new).await?;
            self.users
                .replace_password(who.user_id, credentials.version, &hash)
                .await?
                // Another change from the same version won.
                .ok_or(AuthError::InvalidCredentials)?
        };
        self.sessions
            .revoke_all(who.user_id, Some(who.session_id), Some(version))
            .await?;
        Ok(())
    }

    /// Ends every session of the caller.
    pub async fn logout_all(&self, who: Identity) -> Result<(), AuthError> {
        self.sessions.revoke_all(who.user_id, None, None).await?;
        Ok(())
    }
}
