//! The single-use tokens authd mails (password reset, email
//! verification), whole: 256 random bits in base64url for the link, only
//! their SHA-256 kept in SQL (`account_tokens`), one per user and kind (a
//! newer token replaces the older), spent by deleting the row in the same
//! transaction as the change it allows and the mail that reports it.

use std::time::Duration;

use uuid::Uuid;

use super::store::UserStore;
use crate::common::clock::unix_now;
use crate::common::random_token;
use crate::connections::StoreError;
use crate::mail::{outbox, Rendered};

/// What a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Reset,
    Verify,
}

impl TokenKind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::Verify => "verify",
        }
    }
}

/// Stores a token's hash as the user's one token of `kind`, replacing an
/// older one, in the caller's transaction.
pub(super) async fn insert_token(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user: &str,
    kind: TokenKind,
    token: &MailedToken,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO account_tokens (user_id, kind, token_hash, expires_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, kind) \
         DO UPDATE SET token_hash = excluded.token_hash, expires_at = excluded.expires_at",
    )
    .bind(user.to_string())
    .bind(kind.as_str())
    .bind(token.token_hash.clone())
    .bind(token.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Deletes the user's live token of `kind` if its hash is `token_hash`, in
/// the caller's transaction: whether it was there (of two concurrent uses,
/// one finds it).
pub(super) async fn spend_token(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user: &str,
    kind: TokenKind,
    token_hash: String,
) -> Result<bool, sqlx::Error> {
    let spent = sqlx::query(
        "DELETE FROM account_tokens WHERE user_id = $1 AND kind = $2 \
         AND token_hash = $3 AND expires_at > $4",
    )
    .bind(user.to_string())
    .bind(kind.as_str())
    .bind(token_hash)
    .bind(unix_now() as i64)
    .execute(&mut **tx)
    .await?;
    Ok(spent.rows_affected() == 1)
}

/// Deletes every token of `kind` the user holds, in the caller's
/// transaction (a password change spends pending reset links).
pub(super) async fn spend_all_tokens(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    user: &str,
    kind: TokenKind,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM account_tokens WHERE user_id = $1 AND kind = $2")
        .bind(user.to_string())
        .bind(kind.as_str())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A token to mail (its hash is stored) and the mail that carries it,
/// queued in the same transaction.
pub struct MailedToken {
    pub token_hash: String,
    pub expires_at: i64,
    pub mail: Rendered,
}

/// Longer presented tokens are not even hashed.
const MAX_TOKEN_CHARS: usize = 128;

/// A fresh token that works for `ttl`, and the mail that carries it
/// (`mail(token, expires_at)`), ready to be stored (its hash) and queued.
pub fn issue(ttl: Duration, mail: impl FnOnce(&str, i64) -> Rendered) -> MailedToken {
    let token = random_token();
    let expires_at = unix_now() as i64 + ttl.as_secs() as i64;
    MailedToken {
        token_hash: token_hash(&token),
        expires_at,
        mail: mail(&token, expires_at),
    }
}

/// The hash to look a presented token up by; `None` for what cannot be one.
pub fn presented_hash(token: &str) -> Option<String> {
    (!token.is_empty() && token.len() <= MAX_TOKEN_CHARS).then(|| token_hash(token))
}

/// What the database keeps of a token: its SHA-256, hex.
fn token_hash(token: &str) -> String {
    crate::common::sha256_hex(token)
}

impl UserStore {
    /// Stores `token_hash` as the user's one token of `kind` (replacing an
    /// older one) until `expires_at` (unix s), and queues `mail` with it.
    pub async fn issue_token(
        &self,
        user: Uuid,
        kind: TokenKind,
        token: MailedToken,
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
        token: MailedToken,
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
                    // The link reached the address's owner: it is verified.
                    "UPDATE users SET password_hash = $1, credential_version = credential_version + 1, \
                     credential_changed_by = NULL, email_verified = 1, updated_at = $2 WHERE id = $3",
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
