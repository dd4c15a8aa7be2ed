//! The identities of users at OpenID providers: the pair (issuer, subject)
//! and which user it belongs to. The pair is unique in SQL, so of two
//! first sign-ins of one identity at once, one links it and the other finds
//! it linked.

use uuid::Uuid;

use super::input::Email;
use super::store::{get, User, UserStore};
use crate::common::clock::unix_now;
use crate::connections::StoreError;

/// An identity to link: what a verified ID token says.
#[derive(Debug, Clone)]
pub struct NewIdentity {
    /// The provider's name (`apple`), as clients call it.
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    /// The address the provider gave, if any (shown, never looked up).
    pub email: Option<String>,
}

/// What making an account for a new identity came to.
pub enum AccountForIdentity {
    Made(User),
    /// The address is another account's (it appeared meanwhile).
    EmailTaken,
    /// The identity is linked already (a sign-in of it meanwhile).
    IdentityTaken,
}

impl UserStore {
    /// A new account for `identity`, linked to it in the same transaction:
    /// with `email` (verified: the provider vouched for it) or with no
    /// address, and without a password.
    pub async fn create_for_identity(
        &self,
        email: Option<&Email>,
        identity: &NewIdentity,
    ) -> Result<AccountForIdentity, StoreError> {
        let user = User {
            id: Uuid::new_v4(),
            email: email.map(|e| e.display.clone()).unwrap_or_default(),
            created_at: unix_now() as i64,
            email_verified: email.is_some(),
            disabled: false,
        };
        let (id, display, at, verified) = (
            user.id.to_string(),
            user.email.clone(),
            user.created_at,
            i64::from(user.email_verified),
        );
        // No address: a value no normalized address can equal (it has no
        // `@`), unique because the id is.
        let normalized = email.map_or_else(|| format!("!{id}"), |e| e.normalized.clone());
        let identity = identity.clone();
        let outcome = self
            .sql()
            .raw(move |pool| async move {
                let mut tx = pool.begin().await?;
                let user_row = sqlx::query(
                    "INSERT INTO users (id, email, email_normalized, password_hash, email_verified, created_at, updated_at) \
                     VALUES ($1, $2, $3, '', $4, $5, $5)",
                )
                .bind(id.clone())
                .bind(display)
                .bind(normalized)
                .bind(verified)
                .bind(at)
                .execute(&mut *tx)
                .await;
                if let Err(e) = user_row {
                    return Ok(Err((e, false)));
                }
                if let Err(e) = insert_identity(&mut tx, &id, &identity, at).await {
                    return Ok(Err((e, true)));
                }
                tx.commit().await.map(Ok)
            })
            .await?;
        match outcome {
            Ok(Ok(())) => Ok(AccountForIdentity::Made(user)),
            Ok(Err((sqlx::Error::Database(e), identity_row))) if e.is_unique_violation() => {
                Ok(if identity_row {
                    AccountForIdentity::IdentityTaken
                } else {
                    AccountForIdentity::EmailTaken
                })
            }
            Ok(Err((e, _))) | Err(e) => Err(StoreError::Database(e)),
        }
    }

    /// Links `identity` to the account `user`; false when the identity is
    /// linked already (to this user or another).
    pub async fn link_identity(
        &self,
        user: Uuid,
        identity: &NewIdentity,
    ) -> Result<bool, StoreError> {
        let (id, identity) = (user.to_string(), identity.clone());
        let outcome = self
            .sql()
            .raw(move |pool| async move {
                let mut tx = pool.begin().await?;
                insert_identity(&mut tx, &id, &identity, unix_now() as i64).await?;
                tx.commit().await
            })
            .await?;
        match outcome {
            Ok(()) => Ok(true),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
            Err(e) => Err(StoreError::Database(e)),
        }
    }
}

async fn insert_identity(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user: &str,
    identity: &NewIdentity,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO identities (id, user_id, provider, issuer, subject, email, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    // Time-ordered: a user's identities list in the order they were linked.
    .bind(Uuid::now_v7().to_string())
    .bind(user.to_string())
    .bind(identity.provider.clone())
    .bind(identity.issuer.clone())
    .bind(identity.subject.clone())
    .bind(identity.email.clone())
    .bind(at)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// A linked identity, as its user and operators see it.
#[derive(Debug, Clone)]
pub struct IdentityRow {
    pub id: Uuid,
    pub provider: String,
    pub subject: String,
    pub email: Option<String>,
    pub created_at: i64,
}

/// What unlinking an identity came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unlinked {
    Done,
    /// No such identity of this user.
    NotFound,
    /// It is the user's last way in: no password, no passkey, no other
    /// identity. Nothing changed.
    LastWayIn,
}

impl UserStore {
    /// The user's identities, oldest first.
    pub async fn identities_of(&self, user: Uuid) -> Result<Vec<IdentityRow>, StoreError> {
        let user = user.to_string();
        let rows = self
            .sql()
            .run(move |pool| async move {
                sqlx::query(
                    "SELECT id, provider, subject, email, created_at FROM identities \
                     WHERE user_id = $1 ORDER BY created_at, id",
                )
                .bind(user)
                .fetch_all(&pool)
                .await
            })
            .await?;
        rows.iter()
            .map(|row| {
                let id: String = get(row, "id")?;
                Ok(IdentityRow {
                    id: Uuid::parse_str(&id)
                        .map_err(|e| StoreError::DatabaseRow(format!("identity id: {e}")))?,
                    provider: get(row, "provider")?,
                    subject: get(row, "subject")?,
                    email: get(row, "email")?,
                    created_at: get(row, "created_at")?,
                })
            })
            .collect()
    }

    /// Whose the identity (issuer, subject) is, if anybody's.
    pub async fn identity_owner(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        let (issuer, subject) = (issuer.to_string(), subject.to_string());
        let row = self
            .sql()
            .run(move |pool| async move {
                sqlx::query("SELECT user_id FROM identities WHERE issuer = $1 AND subject = $2")
                    .bind(issuer)
                    .bind(subject)
                    .fetch_optional(&pool)
                    .await
            })
            .await?;
        row.map(|row| {
            let id: String = get(&row, "user_id")?;
            Uuid::parse_str(&id).map_err(|e| StoreError::DatabaseRow(format!("user id: {e}")))
        })
        .transpose()
    }

    /// Unlinks the identity `id` of `user`. `keep_a_way_in`: refuse when it
    /// is the user's last way in. The user's row is locked first, so two
    /// unlinks at once cannot each leave the other's identity as the last.
    pub async fn unlink_identity(
        &self,
        user: Uuid,
        id: Uuid,
        keep_a_way_in: bool,
    ) -> Result<Unlinked, StoreError> {
        let (user, id) = (user.to_string(), id.to_string());
        self.sql()
            .run(move |pool| async move {
                let mut tx = pool.begin().await?;
                let locked = lock_user(&mut tx, &user).await?;
                let exists = sqlx::query("SELECT 1 FROM identities WHERE id = $1 AND user_id = $2")
                    .bind(id.clone())
                    .bind(user.clone())
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some();
                if !locked || !exists {
                    return Ok(Unlinked::NotFound);
                }
                if keep_a_way_in && !another_way_in(&mut tx, &user, Except::Identity(&id)).await? {
                    return Ok(Unlinked::LastWayIn);
                }
                sqlx::query("DELETE FROM identities WHERE id = $1 AND user_id = $2")
                    .bind(id)
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Unlinked::Done)
            })
            .await
    }
}

/// Takes the user's row lock for the rest of the transaction (a write that
/// changes nothing): changes to a user's ways in then run one at a time.
/// Whether the user exists.
pub(super) async fn lock_user(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user: &str,
) -> Result<bool, sqlx::Error> {
    Ok(
        sqlx::query("UPDATE users SET updated_at = updated_at WHERE id = $1")
            .bind(user.to_string())
            .execute(&mut **tx)
            .await?
            .rows_affected()
            == 1,
    )
}

/// A way in that is about to go.
pub(super) enum Except<'a> {
    Identity(&'a str),
    Passkey(&'a str),
}

/// Whether the user keeps a way in without `except`: a password, a
/// passkey or an identity. Call with the user's row locked.
pub(super) async fn another_way_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    user: &str,
    except: Except<'_>,
) -> Result<bool, sqlx::Error> {
    let (identity, passkey) = match except {
        Except::Identity(id) => (id, ""),
        Except::Passkey(id) => ("", id),
    };
    Ok(sqlx::query(
        "SELECT 1 FROM users WHERE id = $1 AND password_hash <> '' \
         UNION ALL SELECT 1 FROM passkeys WHERE user_id = $1 AND id <> $3 \
         UNION ALL SELECT 1 FROM identities WHERE user_id = $1 AND id <> $2",
    )
    .bind(user.to_string())
    .bind(identity.to_string())
    .bind(passkey.to_string())
    .fetch_optional(&mut **tx)
    .await?
    .is_some())
}
