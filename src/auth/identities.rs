//! A user's identities at OpenID providers: listing, linking one more with
//! a fresh ID token, unlinking one (never the last way in), and an ID token
//! of a linked identity as the proof a sensitive change asks for in place
//! of the password.

use uuid::Uuid;

use super::federated::PROVIDERS_OFF;
use super::{Auth, AuthError, Client};
use crate::common::identity::Identity;
use crate::federation::{FederationError, VerifiedIdToken};
use crate::users::{Credentials, Email, IdentityRow, NewIdentity, Unlinked};

const UNKNOWN_PROVIDER: &str = "provider is not one this server signs in with";
const BAD_NONCE: &str =
    "nonce must be the nonce the app kept (the ID token carries its SHA-256): 1 to 512 characters";
const BAD_ID_TOKEN: &str = "id_token must be the provider's ID token (a JWT)";
/// How old an ID token may be when it stands in for a password.
const FRESH_FOR_SECS: u64 = 600;

/// What proves the user is present for a sensitive change: the password,
/// or a fresh ID token of one of their identities.
pub enum FreshProof<'a> {
    Password(&'a str),
    IdToken {
        provider: &'a str,
        id_token: &'a str,
        nonce: &'a str,
    },
}

impl Auth {
    /// The provider's ID token, checked in full and its nonce spent; the
    /// request's fields checked first.
    pub(super) async fn verified_id_token(
        &self,
        provider: &str,
        id_token: &str,
        nonce: &str,
    ) -> Result<VerifiedIdToken, AuthError> {
        if !self.federation.is_on() {
            return Err(AuthError::Off(PROVIDERS_OFF));
        }
        if self.federation.provider(provider).is_none() {
            return Err(AuthError::InvalidRequest(UNKNOWN_PROVIDER));
        }
        if id_token.is_empty() {
            return Err(AuthError::InvalidRequest(BAD_ID_TOKEN));
        }
        if nonce.is_empty() || nonce.len() > 512 {
            return Err(AuthError::InvalidRequest(BAD_NONCE));
        }
        self.federation
            .verify(provider, id_token, nonce)
            .await
            .map_err(|e| match e {
                FederationError::UnknownProvider => AuthError::InvalidRequest(UNKNOWN_PROVIDER),
                FederationError::Refused(why) => AuthError::IdTokenRefused(why.0),
                FederationError::Unavailable(cause) => AuthError::ProviderUnavailable(cause),
                FederationError::Store(e) => AuthError::Store(e),
            })
    }

    /// The providers the user signs in with, each once, in the order they
    /// were linked.
    pub(super) async fn providers_of(&self, user: Uuid) -> Result<Vec<String>, AuthError> {
        let mut providers: Vec<String> = Vec::new();
        for identity in self.users.identities_of(user).await? {
            if !providers.contains(&identity.provider) {
                providers.push(identity.provider);
            }
        }
        Ok(providers)
    }

    /// What introspection lists: the user's providers while sign-in with
    /// providers is on (none asked of SQL otherwise).
    pub(super) async fn introspected_providers(
        &self,
        user: Uuid,
    ) -> Result<Option<Vec<String>>, AuthError> {
        if !self.federation.is_on() {
            return Ok(None);
        }
        self.providers_of(user).await.map(Some)
    }

    /// `GET /api/identities`.
    pub async fn identities(&self, who: Identity) -> Result<Vec<IdentityRow>, AuthError> {
        Ok(self.users.identities_of(who.user_id).await?)
    }

    /// `POST /api/identities`: the ID token's identity, linked to the
    /// caller (again: the same answer); 409 `identity_in_use` when it is
    /// another user's. A new way in is a sensitive change: step-up applies.
    pub async fn link_identity(
        &self,
        who: Identity,
        provider: &str,
        id_token: &str,
        nonce: &str,
    ) -> Result<IdentityRow, AuthError> {
        let credentials = self.caller(who).await?;
        self.step_up(who, &credentials).await?;
        let token = self.verified_id_token(provider, id_token, nonce).await?;
        let identity = NewIdentity {
            provider: provider.to_string(),
            issuer: token.issuer.clone(),
            subject: token.subject.clone(),
            email: token.email.clone(),
        };
        let linked = self.users.link_identity(who.user_id, &identity).await?;
        if !linked
            && self
                .users
                .identity_owner(&token.issuer, &token.subject)
                .await?
                != Some(who.user_id)
        {
            return Err(AuthError::IdentityInUse);
        }
        self.users
            .identities_of(who.user_id)
            .await?
            .into_iter()
            .find(|row| row.provider == provider && row.subject == token.subject)
            .ok_or(AuthError::IdentityInUse)
    }

    /// `DELETE /api/identities/{id}`: 409 `last_sign_in_method` when the
    /// user would be left without a password, a passkey or another
    /// identity; 404 when it is not the caller's. Step-up applies.
    pub async fn unlink_identity(&self, who: Identity, id: Uuid) -> Result<(), AuthError> {
        let credentials = self.caller(who).await?;
        self.step_up(who, &credentials).await?;
        match self.users.unlink_identity(who.user_id, id, true).await? {
            Unlinked::Done => Ok(()),
            Unlinked::NotFound => Err(AuthError::NotFound),
            Unlinked::LastWayIn => Err(AuthError::LastSignInMethod),
        }
    }

    /// That the user is present, for a password change or a deletion: the
    /// password (checked under the login throttle), or an ID token of one
    /// of the user's identities issued in the last 10 minutes.
    pub(super) async fn fresh_proof(
        &self,
        credentials: &Credentials,
        proof: FreshProof<'_>,
        client: &Client,
    ) -> Result<(), AuthError> {
        match proof {
            FreshProof::Password(password) => {
                let password = super::password::presented_password(password)?;
                let email = Email::stored(&credentials.user.email);
                self.checked(&email, client.ip, async {
                    let matched = match password {
                        Some(password) => {
                            self.password_matches(password, Some(credentials)).await?
                        }
                        None => false,
                    };
                    Ok(matched.then_some(()))
                })
                .await
                .map_err(|e| match e {
                    AuthError::InvalidCredentials => AuthError::WrongPassword,
                    other => other,
                })
            }
            FreshProof::IdToken {
                provider,
                id_token,
                nonce,
            } => {
                if !self.federation.is_on() {
                    return Err(AuthError::InvalidRequest(
                        "sign-in with providers is off here: send the password",
                    ));
                }
                let token = self.verified_id_token(provider, id_token, nonce).await?;
                let owner = self
                    .users
                    .identity_owner(&token.issuer, &token.subject)
                    .await?;
                if owner != Some(credentials.user.id) {
                    return Err(AuthError::IdTokenRefused(
                        "the ID token is not of an identity linked to this account",
                    ));
                }
                if token.issued_at + FRESH_FOR_SECS < crate::common::clock::unix_now() {
                    return Err(AuthError::IdTokenRefused(
                        "the ID token is older than 10 minutes: sign in with the provider again",
                    ));
                }
                Ok(())
            }
        }
    }
}
