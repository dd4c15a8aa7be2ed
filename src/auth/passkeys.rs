//! Passkeys (WebAuthn): registration by a signed-in user, the list, and a
//! login with a passkey alone (discoverable, or after an email). Each
//! ceremony's state waits in Redis for 5 minutes, single use, so any
//! instance finishes a ceremony another began; a user starts at most 10
//! registrations a minute and has at most 3 pending. Every assertion advances the
//! passkey's signature counter in SQL by compare-and-swap: a counter that
//! goes backwards (a cloned authenticator, a replay) is refused everywhere.

use authd_guard::{Amr, Presented};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
};

use super::login::device_name;
use super::{lookup_email, Auth, AuthError, Client, InternalError, TokenPair};
use crate::common::clock::unix_now;
use crate::common::identity::Identity;
use crate::factors::webauthn::{backup_eligible, AuthenticationResult};
use crate::factors::RelyingParty;
use crate::mail::MailKind;
use crate::users::{PasskeyDeleted, PasskeyRow};

/// A ceremony between its start and its finish.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Ceremony {
    Register {
        user: Uuid,
        name: String,
        state: PasskeyRegistration,
    },
    Login {
        user: Uuid,
        state: PasskeyAuthentication,
    },
    Discover {
        state: DiscoverableAuthentication,
    },
    /// A login started with an address without passkeys: it lists
    /// stand-ins, and nothing finishes it (the answer is the one a refused
    /// passkey gets, not that of an unknown challenge).
    StandIn,
}

/// A passkey as its owner sees it.
pub struct PasskeyInfo {
    pub id: Uuid,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// Synced between devices (`swk`), else bound to one (`hwk`).
    pub synced: bool,
}

impl From<PasskeyRow> for PasskeyInfo {
    fn from(row: PasskeyRow) -> Self {
        Self {
            id: row.id,
            name: row.name,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            synced: row.backup_eligible,
        }
    }
}

/// Why passkey routes answer 404, and what turns them on.
pub(super) const PASSKEYS_OFF: &str = "passkeys are off on this server: AUTHD_PUBLIC_URL's host is not a domain a passkey can be bound to; set AUTHD_WEBAUTHN_RP_ID and AUTHD_WEBAUTHN_ORIGINS";
const UNKNOWN_CEREMONY: &str = "the challenge_id is unknown, expired or used: start again";
const REFUSED: &str = "the passkey was refused";

impl Auth {
    /// `POST /api/passkeys/register/start`.
    pub async fn passkey_register_start(
        &self,
        who: Identity,
        name: Option<&str>,
    ) -> Result<(String, CreationChallengeResponse), AuthError> {
        let name = device_name(name)?.unwrap_or_else(|| "Passkey".to_string());
        let credentials = self.caller(who).await?;
        self.step_up(who, &credentials).await?;
        if let Some(retry_after_secs) = self
            .throttle
            .admit_passkey_registration(credentials.user.id)
            .await?
        {
            return Err(AuthError::RateLimited { retry_after_secs });
        }
        let user = credentials.user;
        let existing = self.stored_passkeys(user.id).await?;
        let (options, state) = self
            .relying_party()?
            .start_registration(user.id, &user.email, existing)
            .map_err(|e| AuthError::Internal(InternalError::Webauthn(e.to_string())))?;
        let state = serde_json::to_string(&Ceremony::Register {
            user: user.id,
            name,
            state,
        })
        .map_err(|e| AuthError::Internal(InternalError::Serialise(e)))?;
        let id = self
            .factors
            .challenges
            .put_registration(user.id, &state)
            .await?;
        Ok((id, options))
    }

    /// `POST /api/passkeys/register/finish`.
    pub async fn passkey_register_finish(
        &self,
        who: Identity,
        challenge_id: &str,
        credential: serde_json::Value,
    ) -> Result<PasskeyInfo, AuthError> {
        let credential: RegisterPublicKeyCredential = serde_json::from_value(credential)
            .map_err(|_| AuthError::InvalidRequest("credential is not a WebAuthn attestation"))?;
        // Another user's ceremony is as good as none: it is not under this
        // user's key.
        let taken = self
            .factors
            .challenges
            .take_registration(who.user_id, challenge_id)
            .await?
            .and_then(|state| serde_json::from_str(&state).ok());
        let Some(Ceremony::Register { user, name, state }) = taken else {
            return Err(AuthError::InvalidFactor(UNKNOWN_CEREMONY));
        };
        if user != who.user_id {
            return Err(AuthError::InvalidFactor(UNKNOWN_CEREMONY));
        }
        let credentials = self.caller(who).await?;
        self.step_up(who, &credentials).await?;
        let passkey = self
            .relying_party()?
            .finish_registration(&credential, &state)
            .map_err(|e| {
                log::info!("user {user}: passkey registration refused: {e}");
                AuthError::InvalidFactor(REFUSED)
            })?;
        let row = PasskeyRow {
            id: Uuid::new_v4(),
            user_id: user,
            credential_id: URL_SAFE_NO_PAD.encode(passkey.cred_id().as_ref()),
            name,
            credential: serde_json::to_string(&passkey)
                .map_err(|e| AuthError::Internal(InternalError::Serialise(e)))?,
            sign_count: 0,
            backup_eligible: backup_eligible(&passkey),
            created_at: unix_now() as i64,
            last_used_at: None,
        };
        let notice = self
            .mailer
            .notice(MailKind::FactorAdded, &credentials.user.email);
        let (users, stored) = (self.users.clone(), row.clone());
        self.add_factor(who, async move {
            users.add_passkey(stored, notice, who.session_id).await
        })
        .await?
        .ok_or(AuthError::InvalidFactor(
            "this passkey is registered already",
        ))?;
        self.mailer.queued(MailKind::FactorAdded);
        log::info!("user {user}: passkey {} registered", row.id);
        Ok(row.into())
    }

    /// `GET /api/passkeys`.
    pub async fn passkeys(&self, who: Identity) -> Result<Vec<PasskeyInfo>, AuthError> {
        let rows = self.users.passkeys(who.user_id).await?;
        Ok(rows.into_iter().map(PasskeyInfo::from).collect())
    }

    /// `DELETE /api/passkeys/{id}`: 404 for none of the caller's.
    pub async fn delete_passkey(&self, who: Identity, id: &str) -> Result<(), AuthError> {
        let id = Uuid::parse_str(id).map_err(|_| AuthError::NotFound)?;
        let credentials = self.caller(who).await?;
        self.step_up(who, &credentials).await?;
        let notice = self
            .mailer
            .notice(MailKind::FactorsRemoved, &credentials.user.email);
        match self.users.delete_passkey(who.user_id, id, notice).await? {
            PasskeyDeleted::Deleted => {}
            PasskeyDeleted::NotFound => return Err(AuthError::NotFound),
            PasskeyDeleted::LastWayIn => return Err(AuthError::LastSignInMethod),
        }
        self.mailer.queued(MailKind::FactorsRemoved);
        log::info!("user {}: passkey {id} deleted", who.user_id);
        Ok(())
    }

    /// `POST /api/login/passkey/start`: the `challenge_id` and the
    /// `publicKey` options. Without an email, a discoverable login: the
    /// authenticator says whose passkey it is. With one, the same shape for
    /// every address: that user's passkeys, or stand-ins (the same ones
    /// every time for an address) when it has none or no account, after
    /// the same queries; so the answer tells nobody which addresses have
    /// passkeys.
    pub async fn passkey_login_start(
        &self,
        email: Option<&str>,
        client: &Client,
    ) -> Result<(String, serde_json::Value), AuthError> {
        let email = email.map(lookup_email).transpose()?;
        let relying_party = self.relying_party()?;
        if let Some(retry_after_secs) = self.throttle.admit_ceremony(client.ip).await? {
            return Err(AuthError::RateLimited { retry_after_secs });
        }
        let webauthn = |e: webauthn_rs::prelude::WebauthnError| {
            AuthError::Internal(InternalError::Webauthn(e.to_string()))
        };
        let (options, ceremony) = match email {
            None => {
                let (options, state) = relying_party.start_discoverable().map_err(webauthn)?;
                let options = serde_json::to_value(&options.public_key)
                    .map_err(|e| AuthError::Internal(InternalError::Serialise(e)))?;
                (options, Ceremony::Discover { state })
            }
            Some(email) => {
                let user = self
                    .users
                    .credentials_by_email(&email)
                    .await?
                    .filter(|c| c.factors.webauthn)
                    .map(|c| c.user.id);
                // The passkeys query runs for every address.
                let passkeys = self.stored_passkeys(user.unwrap_or_default()).await?;
                match user {
                    Some(user) if !passkeys.is_empty() => {
                        let (options, state) =
                            relying_party.named_login(&passkeys).map_err(webauthn)?;
                        (options, Ceremony::Login { user, state })
                    }
                    _ => {
                        let stand_ins = self.factors.stand_ins.for_address(&email.normalized);
                        let options = relying_party.stand_in_login(&stand_ins).map_err(webauthn)?;
                        (options, Ceremony::StandIn)
                    }
                }
            }
        };
        let id = self.put_ceremony(&ceremony).await?;
        Ok((id, options))
    }

    /// The WebAuthn relying party, or 404 when passkeys are off (the
    /// settings could not be derived from `AUTHD_PUBLIC_URL`).
    pub(super) fn relying_party(&self) -> Result<&RelyingParty, AuthError> {
        self.factors
            .relying_party
            .as_ref()
            .ok_or(AuthError::Off(PASSKEYS_OFF))
    }

    /// `POST /api/login/passkey/finish`: a session, with `amr` `hwk` or
    /// `swk` (and `mfa`: passkeys are verified with a PIN or biometrics).
    pub async fn passkey_login_finish(
        &self,
        challenge_id: &str,
        credential: serde_json::Value,
        device: Option<&str>,
        client: &Client,
        presented: &Presented<'_>,
    ) -> Result<TokenPair, AuthError> {
        let device = device_name(device)?;
        let credential: PublicKeyCredential = serde_json::from_value(credential)
            .map_err(|_| AuthError::InvalidRequest("credential is not a WebAuthn assertion"))?;
        let key = self
            .proof(presented, None, self.dpop.required)
            .await?
            .map(|p| p.thumbprint);
        let relying_party = self.relying_party()?;
        let (user, result) = match self.take_ceremony(challenge_id).await? {
            Some(Ceremony::Login { user, state }) => (
                user,
                relying_party.finish_authentication(&credential, &state),
            ),
            Some(Ceremony::Discover { state }) => {
                // The user handle is not signed: the passkey must be that
                // user's (only theirs are offered to the check).
                let user = relying_party
                    .discovered_user(&credential)
                    .ok_or(AuthError::InvalidFactor(REFUSED))?;
                let passkeys = self.stored_passkeys(user).await?;
                (
                    user,
                    relying_party.finish_discoverable(&credential, state, &passkeys),
                )
            }
            Some(Ceremony::StandIn) => return Err(AuthError::InvalidFactor(REFUSED)),
            _ => return Err(AuthError::InvalidFactor(UNKNOWN_CEREMONY)),
        };
        let result = result.map_err(|e| {
            log::info!("user {user}: passkey login refused: {e}");
            AuthError::InvalidFactor(REFUSED)
        })?;
        let amr = self
            .passkey_used(user, &result)
            .await?
            .ok_or(AuthError::InvalidFactor(REFUSED))?;
        let credentials = self
            .users
            .credentials_by_id(user)
            .await?
            .filter(|c| !c.user.disabled)
            .ok_or(AuthError::InvalidFactor(REFUSED))?;
        if self.settings.accounts.require_verified_email && !credentials.user.email_verified {
            return Err(AuthError::EmailNotVerified);
        }
        self.open_session(&credentials, device, client, key, amr)
            .await
    }

    /// Records an assertion of one of `user`'s passkeys: its counter moves
    /// forward (or the assertion is refused: none), and the methods it
    /// proves come back.
    pub(super) async fn passkey_used(
        &self,
        user: Uuid,
        result: &AuthenticationResult,
    ) -> Result<Option<Amr>, AuthError> {
        let credential_id = URL_SAFE_NO_PAD.encode(result.cred_id().as_ref());
        let Some(row) = self
            .users
            .passkey_by_credential(&credential_id)
            .await?
            .filter(|row| row.user_id == user)
        else {
            return Ok(None);
        };
        let mut passkey: Passkey = serde_json::from_str(&row.credential)
            .map_err(|e| AuthError::Internal(InternalError::Serialise(e)))?;
        passkey.update_credential(result);
        let updated = serde_json::to_string(&passkey)
            .map_err(|e| AuthError::Internal(InternalError::Serialise(e)))?;
        let count = i64::from(result.counter());
        if !self.users.advance_passkey(row.id, count, &updated).await? {
            log::warn!(
                "user {user}: passkey {} signed with counter {count}, not above the {} seen: a cloned authenticator or a replay; refused",
                row.id,
                row.sign_count
            );
            return Ok(None);
        }
        let key = if result.backup_eligible() {
            Amr::SOFTWARE_KEY
        } else {
            Amr::HARDWARE_KEY
        };
        Ok(Some(if result.user_verified() {
            key.with(Amr::MULTIPLE_FACTORS)
        } else {
            key
        }))
    }

    /// The user's passkeys as webauthn-rs reads them.
    pub(super) async fn stored_passkeys(&self, user: Uuid) -> Result<Vec<Passkey>, AuthError> {
        self.users
            .passkeys(user)
            .await?
            .iter()
            .map(|row| {
                serde_json::from_str(&row.credential)
                    .map_err(|e| AuthError::Internal(InternalError::Serialise(e)))
            })
            .collect()
    }

    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<String, AuthError> {
        let state = serde_json::to_string(ceremony)
            .map_err(|e| AuthError::Internal(InternalError::Serialise(e)))?;
        Ok(self.factors.challenges.put_ceremony(&state).await?)
    }

    async fn take_ceremony(&self, challenge_id: &str) -> Result<Option<Ceremony>, AuthError> {
        Ok(self
            .factors
            .challenges
            .take_ceremony(challenge_id)
            .await?
            .and_then(|state| serde_json::from_str(&state).ok()))
    }
}
