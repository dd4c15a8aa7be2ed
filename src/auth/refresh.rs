//! Refresh, logout, and the access-token check the guard makes.

use super::{Auth, AuthError, InternalError, TokenPair};
use crate::common::identity::Identity;
use crate::common::telemetry::{self, Ended, Refresh};
use crate::sessions::{IssuedRefresh, RefreshToken, RotateOutcome};

impl Auth {
    /// `POST /api/token`: rotates the presented refresh token.
    pub async fn refresh(&self, presented: &str) -> Result<TokenPair, AuthError> {
        let outcome = self.rotate(presented).await;
        telemetry::refresh(match &outcome {
            Ok((_, true)) => Refresh::Grace,
            Ok((_, false)) => Refresh::Rotated,
            Err(AuthError::RefreshReused) => Refresh::Reused,
            Err(AuthError::RefreshInvalid | AuthError::InvalidRequest(_)) => Refresh::Invalid,
            Err(_) => Refresh::Unavailable,
        });
        outcome.map(|(pair, _)| pair)
    }

    /// The rotation, and whether it was a grace-window repeat.
    async fn rotate(&self, presented: &str) -> Result<(TokenPair, bool), AuthError> {
        let presented = RefreshToken::parse(presented).ok_or(AuthError::RefreshInvalid)?;
        match self.sessions.rotate(&presented).await? {
            RotateOutcome::Rotated(refresh) => Ok((self.token_pair(refresh)?, false)),
            RotateOutcome::Grace(refresh) => Ok((self.token_pair(refresh)?, true)),
            RotateOutcome::Reused => {
                log::warn!(
                    "refresh token reuse: session {} of user {} revoked",
                    presented.session_id,
                    presented.user_id
                );
                Err(AuthError::RefreshReused)
            }
            RotateOutcome::Invalid => Err(AuthError::RefreshInvalid),
        }
    }

    /// `POST /api/logout`: ends the session a refresh token names or, without
    /// one, the Bearer's. Success means a session ended or had already
    /// ended (RFC 7009 §2.2): a well-formed token of an unknown session
    /// succeeds; one that does not parse ends the Bearer's session when a
    /// valid Bearer came with it, and is refused otherwise.
    pub async fn logout(
        &self,
        refresh_token: Option<&str>,
        bearer: Option<&str>,
    ) -> Result<(), AuthError> {
        match refresh_token.map(RefreshToken::parse) {
            Some(Some(token)) => {
                self.sessions
                    .revoke(token.user_id, token.session_id, Some(&token), Ended::Logout)
                    .await?;
            }
            Some(None) if bearer.is_none() => {
                return Err(AuthError::InvalidRequest(
                    "refresh_token is not a refresh token",
                ))
            }
            _ => {
                // Signature and claims only: a second logout with the same
                // access token is still a success.
                let who = self.verify_signature(bearer)?;
                self.sessions
                    .revoke(who.user_id, who.session_id, None, Ended::Logout)
                    .await?;
            }
        }
        Ok(())
    }

    /// Signature and claims only, no I/O.
    pub fn verify_signature(&self, bearer: Option<&str>) -> Result<Identity, AuthError> {
        let token = bearer.ok_or(AuthError::InvalidToken { token_sent: false })?;
        self.access_tokens.verify(token).map_err(|rejected| {
            log::debug!("access token rejected: {}", rejected.as_str());
            AuthError::InvalidToken { token_sent: true }
        })
    }

    /// An access token for a refresh token's session, never outliving it.
    pub(super) fn token_pair(&self, refresh: IssuedRefresh) -> Result<TokenPair, AuthError> {
        let identity = Identity {
            user_id: refresh.token.user_id,
            session_id: refresh.token.session_id,
        };
        let access = self
            .access_tokens
            .issue(identity, refresh.session_end, refresh.email_verified)
            .map_err(|e| AuthError::Internal(InternalError::Signing(e)))?;
        Ok(TokenPair {
            access_token: access.token,
            expires_in: access.expires_in,
            refresh_token: refresh.token.expose(),
            refresh_token_expires_in: refresh.expires_in.as_secs(),
            session_id: identity.session_id,
        })
    }
}
