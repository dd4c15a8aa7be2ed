//! Sign-in with an OpenID provider's ID token (`POST /api/login/id-token`):
//! the token checked by `federation`, then who the user is by the identity
//! (issuer, `sub`), never by the email, then a session as after a
//! password, or the second step for a user with a second factor.

use authd_guard::{Amr, Presented, Thumbprint};

use super::login::{device_name, LoginOutcome};
use super::{Auth, AuthError, Client};
use crate::common::telemetry::{self, IdTokenLogin};
use crate::connections::StoreError;
use crate::federation::VerifiedIdToken;
use crate::users::{AccountForIdentity, Credentials, Email, NewIdentity};

/// What the 404 of a route of sign-in with providers says.
pub const PROVIDERS_OFF: &str =
    "sign-in with OpenID providers is off: set AUTHD_OIDC_PROVIDERS to turn it on";

/// How many times a first sign-in looks again when an identity or address
/// appeared under it (another sign-in or registration at the same moment).
const RACE_RETRIES: usize = 3;

impl Auth {
    /// `POST /api/login/id-token`: a session for the user the provider's
    /// ID token names (made or linked on first sign-in, by the contract's
    /// rules), or its second step.
    pub async fn login_with_id_token(
        &self,
        provider: &str,
        id_token: &str,
        nonce: &str,
        device: Option<&str>,
        client: &Client,
        presented: &Presented<'_>,
    ) -> Result<LoginOutcome, AuthError> {
        let outcome = async {
            if !self.federation.is_on() {
                return Err(AuthError::Off(PROVIDERS_OFF));
            }
            let device = device_name(device)?;
            let key = self
                .proof(presented, None, self.dpop.required)
                .await?
                .map(|p| p.thumbprint);
            let verified = self.verified_id_token(provider, id_token, nonce).await?;
            let credentials = self.user_of(provider, &verified).await?;
            self.federated_session(&credentials, device, client, key)
                .await
        }
        .await;
        self.count_id_token_login(provider, &outcome);
        outcome
    }

    /// What a user the provider vouched for gets, as after a password: a
    /// session, or the second step when they have a second factor.
    pub(super) async fn federated_session(
        &self,
        credentials: &Credentials,
        device: Option<String>,
        client: &Client,
        key: Option<Thumbprint>,
    ) -> Result<LoginOutcome, AuthError> {
        // A disabled account answers as a refused token would.
        if credentials.user.disabled {
            return Err(AuthError::InvalidCredentials);
        }
        if self.settings.accounts.require_verified_email && !credentials.user.email_verified {
            return Err(AuthError::EmailNotVerified);
        }
        if credentials.factors.any() {
            let challenge = self
                .second_step(credentials, device, Amr::FEDERATED)
                .await?;
            return Ok(LoginOutcome::SecondStep(challenge));
        }
        self.open_session(credentials, device, client, key, Amr::FEDERATED)
            .await
            .map(LoginOutcome::Session)
    }

    /// `authd_id_token_logins_total`, by provider and outcome.
    pub(super) fn count_id_token_login(
        &self,
        provider: &str,
        outcome: &Result<LoginOutcome, AuthError>,
    ) {
        let label = if self.federation.provider(provider).is_some() {
            provider
        } else {
            "unknown"
        };
        telemetry::id_token_login(
            label,
            match outcome {
                Ok(LoginOutcome::Session(_)) => IdTokenLogin::Success,
                Ok(LoginOutcome::SecondStep(_)) => IdTokenLogin::SecondStep,
                Err(AuthError::AccountExists | AuthError::AddressNotVerified) => {
                    IdTokenLogin::Conflict
                }
                Err(
                    AuthError::Store(_)
                    | AuthError::ProviderUnavailable(_)
                    | AuthError::HashingBusy
                    | AuthError::Internal(_),
                ) => IdTokenLogin::Unavailable,
                Err(_) => IdTokenLogin::Invalid,
            },
        );
    }

    /// The account of a verified ID token's identity. A first sign-in makes
    /// one, or links the identity to the account holding its address when
    /// both the provider and that account have verified it:
    ///
    /// - a known identity is its user;
    /// - a verified address of an account with it verified: linked;
    /// - a verified address of an account without: 409 `account_exists`;
    /// - a verified address of nobody's: a new account with it, verified;
    /// - an unverified address: 409 `email_not_verified`;
    /// - no address: a new account without one.
    pub(super) async fn user_of(
        &self,
        provider: &str,
        token: &VerifiedIdToken,
    ) -> Result<Credentials, AuthError> {
        let identity = NewIdentity {
            provider: provider.to_string(),
            issuer: token.issuer.clone(),
            subject: token.subject.clone(),
            email: token.email.clone(),
        };
        let email = match (&token.email, token.email_verified) {
            (Some(address), true) => Some(Email::parse(address).ok_or(
                AuthError::IdTokenRefused("the ID token's email is not an address authd accepts"),
            )?),
            (Some(_), false) => None,
            (None, _) => None,
        };
        for _ in 0..RACE_RETRIES {
            if let Some(known) = self
                .users
                .credentials_by_identity(&token.issuer, &token.subject)
                .await?
            {
                return Ok(known);
            }
            if token.email.is_some() && !token.email_verified {
                return Err(AuthError::AddressNotVerified);
            }
            if let Some(email) = &email {
                if let Some(holder) = self.users.credentials_by_email(email).await? {
                    if !holder.user.email_verified {
                        return Err(AuthError::AccountExists);
                    }
                    if self.users.link_identity(holder.user.id, &identity).await? {
                        return Ok(holder);
                    }
                    continue; // linked meanwhile: look again
                }
            }
            match self
                .users
                .create_for_identity(email.as_ref(), &identity)
                .await?
            {
                AccountForIdentity::Made(user) => {
                    if let Some(made) = self.users.credentials_by_id(user.id).await? {
                        return Ok(made);
                    }
                }
                AccountForIdentity::EmailTaken | AccountForIdentity::IdentityTaken => {}
            }
        }
        Err(StoreError::DatabaseRow(
            "an identity's account kept changing under a first sign-in".into(),
        )
        .into())
    }
}
