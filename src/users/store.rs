//! The SQL user store. Every call goes through `Sql`, which runs it on the
//! store I/O runtime within `AUTHD_DATABASE_TIMEOUT_MS`.

use uuid::Uuid;

use super::input::Email;
use super::mailed_tokens::{insert_token, spend_all_tokens, MailedToken, TokenKind};
use crate::common::clock::unix_now;
use crate::connections::{Sql, StoreError};
use crate::mail::{outbox, Rendered};

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub created_at: i64,
    pub email_verified: bool,
    /// Disabled by an operator: no login, no session.
    pub disabled: bool,
}

/// An account with what a password check needs: its hash, the version of
/// its credential (bumped by every password change), and the session that
/// made the latest change.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
    pub version: i64,
    pub changed_by: Option<Uuid>,
    pub factors: EnabledFactors,
}

/// The second factors a user has on: a password login then asks for one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EnabledFactors {
    /// A confirmed TOTP authenticator.
    pub totp: bool,
    /// At least one passkey.
    pub webauthn: bool,
}

impl EnabledFactors {
    pub fn any(self) -> bool {
        self.totp || self.webauthn
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("email taken")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct UserStore {
    sql: Sql,
}

/// What a password check reads, with whether a second factor is on (so a
/// login knows in the same query whether the password alone suffices).
macro_rules! credentials_query {
    ($where:literal) => {
        concat!(
            "SELECT id, email, created_at, email_verified, disabled, password_hash, \
             credential_version, credential_changed_by, \
             (SELECT COUNT(*) FROM totp_factors t WHERE t.user_id = users.id AND t.confirmed = 1) \
             AS totp_on, \
             (SELECT COUNT(*) FROM passkeys p WHERE p.user_id = users.id) AS passkey_count \
             FROM users WHERE ",
            $where
        )
    };
}
const BY_EMAIL: &str = credentials_query!("email_normalized = $1");
const BY_ID: &str = credentials_query!("id = $1");
const BY_IDENTITY: &str =
    credentials_query!("id = (SELECT user_id FROM identities WHERE issuer = $1 AND subject = $2)");

impl UserStore {
    pub fn new(sql: Sql) -> Self {
        Self { sql }
    }

    pub(super) fn sql(&self) -> &Sql {
        &self.sql
    }

    pub async fn create(
        &self,
        email: &Email,
        password_hash: &str,
        verification: MailedToken,
    ) -> Result<User, CreateUserError> {
        let user = User {
            id: Uuid::new_v4(),
            email: email.display.clone(),
            created_at: unix_now() as i64,
            email_verified: false,
            disabled: false,
        };
        let (id, display, normalized, hash, at) = (
            user.id.to_string(),
            user.email.clone(),
            email.normalized.clone(),
            password_hash.to_string(),
            user.created_at,
        );
        let inserted = self
            .sql
            .raw(|pool| async move {
                let mut tx = pool.begin().await?;
                sqlx::query(
                    "INSERT INTO users (id, email, email_normalized, password_hash, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5)",
                )
                .bind(id.clone())
                .bind(display)
                .bind(normalized)
                .bind(hash)
                .bind(at)
                .execute(&mut *tx)
                .await?;
                insert_token(&mut tx, &id, TokenKind::Verify, &verification).await?;
                outbox::insert(&mut *tx, &verification.mail).await?;
                tx.commit().await
            })
            .await?;
        match inserted {
            Ok(_) => Ok(user),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(CreateUserError::EmailTaken)
            }
            Err(e) => Err(StoreError::Database(e).into()),
        }
    }

    pub async fn email_exists(&self, email: &Email) -> Result<bool, StoreError> {
        let normalized = email.normalized.clone();
        let row = self
            .sql
            .run(|pool| async move {
                sqlx::query("SELECT 1 FROM users WHERE email_normalized = $1")
                    .bind(normalized)
                    .fetch_optional(&pool)
                    .await
            })
            .await?;
        Ok(row.is_some())
    }

    /// The account and its credential, by email.
    pub async fn credentials_by_email(
        &self,
        email: &Email,
    ) -> Result<Option<Credentials>, StoreError> {
        self.credentials_where(BY_EMAIL, vec![email.normalized.clone()])
            .await
    }

    /// The account an identity at a provider belongs to, with its credential.
    pub async fn credentials_by_identity(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<Credentials>, StoreError> {
        self.credentials_where(BY_IDENTITY, vec![issuer.to_string(), subject.to_string()])
            .await
    }

    /// The account and its credential, by id.
    pub async fn credentials_by_id(&self, id: Uuid) -> Result<Option<Credentials>, StoreError> {
        self.credentials_where(BY_ID, vec![id.to_string()]).await
    }

    async fn credentials_where(
        &self,
        sql: &'static str,
        values: Vec<String>,
    ) -> Result<Option<Credentials>, StoreError> {
        let row = self
            .sql
            .run(move |pool| async move {
                values
                    .into_iter()
                    .fold(sqlx::query(sql), |query, value| query.bind(value))
                    .fetch_optional(&pool)
                    .await
            })
            .await?;
        row.map(|row| {
            Ok(Credentials {
                user: user_from_row(&row)?,
                password_hash: get(&row, "password_hash")?,
                version: get(&row, "credential_version")?,
                changed_by: get::<Option<String>>(&row, "credential_changed_by")?
                    .and_then(|id| Uuid::parse_str(&id).ok()),
                factors: EnabledFactors {
                    totp: get::<i64>(&row, "totp_on")? > 0,
                    webauthn: get::<i64>(&row, "passkey_count")? > 0,
                },
            })
        })
        .transpose()
    }

    /// The same password hashed again with today's Argon2 parameters: the
    /// credential (and its version) unchanged, and only if the row still
    /// holds `old_hash` (a password change meanwhile wins). Whether it did.
    pub async fn rehash_password(
        &self,
        id: Uuid,
        old_hash: &str,
        new_hash: &str,
    ) -> Result<bool, StoreError> {
        let (id, old_hash, new_hash) = (id.to_string(), old_hash.to_string(), new_hash.to_string());
        let done = self
            .sql
            .run(move |pool| async move {
                sqlx::query(
                    "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3",
                )
                .bind(new_hash)
                .bind(id)
                .bind(old_hash)
                .execute(&pool)
                .await
            })
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces the password hash if the credential is still at `version`
    /// (compare-and-swap), recording the session that made the change, and
    /// spends any pending reset token of the user (a link mailed before the
    /// change must not undo it), in one transaction; returns the new
    /// version, or `None` when another change landed first.
    pub async fn replace_password(
        &self,
        id: Uuid,
        version: i64,
        password_hash: &str,
        by_session: Uuid,
    ) -> Result<Option<i64>, StoreError> {
        let (hash, id) = (password_hash.to_string(), id.to_string());
        let by_session = by_session.to_string();
        let replaced = self
            .sql
            .run(move |pool| async move {
                let mut tx = pool.begin().await?;
                let replaced = sqlx::query(
                    "UPDATE users SET password_hash = $1, credential_version = $2, updated_at = $3, \
                     credential_changed_by = $4 WHERE id = $5 AND credential_version = $6",
                )
                .bind(hash)
                .bind(version + 1)
                .bind(unix_now() as i64)
                .bind(by_session)
                .bind(id.clone())
                .bind(version)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if replaced {
                    spend_all_tokens(&mut tx, &id, TokenKind::Reset).await?;
                }
                tx.commit().await?;
                Ok(replaced)
            })
            .await?;
        Ok(replaced.then_some(version + 1))
    }

    /// Deletes the account and its mailed tokens, and queues `confirmation`,
    /// in one transaction; false when there was no such account, or (with
    /// `version`) its credential has moved on since it was checked: a
    /// password change or a first factor landed meanwhile, and nothing is
    /// deleted.
    pub async fn delete(
        &self,
        id: Uuid,
        version: Option<i64>,
        confirmation: Rendered,
    ) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.sql
            .run(move |pool| async move {
                let mut tx = pool.begin().await?;
                for table in [
                    "DELETE FROM account_tokens WHERE user_id = $1",
                    "DELETE FROM totp_factors WHERE user_id = $1",
                    "DELETE FROM recovery_codes WHERE user_id = $1",
                    "DELETE FROM passkeys WHERE user_id = $1",
                    "DELETE FROM identities WHERE user_id = $1",
                ] {
                    sqlx::query(table)
                        .bind(id.clone())
                        .execute(&mut *tx)
                        .await?;
                }
                let deleted = sqlx::query(
                    "DELETE FROM users WHERE id = $1 AND ($2 IS NULL OR credential_version = $2)",
                )
                .bind(id)
                .bind(version)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if deleted != 1 {
                    tx.rollback().await?;
                    return Ok(false);
                }
                outbox::insert(&mut *tx, &confirmation).await?;
                tx.commit().await?;
                Ok(true)
            })
            .await
    }

    /// Up to `limit` accounts by id, after `after` (a cursor: the last id of
    /// the previous page), whose normalized email starts with `prefix`.
    pub async fn list(
        &self,
        after: Option<Uuid>,
        limit: i64,
        prefix: Option<String>,
    ) -> Result<Vec<User>, StoreError> {
        let after = after.map(|id| id.to_string()).unwrap_or_default();
        // LIKE with its wildcards escaped: a prefix, never a pattern.
        let pattern = format!(
            "{}%",
            prefix
                .unwrap_or_default()
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let rows = self
            .sql
            .run(move |pool| async move {
                sqlx::query(
                    "SELECT id, email, created_at, email_verified, disabled FROM users \
                     WHERE id > $1 AND email_normalized LIKE $2 ESCAPE '\\' ORDER BY id LIMIT $3",
                )
                .bind(after)
                .bind(pattern)
                .bind(limit)
                .fetch_all(&pool)
                .await
            })
            .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Disables (or enables) the account. Disabling bumps the credential
    /// version, so logins in flight make no session and every session can
    /// be ended behind that fence (as a password change does), and spends
    /// pending reset links; returns the version, or `None` for no such
    /// account.
    pub async fn set_disabled(&self, id: Uuid, disabled: bool) -> Result<Option<i64>, StoreError> {
        let id = id.to_string();
        self.sql
            .run(move |pool| async move {
                let mut tx = pool.begin().await?;
                let bump = i64::from(disabled);
                let changed = sqlx::query(
                    "UPDATE users SET disabled = $1, credential_version = credential_version + $2, \
                     credential_changed_by = NULL, updated_at = $3 WHERE id = $4",
                )
                .bind(bump)
                .bind(bump)
                .bind(unix_now() as i64)
                .bind(id.clone())
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 1 && disabled {
                    // A link mailed before must not outlive the decision.
                    spend_all_tokens(&mut tx, &id, TokenKind::Reset).await?;
                }
                let version = if changed == 1 {
                    use sqlx::Row;
                    let row = sqlx::query("SELECT credential_version FROM users WHERE id = $1")
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                    Some(row.try_get::<i64, _>("credential_version")?)
                } else {
                    None
                };
                tx.commit().await?;
                Ok(version)
            })
            .await
    }

    /// Marks the address verified (an operator vouches for it); false for
    /// no such account.
    pub async fn mark_verified(&self, id: Uuid) -> Result<bool, StoreError> {
        let id = id.to_string();
        let changed = self
            .sql
            .run(move |pool| async move {
                sqlx::query("UPDATE users SET email_verified = 1, updated_at = $1 WHERE id = $2")
                    .bind(unix_now() as i64)
                    .bind(id)
                    .execute(&pool)
                    .await
            })
            .await?;
        Ok(changed.rows_affected() == 1)
    }

    pub async fn find(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let id = id.to_string();
        let row = self
            .sql
            .run(|pool| async move {
                sqlx::query(
                    "SELECT id, email, created_at, email_verified, disabled FROM users WHERE id = $1",
                )
                    .bind(id)
                    .fetch_optional(&pool)
                    .await
            })
            .await?;
        row.map(|row| user_from_row(&row)).transpose()
    }
}

pub(super) fn get<'r, T>(row: &'r sqlx::any::AnyRow, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    use sqlx::Row;
    row.try_get(column).map_err(StoreError::Database)
}

pub(super) fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User, StoreError> {
    let id: String = get(row, "id")?;
    Ok(User {
        id: Uuid::parse_str(&id).map_err(|e| StoreError::DatabaseRow(format!("user id: {e}")))?,
        email: get(row, "email")?,
        created_at: get(row, "created_at")?,
        email_verified: get::<i64>(row, "email_verified")? != 0,
        disabled: get::<i64>(row, "disabled")? != 0,
    })
}
