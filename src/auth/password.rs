//! The password fence, whole: a password check under the throttle (shared
//! with login), the input rules of a presented and a new password, and a
//! password change with everything that makes it atomic against concurrent
//! changes, concurrent logins and store failures (the credential version in
//! SQL, the credential marker in Redis, and finishing a change whose Redis
//! step never ran).

use std::future::Future;
use std::net::IpAddr;

use super::{Auth, AuthError, Client, FreshProof, InternalError};
use crate::common::identity::Identity;
use crate::throttle::Admission;
use crate::users::input::PasswordProblem;
use crate::users::{Credentials, Email, HashError, Password};

impl Auth {
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
    /// did land), sees Redis behind SQL and finishes the step (`finish_pending_change`).
    ///
    /// `proof`: the current password, or (for an account without one, or
    /// any) a fresh ID token of a linked identity; the change then adds
    /// the password.
    pub async fn change_password(
        &self,
        who: Identity,
        proof: FreshProof<'_>,
        new: &str,
        client: &Client,
    ) -> Result<(), AuthError> {
        let new = new_password(new)?;
        let credentials = self.caller(who).await?;
        self.step_up(who, &credentials).await?;
        let checked = self.fresh_proof(&credentials, proof, client).await;
        if let Err(AuthError::WrongPassword) = checked {
            self.finish_pending_change(&credentials).await?;
        }
        checked?;
        let hash = self.hasher.hash(new).await?;
        let version = self
            .users
            .replace_password(who.user_id, credentials.version, &hash, who.session_id)
            .await?
            // Another change from the same version won.
            .ok_or(AuthError::CredentialsChanged)?;
        self.end_sessions_behind(who.user_id, Some(who.session_id), version)
            .await
    }

    /// Whether `password` is the password of `credentials`; without an
    /// account it is checked against the dummy, in the same time. A stored
    /// hash the hasher will not verify against (malformed, or parameters
    /// beyond its bounds) is a wrong password: the attempt counts against
    /// the throttle and the answer is the one an unknown email gets, so it
    /// tells nobody the account exists. The operator learns which account,
    /// at warn (what is wrong, never the hash).
    pub(super) async fn password_matches(
        &self,
        password: Password,
        credentials: Option<&Credentials>,
    ) -> Result<bool, AuthError> {
        // An account made by a provider sign-in has no password (an empty
        // hash): checked like an unknown address, against the dummy hash.
        let stored = credentials
            .map(|c| c.password_hash.clone())
            .filter(|hash| !hash.is_empty());
        match self.hasher.verify(password, stored).await {
            Ok(matched) => Ok(matched),
            Err(HashError::StoredHash(why)) => {
                if let Some(credentials) = credentials {
                    log::warn!(
                        "user {}: the stored password hash is unusable ({why}); every password check fails until the password is reset",
                        credentials.user.id
                    );
                }
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Finishes a password change whose Redis step never ran (its answer
    /// was a 503, or the process died): Redis's credential marker is behind
    /// SQL's version, so the sessions the change should have ended still
    /// live. Ends them all but the one that made the change.
    /// (A login learns this from `create.lua`; a password change asks.)
    /// Whether it had to.
    pub(super) async fn finish_pending_change(
        &self,
        credentials: &Credentials,
    ) -> Result<bool, AuthError> {
        // Version 1 is an account whose password never changed.
        if credentials.version > 1
            && self.sessions.credential_marker(credentials.user.id).await? < credentials.version
        {
            self.finish_change(credentials).await?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Runs the Redis step of the change that produced `credentials`.
    pub(super) async fn finish_change(&self, credentials: &Credentials) -> Result<(), AuthError> {
        let user = credentials.user.id;
        log::warn!("user {user}: finishing a password change whose session revocation did not run");
        self.end_sessions_behind(user, credentials.changed_by, credentials.version)
            .await
    }

    /// Raises the credential marker to `version` and ends the user's
    /// sessions but `keep`, in a task that runs to its end even if the
    /// request is dropped.
    pub(super) async fn end_sessions_behind(
        &self,
        user: uuid::Uuid,
        keep: Option<uuid::Uuid>,
        version: i64,
    ) -> Result<(), AuthError> {
        let sessions = self.sessions.clone();
        tokio::spawn(async move { sessions.end_all(user, keep, Some(version)).await })
            .await
            .map_err(|e| AuthError::Internal(InternalError::Task(e)))??;
        Ok(())
    }

    /// Runs a password check under the throttle: takes a slot for `email`
    /// and `ip` (or answers 429), runs `check`, and books the outcome:
    /// `Some` is a success (the account's failures are forgotten), `None` a
    /// failure (the slot stays taken), an error no attempt at all (the slot
    /// is given back).
    pub(super) async fn checked<T>(
        &self,
        email: &Email,
        ip: Option<IpAddr>,
        check: impl Future<Output = Result<Option<T>, AuthError>>,
    ) -> Result<T, AuthError> {
        self.checked_keeping(email, ip, check, |_| false).await
    }

    /// As `checked`, except that a success for which `partial` holds (a
    /// password right, a second factor still to come) leaves the account's
    /// failures counted: only the final step clears them.
    pub(super) async fn checked_keeping<T>(
        &self,
        email: &Email,
        ip: Option<IpAddr>,
        check: impl Future<Output = Result<Option<T>, AuthError>>,
        partial: impl FnOnce(&T) -> bool,
    ) -> Result<T, AuthError> {
        let attempt = match self.throttle.admit(&email.normalized, ip).await? {
            Admission::Allowed(attempt) => attempt,
            Admission::Throttled { retry_after_secs } => {
                return Err(AuthError::RateLimited { retry_after_secs })
            }
        };
        match check.await {
            Ok(Some(value)) if partial(&value) => {
                self.throttle.release(attempt).await?;
                Ok(value)
            }
            Ok(Some(value)) => {
                self.throttle.succeeded(attempt).await?;
                Ok(value)
            }
            Ok(None) => Err(AuthError::InvalidCredentials),
            Err(e) => {
                if let Err(release) = self.throttle.release(attempt).await {
                    log::warn!(
                        "could not give back a throttle slot: {}",
                        crate::common::error_chain(&release)
                    );
                }
                Err(e)
            }
        }
    }
}

/// A password as presented for checking: too long is a bad request (never
/// hashed), too short cannot match any account (`None`).
pub(super) fn presented_password(input: &str) -> Result<Option<Password>, AuthError> {
    match Password::parse(input) {
        Ok(password) => Ok(Some(password)),
        Err(PasswordProblem::TooLong) => Err(AuthError::InvalidRequest(
            "password must be at most 1024 characters",
        )),
        Err(PasswordProblem::TooShort) => Ok(None),
    }
}

/// A new password: the registration rules.
pub(super) fn new_password(input: &str) -> Result<Password, AuthError> {
    Password::parse(input).map_err(|problem| match problem {
        PasswordProblem::TooShort => {
            AuthError::InvalidRequest("password must be at least 8 characters")
        }
        PasswordProblem::TooLong => {
            AuthError::InvalidRequest("password must be at most 1024 characters")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_password_is_checked_as_no_match_but_a_long_one_is_refused() {
        assert!(presented_password("short").unwrap().is_none());
        assert!(presented_password(&"x".repeat(1025)).is_err());
        assert!(new_password("short").is_err());
    }
}
