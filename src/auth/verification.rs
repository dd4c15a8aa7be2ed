//! Proving an email address: registration mails a link (`account`); its
//! token, used once, marks the address verified in SQL and on the user's
//! live sessions, so their next access tokens carry `email_verified: true`.

use super::mailed_token::{new_token, token_hash, MAX_TOKEN_CHARS};
use super::{Auth, AuthError, Client};
use crate::common::clock::unix_now;
use crate::common::error_chain;
use crate::common::identity::Identity;
use crate::mail::MailKind;
use crate::users::{Email, TokenKind, Verification};

impl Auth {
    /// `POST /api/email/verify`: an unknown, spent, replaced or expired
    /// token is `InvalidCredentials` (`invalid_grant`).
    pub async fn verify_email(&self, token: &str) -> Result<(), AuthError> {
        if token.is_empty() || token.len() > MAX_TOKEN_CHARS {
            return Err(AuthError::InvalidCredentials);
        }
        let user = self
            .users
            .consume_verify(token_hash(token))
            .await?
            .ok_or(AuthError::InvalidCredentials)?;
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
            .ok_or(AuthError::InvalidToken { token_sent: true })?;
        if user.email_verified {
            return Err(AuthError::AlreadyVerified);
        }
        let normalized = Email::parse(&user.email)
            .map(|e| e.normalized)
            .unwrap_or_else(|| user.email.to_lowercase());
        if let Some(retry_after_secs) = self.throttle.admit_mail(&normalized, client.ip).await? {
            return Err(AuthError::RateLimited { retry_after_secs });
        }
        let (token, hash) = new_token();
        let expires_at = unix_now() as i64 + self.settings.verify_token_ttl.as_secs() as i64;
        let verification = Verification {
            token_hash: hash,
            expires_at,
            mail: self.mailer.verify(&user.email, &token, expires_at),
        };
        self.users
            .issue_token(user.id, TokenKind::Verify, verification)
            .await?;
        self.mailer.queued(MailKind::Verify);
        Ok(())
    }
}
