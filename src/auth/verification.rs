//! Proving an email address: registration mails a link (`account`); its
//! token, used once, marks the address verified in SQL and on the user's
//! live sessions, so their next access tokens carry `email_verified: true`.
//! A lost link is replaced for the signed-in user, or by address for
//! anyone (the same answer for every address, as a forgotten password).

use authd_guard::TokenProblem;

use super::{Auth, AuthError, Client, Mailed};
use crate::common::error_chain;
use crate::common::identity::Identity;
use crate::mail::MailKind;
use crate::users::mailed_tokens;
use crate::users::{Email, TokenKind};

impl Auth {
    /// `POST /api/email/verify`: an unknown, spent, replaced or expired
    /// token is `MailedTokenInvalid` (`invalid_grant`).
    pub async fn verify_email(&self, token: &str) -> Result<(), AuthError> {
        let invalid = AuthError::MailedTokenInvalid(Mailed::Verify);
        let Some(hash) = mailed_tokens::presented_hash(token) else {
            return Err(invalid);
        };
        let user = self.users.consume_verify(hash).await?.ok_or(invalid)?;
        // The address is verified in SQL: /api/me and new logins say so. The
        // sessions' copy only decides what their refreshed tokens claim; a
        // failure here is no reason to fail the request, whose token is spent.
        if let Err(e) = self.sessions.mark_verified(user).await {
            log::warn!(
                "user {user}: email verified, but its sessions were not marked ({})",
                error_chain(&e)
            );
        }
        Ok(())
    }

    /// `POST /api/email/verify/resend`: a new link (replacing the older),
    /// throttled as reset mails are.
    pub async fn resend_verification(
        &self,
        who: Identity,
        client: &Client,
    ) -> Result<(), AuthError> {
        let user = self
            .users
            .find(who.user_id)
            .await?
            .ok_or(AuthError::InvalidToken(TokenProblem::SessionEnded))?;
        if user.email_verified {
            return Err(AuthError::AlreadyVerified);
        }
        let normalized = Email::stored(&user.email).normalized;
        if let Some(retry_after_secs) = self.throttle.admit_mail(&normalized, client.ip).await? {
            return Err(AuthError::RateLimited { retry_after_secs });
        }
        let verification =
            mailed_tokens::issue(self.settings.accounts.verify_token_ttl, |token, until| {
                self.mailer.verify(&user.email, token, until)
            });
        self.users
            .issue_token(user.id, TokenKind::Verify, verification)
            .await?;
        self.mailer.queued(MailKind::Verify);
        Ok(())
    }

    /// `POST /api/email/verify/resend` with `{"email"}` and no Bearer: a new
    /// link for an account of that address that is not verified yet. The
    /// answer is the same, at once, for every address (the lookup and the
    /// mail happen after it); throttled as a forgotten password.
    pub async fn resend_verification_to(
        &self,
        email: &str,
        client: &Client,
    ) -> Result<(), AuthError> {
        let ttl = self.settings.accounts.verify_token_ttl;
        self.mail_by_address(
            email,
            client,
            "verification resend",
            move |users, mailer, email| async move {
                let Some(account) = users
                    .credentials_by_email(&email)
                    .await?
                    .filter(|a| !a.user.email_verified && !a.user.disabled)
                else {
                    return Ok(());
                };
                let verification = mailed_tokens::issue(ttl, |token, until| {
                    mailer.verify(&account.user.email, token, until)
                });
                users
                    .issue_token(account.user.id, TokenKind::Verify, verification)
                    .await?;
                mailer.queued(MailKind::Verify);
                Ok(())
            },
        )
        .await
    }
}
