//! Refresh, logout, and the access-token check the guard makes.

use authd_guard::{Presented, Thumbprint, TokenProblem};

use super::dpop::wrong_key;
use super::{Auth, AuthError, InternalError, TokenPair};
use crate::common::identity::Identity;
use crate::common::telemetry::{self, Ended, Refresh};
use crate::sessions::{EndByToken, IssuedRefresh, RefreshToken, RotateOutcome};

impl Auth {
    /// `POST /api/token`: rotates the presented refresh token. A session
    /// bound to a DPoP key needs a proof by that key; an unbound one is
    /// bound by the first proof that comes.
    pub async fn refresh(
        &self,
        presented: &str,
        request: &Presented<'_>,
    ) -> Result<TokenPair, AuthError> {
        let outcome = self.rotate(presented, request).await;
        telemetry::refresh(match &outcome {
            Ok((_, true)) => Refresh::Grace,
            Ok((_, false)) => Refresh::Rotated,
            Err(AuthError::RefreshReused) => Refresh::Reused,
            Err(
                AuthError::RefreshInvalid
                | AuthError::InvalidRequest(_)
                | AuthError::InvalidDpopProof(_)
                | AuthError::UseDpopNonce(_),
            ) => Refresh::Invalid,
            Err(_) => Refresh::Unavailable,
        });
        outcome.map(|(pair, _)| pair)
    }

    /// The rotation, and whether it was a grace-window repeat.
    async fn rotate(
        &self,
        presented: &str,
        request: &Presented<'_>,
    ) -> Result<(TokenPair, bool), AuthError> {
        let presented = RefreshToken::parse(presented).ok_or(AuthError::RefreshInvalid)?;
        let proof = self.proof(request, None, self.dpop.required).await?;
        let key = proof.as_ref().map(|p| p.thumbprint);
        match self.sessions.rotate(&presented, key).await? {
            RotateOutcome::Rotated(refresh) => Ok((self.token_pair(refresh, key)?, false)),
            RotateOutcome::Grace(refresh) => Ok((self.token_pair(refresh, key)?, true)),
            RotateOutcome::WrongKey => Err(wrong_key(proof.as_ref())),
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
    /// A session bound to a DPoP key ends only for a request proving it.
    pub async fn logout(
        &self,
        refresh_token: Option<&str>,
        request: &Presented<'_>,
    ) -> Result<(), AuthError> {
        match refresh_token.map(RefreshToken::parse) {
            Some(Some(token)) => {
                self.end_by_refresh_token(&token, request, Ended::Logout)
                    .await?;
            }
            Some(None) if request.token.is_none() => {
                return Err(AuthError::InvalidRequest(
                    "refresh_token is not a refresh token",
                ))
            }
            _ => {
                // Signature and claims only: a second logout with the same
                // access token is still a success.
                let who = self.verify_signature(request.token)?;
                if let Some(token) = request.token {
                    self.check_binding(who, request.scheme, token, request)
                        .await?;
                }
                self.sessions
                    .end(who.user_id, who.session_id, Ended::Logout)
                    .await?;
            }
        }
        Ok(())
    }

    /// Ends the session of a refresh token (its family), if the request
    /// proves the DPoP key the session is bound to.
    pub(super) async fn end_by_refresh_token(
        &self,
        token: &RefreshToken,
        request: &Presented<'_>,
        reason: Ended,
    ) -> Result<(), AuthError> {
        let proof = self.proof(request, None, false).await?;
        let key = proof.as_ref().map(|p| p.thumbprint);
        match self.sessions.end_by_token(token, key, reason).await? {
            EndByToken::Done(_) => Ok(()),
            EndByToken::WrongKey => Err(wrong_key(proof.as_ref())),
        }
    }

    /// Signature and claims only, no I/O (the scheme is the caller's).
    pub fn verify_signature(&self, bearer: Option<&str>) -> Result<Identity, AuthError> {
        let token = bearer.ok_or(AuthError::InvalidToken(TokenProblem::Missing))?;
        self.access_tokens.verify(token).map_err(|rejected| {
            log::debug!("access token rejected: {}", rejected.as_str());
            AuthError::InvalidToken(rejected.into())
        })
    }

    /// An access token for a refresh token's session, never outliving it,
    /// bound to `key` (`cnf.jkt`) when the request proved one.
    pub(super) fn token_pair(
        &self,
        refresh: IssuedRefresh,
        key: Option<Thumbprint>,
    ) -> Result<TokenPair, AuthError> {
        let identity = Identity {
            user_id: refresh.token.user_id,
            session_id: refresh.token.session_id,
            key,
            amr: refresh.amr,
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
            dpop_bound: key.is_some(),
        })
    }
}
