//! The SQL rows of second factors: a user's TOTP enrolment, its recovery
//! codes (hashes only) and passkeys. Secrets arrive sealed and credentials
//! serialised: this store keeps text, it decides nothing.

use uuid::Uuid;

use super::identities::{another_way_in, lock_user, Except};
use super::store::{get, UserStore};
use crate::common::clock::unix_now;
use crate::connections::StoreError;
use crate::mail::{outbox, Rendered};

/// What deleting a passkey came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyDeleted {
    Deleted,
    NotFound,
    /// The user's last way in (no password, no other passkey or identity).
    LastWayIn,
}

/// A user's TOTP row.
#[derive(Clone)]
pub struct TotpEnrolment {
    /// Sealed (see the migration): never logged.
    pub secret: String,
    pub confirmed: bool,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrolment")
            .field("confirmed", &self.confirmed)
            .finish_non_exhaustive()
    }
}

/// A stored passkey.
#[derive(Debug, Clone)]
pub struct PasskeyRow {
    pub id: Uuid,
    pub user_id: Uuid,
    /// Base64url of the WebAuthn credential id.
    pub credential_id: String,
    pub name: String,
    /// webauthn-rs's `Passkey`, as JSON (public key and counter).
    pub credential: String,
    pub sign_count: i64,
    pub backup_eligible: bool,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

macro_rules! passkeys_where {
    ($rest:literal) => {
        concat!(
            "SELECT id, user_id, credential_id, name, credential, sign_count, \
             backup_eligible, created_at, last_used_at FROM passkeys WHERE ",
            $rest
        )
    };
}

impl UserStore {
    /// The user's TOTP row, pending or confirmed.
    pub async fn totp(&self, user: Uuid) -> Result<Option<TotpEnrolment>, StoreError> {
        let id = user.to_string();
        let row = self
            .sql()
            .run(|pool| async move {
                sqlx::query("SELECT secret, confirmed FROM totp_factors WHERE user_id = $1")
                    .bind(id)
                    .fetch_optional(&pool)
                    .await
            })
            .await?;
        row.map(|row| {
            Ok(TotpEnrolment {
                secret: get(&row, "secret")?,
                confirmed: get::<i64>(&row, "confirmed")? != 0,
            })
        })
        .transpose()
    }

    /// Whether any user has a TOTP secret stored (startup: production needs
    /// the key that sealed it).
    pub async fn any_totp(&self) -> Result<bool, StoreError> {
        let row = self
            .sql()
            .run(|pool| async move {
                sqlx::query("SELECT 1 AS one FROM totp_factors LIMIT 1")
                    .fetch_optional(&pool)
                    .await
            })
            .await?;
        Ok(row.is_some())
    }

    /// Records a pending enrolment, replacing a pending one; false when
    /// TOTP is already confirmed (nothing changes).
    pub async fn begin_totp(&self, user: Uuid, sealed: &str) -> Result<bool, StoreError> {
        let (id, sealed) = (user.to_string(), sealed.to_string());
        let done = self
            .sql()
            .run(move |pool| async move {
                sqlx::query(
                    "INSERT INTO totp_factors (user_id, secret, confirmed, created_at) \
                     VALUES ($1, $2, 0, $3) \
                     ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, \
                     created_at = excluded.created_at WHERE totp_factors.confirmed = 0",
                )
                .bind(id)
                .bind(sealed)
                .bind(unix_now() as i64)
                .execute(&pool)
                .await
            })
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Turns on the pending enrolment whose secret is `sealed` (the one the
    /// code was checked against: a newer enrolment meanwhile wins) and
    /// replaces the user's recovery codes with `code_hashes`, queueing
    /// `notice`, in one transaction, made by session `by`. `None` when that
    /// enrolment is no longer pending.
    pub async fn confirm_totp(
        &self,
        user: Uuid,
        sealed: &str,
        code_hashes: Vec<String>,
        notice: Rendered,
        by: Uuid,
    ) -> Result<Option<FactorAdded>, StoreError> {
        let (id, sealed) = (user.to_string(), sealed.to_string());
        self.sql()
            .run(move |pool| async move {
                let mut tx = pool.begin().await?;
                let confirmed = sqlx::query(
                    "UPDATE totp_factors SET confirmed = 1 \
                     WHERE user_id = $1 AND confirmed = 0 AND secret = $2",
                )
                .bind(id.clone())
                .bind(sealed)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !confirmed {
                    tx.rollback().await?;
                    return Ok(None);
                }
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                    .bind(id.clone())
                    .execute(&mut *tx)
                    .await?;
                for hash in code_hashes {
                    sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                        .bind(id.clone())
                        .bind(hash)
                        .execute(&mut *tx)
                        .await?;
                }
                outbox::insert(&mut *tx, &notice).await?;
                let added = fence_first_factor(&mut tx, &id, by).await?;
                tx.commit().await?;
                Ok(Some(added))
            })
            .await
    }

    /// Turns TOTP off and drops its recovery codes, queueing `notice`;
    /// false when it was not on.
    pub async fn disable_totp(&self, user: Uuid, notice: Rendered) -> Result<bool, StoreError> {
        self.remove_factors(user, false, notice).await
    }

    /// An administrator's reset: TOTP, recovery codes and every passkey
    /// removed, `notice` queued; false when the user had none.
    pub async fn remove_all_factors(
        &self,
        user: Uuid,
        notice: Rendered,
    ) -> Result<bool, StoreError> {
        self.remove_factors(user, true, notice).await
    }

    async fn remove_factors(
        &self,
        user: Uuid,
        passkeys_too: bool,
        notice: Rendered,
    ) -> Result<bool, StoreError> {
        let id = user.to_string();
        self.sql()
            .run(move |pool| async move {
                let mut tx = pool.begin().await?;
                let mut removed =
                    sqlx::query("DELETE FROM totp_factors WHERE user_id = $1 AND confirmed = 1")
                        .bind(id.clone())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                    .bind(id.clone())
                    .execute(&mut *tx)
                    .await?;
                if passkeys_too {
                    removed += sqlx::query("DELETE FROM passkeys WHERE user_id = $1")
                        .bind(id.clone())
                        .execute(&mut *tx)
                        .await?
                        .rows_affected();
                }
                if removed > 0 {
                    outbox::insert(&mut *tx, &notice).await?;
                }
                tx.commit().await?;
                Ok(removed > 0)
            })
            .await
    }

    /// Spends a recovery code (by its hash), queueing `notice`: true for
    /// exactly one of any number of concurrent uses of a code.
    pub async fn use_recovery_code(
        &self,
        user: Uuid,
        code_hash: &str,
        notice: Rendered,
    ) -> Result<bool, StoreError> {
        let (id, hash) = (user.to_string(), code_hash.to_string());
        self.sql()
            .run(move |pool| async move {
                let mut tx = pool.begin().await?;
                let used =
                    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2")
                        .bind(id)
                        .bind(hash)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                        == 1;
                if used {
                    outbox::insert(&mut *tx, &notice).await?;
                }
                tx.commit().await?;
                Ok(used)
            })
            .await
    }

    /// Stores a new passkey and queues `notice`, in one transaction, made
    /// by session `by`; `None` when its credential id is registered already
    /// (to anyone).
    pub async fn add_passkey(
        &self,
        row: PasskeyRow,
        notice: Rendered,
        by: Uuid,
    ) -> Result<Option<FactorAdded>, StoreError> {
        let added = self
            .sql()
            .raw(move |pool| async move {
                let mut tx = pool.begin().await?;
                let user = row.user_id.to_string();
                sqlx::query(
                    "INSERT INTO passkeys (id, user_id, credential_id, name, credential, \
                     sign_count, backup_eligible, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(row.id.to_string())
                .bind(row.user_id.to_string())
                .bind(row.credential_id)
                .bind(row.name)
                .bind(row.credential)
                .bind(row.sign_count)
                .bind(i64::from(row.backup_eligible))
                .bind(row.created_at)
                .execute(&mut *tx)
                .await?;
                outbox::insert(&mut *tx, &notice).await?;
                let added = fence_first_factor(&mut tx, &user, by).await?;
                tx.commit().await?;
                Ok(added)
            })
            .await?;
        match added {
            Ok(added) => Ok(Some(added)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(StoreError::Database(e)),
        }
    }

    /// The user's passkeys, oldest first.
    pub async fn passkeys(&self, user: Uuid) -> Result<Vec<PasskeyRow>, StoreError> {
        let id = user.to_string();
        let rows = self
            .sql()
            .run(|pool| async move {
                sqlx::query(passkeys_where!("user_id = $1 ORDER BY created_at, id"))
                    .bind(id)
                    .fetch_all(&pool)
                    .await
            })
            .await?;
        rows.iter().map(passkey_from_row).collect()
    }

    /// The passkey with this WebAuthn credential id (base64url).
    pub async fn passkey_by_credential(
        &self,
        credential_id: &str,
    ) -> Result<Option<PasskeyRow>, StoreError> {
        let credential_id = credential_id.to_string();
        let row = self
            .sql()
            .run(|pool| async move {
                sqlx::query(passkeys_where!("credential_id = $1"))
                    .bind(credential_id)
                    .fetch_optional(&pool)
                    .await
            })
            .await?;
        row.as_ref().map(passkey_from_row).transpose()
    }

    /// Deletes one of the user's passkeys and queues `notice`, in one
    /// transaction; false when the user has no such passkey.
    pub async fn delete_passkey(
        &self,
        user: Uuid,
        id: Uuid,
        notice: Rendered,
    ) -> Result<PasskeyDeleted, StoreError> {
        let (user, id) = (user.to_string(), id.to_string());
        self.sql()
            .run(move |pool| async move {
                let mut tx = pool.begin().await?;
                lock_user(&mut tx, &user).await?;
                // An account made by a provider sign-in may have no password:
                // its last passkey stays while it is its only way in.
                if !another_way_in(&mut tx, &user, Except::Passkey(&id)).await? {
                    let mine = sqlx::query("SELECT 1 FROM passkeys WHERE id = $1 AND user_id = $2")
                        .bind(id.clone())
                        .bind(user.clone())
                        .fetch_optional(&mut *tx)
                        .await?
                        .is_some();
                    return Ok(if mine {
                        PasskeyDeleted::LastWayIn
                    } else {
                        PasskeyDeleted::NotFound
                    });
                }
                let deleted = sqlx::query("DELETE FROM passkeys WHERE id = $1 AND user_id = $2")
                    .bind(id)
                    .bind(user)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    == 1;
                if !deleted {
                    return Ok(PasskeyDeleted::NotFound);
                }
                outbox::insert(&mut *tx, &notice).await?;
                tx.commit().await?;
                Ok(PasskeyDeleted::Deleted)
            })
            .await
    }

    /// Records a use of the passkey whose authenticator reported
    /// `sign_count`, by compare-and-swap: the stored counter must be below
    /// it (or both 0: an authenticator without a counter). False when it is
    /// not: the same or an older counter was seen already, on any instance,
    /// so this assertion comes from a clone or is a replay.
    pub async fn advance_passkey(
        &self,
        id: Uuid,
        sign_count: i64,
        credential: &str,
    ) -> Result<bool, StoreError> {
        let (id, credential) = (id.to_string(), credential.to_string());
        let done = self
            .sql()
            .run(move |pool| async move {
                sqlx::query(
                    "UPDATE passkeys SET sign_count = $1, credential = $2, last_used_at = $3 \
                     WHERE id = $4 AND (sign_count < $1 OR (sign_count = 0 AND $1 = 0))",
                )
                .bind(sign_count)
                .bind(credential)
                .bind(unix_now() as i64)
                .bind(id)
                .execute(&pool)
                .await
            })
            .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// What adding a factor did to the user's credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorAdded {
    /// The user's first factor: the credential version moved to this one
    /// (as a password change moves it), so logins checked before it make no
    /// session and every session but the one that added it can be ended
    /// behind that fence.
    First { version: i64 },
    /// The user had a factor already: sessions stay.
    Another,
}

/// In the transaction that just added a factor of `user`: when it is the
/// only one the user has, bumps the credential version and records session
/// `by` as the change's maker (`Credentials::changed_by`, the session kept).
/// Two first factors added at once may both count as first: both fence, and
/// each ends the other's session (the safe side).
async fn fence_first_factor(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user: &str,
    by: Uuid,
) -> Result<FactorAdded, sqlx::Error> {
    use sqlx::Row;
    let factors: i64 = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM totp_factors WHERE user_id = $1 AND confirmed = 1) \
         + (SELECT COUNT(*) FROM passkeys WHERE user_id = $1) AS n",
    )
    .bind(user.to_string())
    .fetch_one(&mut **tx)
    .await?
    .try_get("n")?;
    if factors != 1 {
        return Ok(FactorAdded::Another);
    }
    sqlx::query(
        "UPDATE users SET credential_version = credential_version + 1, \
         credential_changed_by = $1, updated_at = $2 WHERE id = $3",
    )
    .bind(by.to_string())
    .bind(unix_now() as i64)
    .bind(user.to_string())
    .execute(&mut **tx)
    .await?;
    let version: i64 = sqlx::query("SELECT credential_version FROM users WHERE id = $1")
        .bind(user.to_string())
        .fetch_one(&mut **tx)
        .await?
        .try_get("credential_version")?;
    Ok(FactorAdded::First { version })
}

fn passkey_from_row(row: &sqlx::any::AnyRow) -> Result<PasskeyRow, StoreError> {
    let uuid = |column: &str| -> Result<Uuid, StoreError> {
        let text: String = get(row, column)?;
        Uuid::parse_str(&text)
            .map_err(|e| StoreError::DatabaseRow(format!("passkey {column}: {e}")))
    };
    Ok(PasskeyRow {
        id: uuid("id")?,
        user_id: uuid("user_id")?,
        credential_id: get(row, "credential_id")?,
        name: get(row, "name")?,
        credential: get(row, "credential")?,
        sign_count: get(row, "sign_count")?,
        backup_eligible: get::<i64>(row, "backup_eligible")? != 0,
        created_at: get(row, "created_at")?,
        last_used_at: get(row, "last_used_at")?,
    })
}
