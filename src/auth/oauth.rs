//! The OAuth 2.0 endpoints resource servers and clients expect: token
//! revocation (RFC 7009) and token introspection (RFC 7662).

use authd_guard::{Presented, Scheme};

use super::{Auth, AuthError};
use crate::common::clock::unix_now;
use crate::common::identity::Identity;
use crate::common::telemetry::Ended;
use crate::jwt::AccessClaims;
use crate::sessions::RefreshToken;

/// What introspection says of a token.
#[derive(Debug)]
pub enum TokenState {
    /// Not a token authd would accept now (RFC 7662 §2.2 says no more).
    Inactive,
    /// A valid access token of a live session, and (with sign-in with
    /// providers on) the providers its user signs in with.
    Access(AccessClaims, Option<Vec<String>>),
    /// The current refresh token of a live session.
    Refresh {
        identity: Identity,
        issuer: String,
        audience: String,
        expires_at: u64,
        issued_at: u64,
        email_verified: bool,
        providers: Option<Vec<String>>,
    },
}

impl Auth {
    /// `POST /api/revoke`: ends the session of a refresh token (the current
    /// one or an earlier one of its family) or, unless
    /// `AUTHD_REVOKE_ACCESS_TOKENS` is `false`, of a valid access token.
    /// Anything else is not an error (RFC 7009 §2.2): there is nothing to
    /// end. The token's form tells the types apart, so a hint is not needed.
    /// A token of a session bound to a DPoP key ends it only with a proof
    /// by that key (an access token's proof with its `ath`).
    pub async fn revoke(&self, token: &str, request: &Presented<'_>) -> Result<(), AuthError> {
        if let Some(refresh) = RefreshToken::parse(token) {
            self.end_by_refresh_token(&refresh, request, Ended::Revoked)
                .await?;
        } else if self.settings.tokens.revoke_access_tokens {
            if let Ok(who) = self.access_tokens.verify(token) {
                let scheme = if who.key.is_some() {
                    Scheme::Dpop
                } else {
                    Scheme::Bearer
                };
                self.check_binding(who, scheme, token, request).await?;
                self.sessions
                    .end(who.user_id, who.session_id, Ended::Revoked)
                    .await?;
            }
        }
        Ok(())
    }

    /// `POST /api/introspect`: an access token is active when it verifies
    /// and its session lives (whatever `AUTHD_ACCESS_TOKEN_CHECK` says); a
    /// refresh token when it is its live session's current token. Reads
    /// only: never rotates, never counts as reuse.
    pub async fn introspect(&self, token: &str) -> Result<TokenState, AuthError> {
        if let Some(refresh) = RefreshToken::parse(token) {
            let Some(current) = self.sessions.inspect(&refresh).await? else {
                return Ok(TokenState::Inactive);
            };
            let rules = self.access_tokens.rules();
            return Ok(TokenState::Refresh {
                identity: Identity {
                    user_id: refresh.user_id,
                    session_id: refresh.session_id,
                    key: None,
                    amr: authd_guard::Amr::empty(),
                },
                issuer: rules.0.to_string(),
                audience: rules.1.to_string(),
                expires_at: unix_now() + current.expires_in.as_secs(),
                issued_at: (current.issued_at_ms.max(0) / 1000) as u64,
                email_verified: current.email_verified,
                providers: self.introspected_providers(refresh.user_id).await?,
            });
        }
        // Verification tolerates clock skew (`AUTHD_JWT_LEEWAY`); a token
        // reported with an `exp` in the past would contradict `active`.
        let claims = match self.access_tokens.inspect(token) {
            Ok(claims) if claims.expires_at > unix_now() => claims,
            _ => return Ok(TokenState::Inactive),
        };
        let who = claims.identity;
        if !self.sessions.is_live(who.user_id, who.session_id).await? {
            return Ok(TokenState::Inactive);
        }
        let providers = self.introspected_providers(who.user_id).await?;
        Ok(TokenState::Access(claims, providers))
    }
}
