//! The account itself: registration, who-am-I, password change.

use super::login::{new_password, parse_email, presented_password};
use super::{Auth, AuthError, Client, InternalError};
use crate::common::identity::Identity;
use crate::users::{CreateUserError, Credentials, Email, User};

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
    /// Then Redis learns the new version and every other session ends, in a
    /// task of its own so that a client hanging up cannot stop it halfway.
    /// Logins refuse to make a session only for a version newer than the one
    /// they verified, so if the Redis step fails (503) the account still
    /// works with the new password; the next login, or the client's retry
    /// (which finds its current password stale: `invalid_grant`, the change
    /// did land), sees Redis behind SQL and finishes the step (`settle`).
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
        let checked = self
            .checked(&email, client.ip, async {
                let matched = match current {
                    Some(current) => self.hasher.verify(current, Some(stored)).await?,
                    None => false,
                };
                Ok(matched.then_some(()))
            })
            .await;
        if let Err(AuthError::InvalidCredentials) = checked {
            self.settle(&credentials).await?;
        }
        checked?;
        let hash = self.hasher.hash(new).await?;
        let version = self
            .users
            .replace_password(who.user_id, credentials.version, &hash, who.session_id)
            .await?
            // Another change from the same version won.
            .ok_or(AuthError::InvalidCredentials)?;
        self.revoke_for_credential(who.user_id, Some(who.session_id), version)
            .await
    }

    /// Finishes a password change whose Redis step never ran (its answer
    /// was a 503, or the process died): Redis's credential marker is behind
    /// SQL's version, so the sessions the change should have ended still
    /// live. Ends them all but the one that made the change.
    /// (A login learns this from `create.lua`; a password change asks.)
    pub(super) async fn settle(&self, credentials: &Credentials) -> Result<(), AuthError> {
        // Version 1 is an account whose password never changed.
        if credentials.version > 1
            && self.sessions.credential_marker(credentials.user.id).await? < credentials.version
        {
            self.finish_change(credentials).await?;
        }
        Ok(())
    }

    /// Runs the Redis step of the change that produced `credentials`.
    pub(super) async fn finish_change(&self, credentials: &Credentials) -> Result<(), AuthError> {
        let user = credentials.user.id;
        log::warn!("user {user}: finishing a password change whose session revocation did not run");
        self.revoke_for_credential(user, credentials.changed_by, credentials.version)
            .await
    }

    /// Raises the credential marker to `version` and ends the user's
    /// sessions but `keep`, in a task that runs to its end even if the
    /// request is dropped.
    async fn revoke_for_credential(
        &self,
        user: uuid::Uuid,
        keep: Option<uuid::Uuid>,
        version: i64,
    ) -> Result<(), AuthError> {
        let sessions = self.sessions.clone();
        tokio::spawn(async move { sessions.revoke_all(user, keep, Some(version)).await })
            .await
            .map_err(|e| AuthError::Internal(InternalError::Task(e)))??;
        Ok(())
    }

    /// Ends every session of the caller.
    pub async fn logout_all(&self, who: Identity) -> Result<(), AuthError> {
        self.sessions.revoke_all(who.user_id, None, None).await?;
        Ok(())
    }
}
