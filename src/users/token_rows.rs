//! The rows of `account_tokens`: what a token is for, and a token with the
//! mail that carries it, stored in the caller's transaction.

use crate::mail::Rendered;

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
    token: &Verification,
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
    .bind(crate::common::clock::unix_now() as i64)
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
pub struct Verification {
    pub token_hash: String,
    pub expires_at: i64,
    pub mail: Rendered,
}
