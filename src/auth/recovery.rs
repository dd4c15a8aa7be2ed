//! A forgotten password: a reset link by mail, then a new password with it.
//!
//! Asking for a link answers the same, at once, for every address: the
//! lookup and the mail happen after the answer, so neither the status, the
//! body nor the time tells whether an account exists. Using the link spends
//! its token, sets the password and queues a notice in one transaction, then
//! ends every session as a password change does (the credential fence in
//! `password`), so the account always logs in with exactly one password.
//! Any password change or reset spends every pending reset link.

use super::password::new_password;
use super::{lookup_email, Auth, AuthError, Client, Mailed};
use crate::common::error_chain;
use crate::mail::{MailKind, Mailer};
use crate::users::mailed_tokens;
use crate::users::{Email, TokenKind, UserStore};

impl Auth {
    /// `POST /api/password/forgot`: queues a reset mail if the address has
    /// an account; answers the same either way. Throttled per address and
    /// per client IP.
    pub async fn forgot_password(&self, email: &str, client: &Client) -> Result<(), AuthError> {
        let ttl = self.settings.accounts.reset_token_ttl;
        self.mail_by_address(email, client, "password reset", move |users, mailer, email| async move {
            send_reset(&users, &mailer, &email, ttl).await
        })
        .await
    }

    /// What every mail asked for by address does: the same answer, at once,
    /// for every address (throttled per address and per client IP); the
    /// lookup and the mail (`job`) happen after it, so neither the status,
    /// the body nor the time tells whether an account exists.
    pub(super) async fn mail_by_address<F, Fut>(
        &self,
        email: &str,
        client: &Client,
        what: &'static str,
        job: F,
    ) -> Result<(), AuthError>
    where
        F: FnOnce(UserStore, Mailer, Email) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<(), crate::connections::StoreError>> + Send,
    {
        let email = lookup_email(email)?;
        if let Some(retry_after_secs) = self
            .throttle
            .admit_mail(&email.normalized, client.ip)
            .await?
        {
            return Err(AuthError::RateLimited { retry_after_secs });
        }
        let (users, mailer) = (self.users.clone(), self.mailer.clone());
        tokio::spawn(async move {
            if let Err(e) = job(users, mailer, email).await {
                log::warn!("{what}: no mail queued ({})", error_chain(&e));
            }
        });
        Ok(())
    }

    /// `POST /api/password/reset`: spends the token and sets the password;
    /// every session of the user ends. An unknown, spent, replaced or
    /// expired token is `MailedTokenInvalid` (`invalid_grant`).
    pub async fn reset_password(&self, token: &str, new: &str) -> Result<(), AuthError> {
        let new = new_password(new)?;
        let invalid = || AuthError::MailedTokenInvalid(Mailed::Reset);
        let hash = mailed_tokens::presented_hash(token).ok_or_else(invalid)?;
        let Some((user, email)) = self
            .users
            .token_owner(TokenKind::Reset, hash.clone())
            .await?
        else {
            return Err(invalid());
        };
        let password_hash = self.hasher.hash(new).await?;
        let notice = self.mailer.notice(MailKind::PasswordChanged, &email);
        let version = self
            .users
            .consume_reset(user, hash, password_hash, notice)
            .await?
            // Spent by a concurrent reset, or replaced, meanwhile.
            .ok_or_else(invalid)?;
        self.mailer.queued(MailKind::PasswordChanged);
        self.end_sessions_behind(user, None, version).await
    }
}

async fn send_reset(
    users: &UserStore,
    mailer: &Mailer,
    email: &Email,
    ttl: std::time::Duration,
) -> Result<(), crate::connections::StoreError> {
    // A disabled account gets the same answer and no mail: its owner
    // cannot log in with a new password anyway, and a link would outlive
    // the operator's decision.
    let Some(account) = users
        .credentials_by_email(email)
        .await?
        .filter(|account| !account.user.disabled)
    else {
        return Ok(());
    };
    let token = mailed_tokens::issue(ttl, |token, until| {
        mailer.reset(&account.user.email, token, until)
    });
    if users
        .issue_reset(account.user.id, account.version, token)
        .await?
    {
        mailer.queued(MailKind::Reset);
    }
    Ok(())
}
