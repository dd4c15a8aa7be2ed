//! The identities of users at OpenID providers: the pair (issuer, subject)
//! and which user it belongs to. The pair is unique in SQL, so of two
//! first sign-ins of one identity at once, one links it and the other finds
//! it linked.

use uuid::Uuid;

use super::input::Email;
use super::store::{User, UserStore};
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
    .bind(Uuid::new_v4().to_string())
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
