//! Second factors: TOTP enrolment (with recovery codes), and the second
//! step of a login for a user who has a factor on.
//!
//! A password login of such a user checks the password as always (under the
//! throttle, which it does not clear: only the second step does), then opens
//! a second step in Redis and answers `mfa_required` with its single-use
//! `mfa_token`. `POST /api/login/mfa` answers it with a TOTP code, a
//! recovery code or a WebAuthn assertion; every wrong answer counts toward
//! the login throttle, and the step closes after five. A password change
//! meanwhile makes the step fail (the session would be stale).

use authd_guard::{Amr, Presented, TokenProblem};
use serde::{Deserialize, Serialize};
use std::future::Future;

use uuid::Uuid;
use webauthn_rs::prelude::{PasskeyAuthentication, PublicKeyCredential, RequestChallengeResponse};

use super::{Auth, AuthError, Client, InternalError, TokenPair};
use crate::common::identity::Identity;
use crate::connections::StoreError;
use crate::factors::{recovery_codes, TotpSecret};
use crate::mail::MailKind;
use crate::users::{Credentials, Email, EnabledFactors, FactorAdded, TotpEnrolment};

/// What a client answers the second step with.
pub enum SecondFactor {
    /// A TOTP code.
    Code(String),
    RecoveryCode(String),
    /// A WebAuthn assertion (`PublicKeyCredential` JSON).
    Credential(serde_json::Value),
}

/// `mfa_required`: the password was right; a second step must follow.
pub struct MfaRequired {
    pub mfa_token: String,
    /// `totp`, `webauthn`.
    pub factors: Vec<&'static str>,
    /// For `webauthn`: the `PublicKeyCredentialRequestOptions` to pass to
    /// the authenticator.
    pub public_key: Option<serde_json::Value>,
}

/// The `mfa_token` is a credential: never printed.
impl std::fmt::Debug for MfaRequired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaRequired")
            .field("factors", &self.factors)
            .finish_non_exhaustive()
    }
}

/// A new TOTP enrolment, shown once.
pub struct TotpEnrolmentStarted {
    pub secret: String,
    pub otpauth_uri: String,
}

/// What the second step remembers between the two requests.
#[derive(Serialize, Deserialize)]
struct PendingLogin {
    user: Uuid,
    /// The credential version the password was checked against.
    version: i64,
    device: Option<String>,
    totp: bool,
    webauthn: Option<PasskeyAuthentication>,
    /// The first step was an ID token, not a password (absent in steps
    /// opened before sign-in with providers: a password).
    #[serde(default)]
    federated: bool,
}

const UNKNOWN_STEP: &str = "the mfa_token is unknown, expired or used: log in again";
const WRONG_ANSWER: &str = "the code, recovery code or passkey is wrong or was used already";

impl Auth {
    /// Opens the second step of a login whose first step (`first`: a
    /// password, or an ID token) was right.
    pub(super) async fn second_step(
        &self,
        credentials: &Credentials,
        device: Option<String>,
        first: Amr,
    ) -> Result<MfaRequired, AuthError> {
        let user = credentials.user.id;
        let mut factors = Vec::new();
        if credentials.factors.totp {
            factors.push("totp");
        }
        // With passkeys off (a development setting changed since they were
        // registered) only the other factors are offered.
        let relying_party = self.factors.relying_party.as_ref();
        let (public_key, webauthn) = match relying_party {
            Some(relying_party) if credentials.factors.webauthn => {
                let passkeys = self.stored_passkeys(user).await?;
                let (options, state) = relying_party
                    .start_authentication(&passkeys)
                    .map_err(|e| AuthError::Internal(InternalError::Webauthn(e.to_string())))?;
                factors.push("webauthn");
                (Some(request_options(&options)?), Some(state))
            }
            _ => (None, None),
        };
        if factors.is_empty() {
            return Err(AuthError::Off(super::passkeys::PASSKEYS_OFF));
        }
        let pending = PendingLogin {
            user,
            version: credentials.version,
            device,
            totp: credentials.factors.totp,
            webauthn,
            federated: first.contains(Amr::FEDERATED),
        };
        let state = serde_json::to_string(&pending)
            .map_err(|e| AuthError::Internal(InternalError::Serialise(e)))?;
        let mfa_token = self.factors.challenges.open_mfa(&state).await?;
        Ok(MfaRequired {
            mfa_token,
            factors,
            public_key,
        })
    }

    /// `POST /api/login/mfa`: the second step, answered.
    pub async fn login_mfa(
        &self,
        mfa_token: &str,
        answer: SecondFactor,
        client: &Client,
        presented: &Presented<'_>,
    ) -> Result<TokenPair, AuthError> {
        let key = self
            .proof(presented, None, self.dpop.required)
            .await?
            .map(|p| p.thumbprint);
        let challenges = &self.factors.challenges;
        // An attempt is taken before the answer is checked: parallel
        // answers cannot get past the limit.
        let pending: PendingLogin = challenges
            .mfa_attempt(mfa_token)
            .await?
            .and_then(|state| serde_json::from_str(&state).ok())
            .ok_or(AuthError::InvalidFactor(UNKNOWN_STEP))?;
        let credentials = self
            .users
            .credentials_by_id(pending.user)
            .await?
            // A password change or a disabled account since the first step.
            .filter(|c| c.version == pending.version && !c.user.disabled)
            .ok_or(AuthError::InvalidFactor(UNKNOWN_STEP))?;
        let email = stored_email(&credentials);
        let checked = self
            .checked(&email, client.ip, async {
                self.second_factor_matches(&credentials, &pending, answer)
                    .await
            })
            .await;
        let amr = match checked {
            Ok(amr) => amr,
            Err(AuthError::InvalidCredentials) => {
                return Err(AuthError::InvalidFactor(WRONG_ANSWER))
            }
            Err(e) => return Err(e),
        };
        // Single use: of two right answers at once, one opens a session.
        if !challenges.close_mfa(mfa_token).await? {
            return Err(AuthError::InvalidFactor(UNKNOWN_STEP));
        }
        self.open_session(&credentials, pending.device, client, key, amr)
            .await
    }

    /// The methods a right answer adds to the password, or none.
    async fn second_factor_matches(
        &self,
        credentials: &Credentials,
        pending: &PendingLogin,
        answer: SecondFactor,
    ) -> Result<Option<Amr>, AuthError> {
        let user = credentials.user.id;
        let first = if pending.federated {
            Amr::FEDERATED
        } else {
            Amr::PASSWORD
        };
        let with_first = first.with(Amr::MULTIPLE_FACTORS);
        match answer {
            SecondFactor::Code(code) => {
                if !pending.totp {
                    return Ok(None);
                }
                let Some(enrolment) = self.users.totp(user).await?.filter(|e| e.confirmed) else {
                    return Ok(None);
                };
                let secret = self.open_secret(user, &enrolment)?;
                Ok(self
                    .totp_code_matches(user, &secret, &code)
                    .await?
                    .then_some(with_first.with(Amr::ONE_TIME_CODE)))
            }
            SecondFactor::RecoveryCode(code) => Ok(self
                .recovery_code_matches(credentials, &code)
                .await?
                .then_some(with_first.with(Amr::ONE_TIME_CODE))),
            SecondFactor::Credential(assertion) => {
                let Some(state) = &pending.webauthn else {
                    return Ok(None);
                };
                let assertion: PublicKeyCredential =
                    serde_json::from_value(assertion).map_err(|_| {
                        AuthError::InvalidRequest("credential is not a WebAuthn assertion")
                    })?;
                let result = match self
                    .relying_party()?
                    .finish_authentication(&assertion, state)
                {
                    Ok(result) => result,
                    Err(e) => {
                        log::info!("user {user}: passkey assertion refused: {e}");
                        return Ok(None);
                    }
                };
                Ok(self
                    .passkey_used(user, &result)
                    .await?
                    .map(|key| with_first.with(key)))
            }
        }
    }

    /// `POST /api/mfa/totp`: a pending enrolment (a new secret, replacing a
    /// pending one), or 409 when TOTP is on.
    pub async fn enrol_totp(&self, who: Identity) -> Result<TotpEnrolmentStarted, AuthError> {
        let credentials = self.caller(who).await?;
        if credentials.factors.totp {
            return Err(AuthError::AlreadyEnrolled);
        }
        self.step_up(who, &credentials).await?;
        let user = &credentials.user;
        let secret = TotpSecret::generate();
        let sealed = self
            .factors
            .sealer
            .seal(secret.bytes(), user.id.as_bytes())
            .map_err(|e| AuthError::Internal(InternalError::Sealing(e)))?;
        if !self.users.begin_totp(user.id, &sealed).await? {
            return Err(AuthError::AlreadyEnrolled);
        }
        Ok(TotpEnrolmentStarted {
            otpauth_uri: secret.uri(&self.factors.issuer, &user.email),
            secret: secret.base32(),
        })
    }

    /// `POST /api/mfa/totp/confirm`: the first code turns TOTP on; the
    /// answer is the ten recovery codes, shown once.
    pub async fn confirm_totp(
        &self,
        who: Identity,
        code: &str,
        client: &Client,
    ) -> Result<Vec<String>, AuthError> {
        let credentials = self.caller(who).await?;
        self.step_up(who, &credentials).await?;
        let user = credentials.user.id;
        let enrolment = match self.users.totp(user).await? {
            Some(e) if e.confirmed => return Err(AuthError::AlreadyEnrolled),
            Some(e) => e,
            None => {
                return Err(AuthError::InvalidFactor(
                    "no TOTP enrolment is pending: POST /api/mfa/totp first",
                ))
            }
        };
        let secret = self.open_secret(user, &enrolment)?;
        let email = stored_email(&credentials);
        self.checked(&email, client.ip, async {
            Ok(self
                .totp_code_matches(user, &secret, code)
                .await?
                .then_some(()))
        })
        .await
        .map_err(wrong_code)?;
        let codes = recovery_codes::generate();
        let hashes = codes
            .iter()
            .filter_map(|code| recovery_codes::hash(user, code))
            .collect();
        let notice = self
            .mailer
            .notice(MailKind::FactorAdded, &credentials.user.email);
        let (users, sealed) = (self.users.clone(), enrolment.secret.clone());
        self.add_factor(who, async move {
            users
                .confirm_totp(user, &sealed, hashes, notice, who.session_id)
                .await
        })
        .await?
        .ok_or(AuthError::InvalidFactor(
            "the enrolment was replaced by a newer one: confirm that one",
        ))?;
        self.mailer.queued(MailKind::FactorAdded);
        log::info!("user {user}: TOTP turned on");
        Ok(codes)
    }

    /// `DELETE /api/mfa/totp`: TOTP off, proven by a code or a recovery
    /// code (throttled like a password).
    pub async fn disable_totp(
        &self,
        who: Identity,
        answer: SecondFactor,
        client: &Client,
    ) -> Result<(), AuthError> {
        let credentials = self.caller(who).await?;
        let user = credentials.user.id;
        let Some(enrolment) = self.users.totp(user).await?.filter(|e| e.confirmed) else {
            return Err(AuthError::InvalidFactor("TOTP is not on"));
        };
        self.step_up(who, &credentials).await?;
        let email = stored_email(&credentials);
        self.checked(&email, client.ip, async {
            let matched = match &answer {
                SecondFactor::Code(code) => {
                    let secret = self.open_secret(user, &enrolment)?;
                    self.totp_code_matches(user, &secret, code).await?
                }
                SecondFactor::RecoveryCode(code) => {
                    self.recovery_code_matches(&credentials, code).await?
                }
                SecondFactor::Credential(_) => false,
            };
            Ok(matched.then_some(()))
        })
        .await
        .map_err(wrong_code)?;
        let notice = self
            .mailer
            .notice(MailKind::FactorsRemoved, &credentials.user.email);
        if self.users.disable_totp(user, notice).await? {
            self.mailer.queued(MailKind::FactorsRemoved);
            log::info!("user {user}: TOTP turned off");
        }
        Ok(())
    }

    /// Whether `code` is the user's current (or previous) code, not used
    /// before on any instance.
    async fn totp_code_matches(
        &self,
        user: Uuid,
        secret: &TotpSecret,
        code: &str,
    ) -> Result<bool, AuthError> {
        let now = crate::common::clock::unix_now();
        let Some(step) = secret.matching_step(code, now) else {
            return Ok(false);
        };
        Ok(self.factors.challenges.spend_totp_step(user, step).await?)
    }

    /// Spends a recovery code: true once per code, and a notice is mailed.
    async fn recovery_code_matches(
        &self,
        credentials: &Credentials,
        code: &str,
    ) -> Result<bool, AuthError> {
        let user = credentials.user.id;
        let Some(hash) = recovery_codes::hash(user, code) else {
            return Ok(false);
        };
        let notice = self
            .mailer
            .notice(MailKind::RecoveryCodeUsed, &credentials.user.email);
        let used = self.users.use_recovery_code(user, &hash, notice).await?;
        if used {
            self.mailer.queued(MailKind::RecoveryCodeUsed);
            log::info!("user {user}: a recovery code was used");
        }
        Ok(used)
    }

    fn open_secret(&self, user: Uuid, enrolment: &TotpEnrolment) -> Result<TotpSecret, AuthError> {
        self.factors
            .sealer
            .open(&enrolment.secret, user.as_bytes())
            .map(TotpSecret::from_bytes)
            .map_err(|e| AuthError::Internal(InternalError::Sealing(e)))
    }

    /// The caller's account, or 401 when it is gone.
    pub(super) async fn caller(&self, who: Identity) -> Result<Credentials, AuthError> {
        self.users
            .credentials_by_id(who.user_id)
            .await?
            .ok_or(AuthError::InvalidToken(TokenProblem::SessionEnded))
    }

    /// RFC 9470 step-up before what could take the account over: changing
    /// the password, deleting the account, adding or removing a factor. A
    /// session whose login used none of the factors the user has now may do
    /// none of it (403 `insufficient_user_authentication`), whatever
    /// `AUTHD_REQUIRE_MFA` says: else a session stolen with the password
    /// alone outlives the factor its owner turns on. A user's first factor
    /// needs only a valid token (and a notice is mailed).
    ///
    /// A credential change whose Redis step never ran (a password change or
    /// a first factor that answered before its sessions ended) is finished
    /// first, as a login would.
    pub(super) async fn step_up(
        &self,
        who: Identity,
        credentials: &Credentials,
    ) -> Result<(), AuthError> {
        // A change finished here ended every session but the one that
        // made it: the caller's too, unless it is that one.
        if self.finish_pending_change(credentials).await?
            && credentials.changed_by != Some(who.session_id)
        {
            return Err(AuthError::InvalidToken(TokenProblem::SessionEnded));
        }
        if !proves_a_factor_of(who.amr, credentials.factors) {
            return Err(AuthError::InsufficientAuthentication);
        }
        Ok(())
    }

    /// Adds a factor (`commit`: its SQL transaction) and, when it is the
    /// user's first, ends every other session of the user on every
    /// instance behind the credential fence that transaction raised, as a
    /// password change does. Both run in a task of their own, so a client
    /// hanging up cannot stop them between the two. The factor is on once
    /// `commit` lands: the answer (recovery codes, the new passkey) must
    /// then go out, so a Redis that fails the first attempt does not make
    /// it a 503 (the codes would be lost); the task keeps trying with
    /// backoff, and the next login or step-up of the user finishes the step
    /// too (`finish_pending_change`). While Redis is down no session refreshes anyway.
    pub(super) async fn add_factor(
        &self,
        who: Identity,
        commit: impl Future<Output = Result<Option<FactorAdded>, StoreError>> + Send + 'static,
    ) -> Result<Option<FactorAdded>, AuthError> {
        let sessions = self.sessions.clone();
        let (answer, answered) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let added = match commit.await {
                Ok(Some(FactorAdded::First { version })) => version,
                other => {
                    let _ = answer.send(other);
                    return;
                }
            };
            let user = who.user_id;
            let mut answer = Some(answer);
            let mut delay = FENCE_FIRST_RETRY;
            let give_up = std::time::Instant::now() + FENCE_RETRIES_FOR;
            loop {
                match sessions
                    .end_all(user, Some(who.session_id), Some(added))
                    .await
                {
                    Ok(_) => {
                        log::info!(
                            "user {user}: first second factor on; every other session ended"
                        );
                        break;
                    }
                    Err(e) if std::time::Instant::now() < give_up => {
                        log::warn!(
                            "user {user}: first second factor on, but ending the other sessions failed ({}); retrying in {delay:?}",
                            crate::common::error_chain(&e)
                        );
                    }
                    Err(e) => {
                        log::error!(
                            "user {user}: ending the other sessions after a first second factor kept failing ({}); the next login or sensitive change of the user finishes it",
                            crate::common::error_chain(&e)
                        );
                        break;
                    }
                }
                if let Some(answer) = answer.take() {
                    let _ = answer.send(Ok(Some(FactorAdded::First { version: added })));
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(FENCE_MAX_RETRY);
            }
            if let Some(answer) = answer.take() {
                let _ = answer.send(Ok(Some(FactorAdded::First { version: added })));
            }
        });
        Ok(answered
            .await
            .map_err(|_| AuthError::Internal(InternalError::TaskGone))??)
    }
}

/// How the fence of a first factor is retried when Redis fails it.
const FENCE_FIRST_RETRY: std::time::Duration = std::time::Duration::from_secs(1);
const FENCE_MAX_RETRY: std::time::Duration = std::time::Duration::from_secs(30);
const FENCE_RETRIES_FOR: std::time::Duration = std::time::Duration::from_secs(600);

/// Whether a login with `amr` used one of `factors` (any login does when
/// there are none): a TOTP or recovery code for TOTP, a passkey for passkeys.
pub(super) fn proves_a_factor_of(amr: Amr, factors: EnabledFactors) -> bool {
    let passkey = amr.contains(Amr::HARDWARE_KEY) || amr.contains(Amr::SOFTWARE_KEY);
    !factors.any()
        || (factors.totp && amr.contains(Amr::ONE_TIME_CODE))
        || (factors.webauthn && passkey)
}

fn request_options(options: &RequestChallengeResponse) -> Result<serde_json::Value, AuthError> {
    serde_json::to_value(&options.public_key)
        .map_err(|e| AuthError::Internal(InternalError::Serialise(e)))
}

fn stored_email(credentials: &Credentials) -> Email {
    Email::stored(&credentials.user.email)
}

/// A wrong code under the throttle: `invalid_grant`, saying what was wrong.
fn wrong_code(e: AuthError) -> AuthError {
    match e {
        AuthError::InvalidCredentials => AuthError::InvalidFactor(WRONG_ANSWER),
        other => other,
    }
}
