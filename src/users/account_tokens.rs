//! Single-use tokens sent by mail, kept only as their SHA-256, one per user
//! and kind (`account_tokens`): a newer token replaces the older, and using
//! one deletes it, in the same transaction as the change it allows and the
//! mail that reports it.

use uuid::Uuid;

use super::store::UserStore;
use super::token_rows::{insert_token, spend_token, TokenKind, Verification};
use crate::common::clock::unix_now;
use crate::connections::StoreError;
use crate::mail::{outbox, Rendered};

impl UserStore {
    /// Stores `token_hash` as the user's one token of `kind` (replacing an
    /// older one) until `expires_at` (unix s), and queues `mail` with it.
    pub async fn issue_token(
        &self,
        user: Uuid,
        kind: TokenKind,
        token: Verification,
    ) -> Result<(), StoreError> {
        let user = user.to_string();
        self.sql()
            .run(move |pool| async move {
                let mut tx = pool.begin().await?;
                insert_token(&mut tx, &user, kind, &token).await?;
                outbox::insert(&mut *tx, &token.mail).await?;
                tx.commit().await
            })
            .await
    }

    /// Stores a reset token as `issue_token` does, only while the user's
    /// credential is still at `version` and the account is enabled: a
    /// password change, reset or disabling that lands while the mail is
    /// being made spends it (or this finds it changed and stores nothing).
    /// Taking the user's row first orders this against those changes on
    /// Postgres as SQLite's single writer does. Whether it was stored.
    pub async fn issue_reset(
        &self,
        user: Uuid,
        version: i64,
        token: Verification,
    ) -> Result<bool, StoreError> {
        let user = user.to_string();
        self.sql()
            .run(move |pool| async move {
                let mut tx = pool.begin().await?;
                let current = sqlx::query(
                    "UPDATE users SET updated_at = updated_at \
                     WHERE id = $1 AND credential_version = $2 AND disabled = 0",
                )
                .bind(user.clone())
                .bind(version)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
                if !current {
                    tx.rollback().await?;
                    return Ok(false);
                }
                insert_token(&mut tx, &user, TokenKind::Reset, &token).await?;
                outbox::insert(&mut *tx, &token.mail).await?;
                tx.commit().await?;
                Ok(true)
            })
            .await
    }

    /// Spends a live verification token and marks its user's address
    /// verified, in one transaction; the user, or `None` for an unknown,
    /// spent, replaced or expired token.
    pub async fn consume_verify(&self, token_hash: String) -> Result<Option<Uuid>, StoreError> {
        let Some((user, _)) = self
            .token_owner(TokenKind::Verify, token_hash.clone())
            .await?
        else {
            return Ok(None);
        };
        let id = user.to_string();
        let spent = self
            .sql()
            .run(move |pool| async move {
                let mut tx = pool.begin().await?;
                let spent = spend_token(&mut tx, &id, TokenKind::Verify, token_hash).await?;
                if spent {
                    sqlx::query(
                        "UPDATE users SET email_verified = 1, updated_at = $1 WHERE id = $2",
                    )
                    .bind(unix_now() as i64)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(spent)
            })
            .await?;
        Ok(spent.then_some(user))
    }

    /// The user a live token of `kind` belongs to, and their email; the
    /// token stays (`consume_reset` spends it).
    pub async fn token_owner(
        &self,
        kind: TokenKind,
        token_hash: String,
    ) -> Result<Option<(Uuid, String)>, StoreError> {
        let row = self
            .sql()
            .run(move |pool| async move {
                sqlx::query(
                    "SELECT u.id AS id, u.email AS email FROM account_tokens t \
                     JOIN users u ON u.id = t.user_id \
                     WHERE t.kind = $1 AND t.token_hash = $2 AND t.expires_at > $3",
                )
                .bind(kind.as_str())
                .bind(token_hash)
                .bind(unix_now() as i64)
                .fetch_optional(&pool)
                .await
            })
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        use sqlx::Row;
        let id: String = row.try_get("id").map_err(StoreError::Database)?;
        let email: String = row.try_get("email").map_err(StoreError::Database)?;
        let id =
            Uuid::parse_str(&id).map_err(|e| StoreError::DatabaseRow(format!("user id: {e}")))?;
        Ok(Some((id, email)))
    }

    /// Spends the user's reset token `token_hash` and sets the password,
    /// bumping the credential version (no session made this change, so it
    /// keeps none), and queues `notice`, all in one transaction. `None`:
    /// the token was spent, replaced or expired meanwhile; nothing changed.
    pub async fn consume_reset(
        &self,
        user: Uuid,
        token_hash: String,
        password_hash: String,
        notice: Rendered,
    ) -> Result<Option<i64>, StoreError> {
        let user = user.to_string();
        self.sql()
            .run(move |pool| async move {
                let mut tx = pool.begin().await?;
                if !spend_token(&mut tx, &user, TokenKind::Reset, token_hash).await? {
                    tx.rollback().await?;
                    return Ok(None);
                }
                sqlx::query(
                    "UPDATE users SET password_hash = $1, credential_version = credential_version + 1, \
                     credential_changed_by = NULL, updated_at = $2 WHERE id = $3",
                )
                .bind(password_hash)
                .bind(unix_now() as i64)
                .bind(user.clone())
                .execute(&mut *tx)
                .await?;
                let version: i64 = {
                    use sqlx::Row;
                    sqlx::query("SELECT credential_version FROM users WHERE id = $1")
                        .bind(user)
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get("credential_version")?
                };
                outbox::insert(&mut *tx, &notice).await?;
                tx.commit().await?;
                Ok(Some(version))
            })
            .await
    }
}
