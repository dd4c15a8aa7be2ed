//! The account itself: registration, who-am-I, logout everywhere,
//! deletion. (A password change is in `password`.)

use authd_guard::TokenProblem;

use super::password::{new_password, presented_password};
use super::{parse_email, Auth, AuthError, Client, FreshProof};
use crate::common::identity::Identity;
use crate::mail::MailKind;
use crate::users::mailed_tokens;
use crate::users::{CreateUserError, User};

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
        let verification =
            mailed_tokens::issue(self.settings.accounts.verify_token_ttl, |token, until| {
                self.mailer.verify(&email.display, token, until)
            });
        let user = self
            .users
            .create(&email, &hash, verification)
            .await
            .map_err(|e| match e {
                CreateUserError::EmailTaken => AuthError::EmailTaken,
                CreateUserError::Store(e) => e.into(),
            })?;
        self.mailer.queued(MailKind::Verify);
        Ok(user)
    }

    /// `GET /api/me`: the account, and the providers the user can sign in
    /// with (each once, in the order they were linked).
    pub async fn me(&self, who: Identity) -> Result<(User, Vec<String>), AuthError> {
        let user = self
            .users
            .find(who.user_id)
            .await?
            .ok_or(AuthError::InvalidToken(TokenProblem::SessionEnded))?;
        Ok((user, self.providers_of(who.user_id).await?))
    }

    /// `DELETE /api/account`: with the current password (checked and
    /// throttled as a login), the account goes. Redis first: every session
    /// ends and logins in flight are fenced off, so no session outlives the
    /// account; then the row goes with its tokens, in the transaction that
    /// queues the confirmation. A failure in between leaves an account
    /// with no sessions, never sessions without an account; a retry after
    /// a lost answer finds no account (401). The row goes only if its
    /// credential is still the one checked (a password change or a first
    /// factor meanwhile keeps it: 401, every session ended).
    ///
    /// `proof`: the password, or a fresh ID token of a linked identity.
    pub async fn delete_account(
        &self,
        who: Identity,
        proof: FreshProof<'_>,
        client: &Client,
    ) -> Result<(), AuthError> {
        if let FreshProof::Password(password) = &proof {
            presented_password(password)?;
        }
        let credentials = self.caller(who).await?;
        self.step_up(who, &credentials).await?;
        self.fresh_proof(&credentials, proof, client).await?;
        self.sessions.end_for_deletion(who.user_id).await?;
        let confirmation = self
            .mailer
            .notice(MailKind::AccountDeleted, &credentials.user.email);
        if !self
            .users
            .delete(who.user_id, Some(credentials.version), confirmation)
            .await?
        {
            // Gone already (a retry after a lost answer), or a password
            // change or a first factor landed since the checks above: the
            // sessions are ended either way, and the account stays.
            return Err(AuthError::InvalidToken(TokenProblem::SessionEnded));
        }
        self.mailer.queued(MailKind::AccountDeleted);
        Ok(())
    }

    /// Ends every session of the caller.
    pub async fn logout_all(&self, who: Identity) -> Result<(), AuthError> {
        self.sessions.end_all(who.user_id, None, None).await?;
        Ok(())
    }
}
