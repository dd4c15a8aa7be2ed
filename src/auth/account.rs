//! The account itself: registration, who-am-I, logout everywhere. (A
//! password change is in `password`.)

use super::password::new_password;
use super::{parse_email, Auth, AuthError, Client};
use crate::common::identity::Identity;
use crate::users::{CreateUserError, User};

impl Auth {
    /// `POST /api/register`. Throttled per client IP, counted whether or not
    /// it succeeds; a taken email costs no hashing (the unique index settles
    /// races between instances).
    pub async fn register(
        &self,
        email: &str,
        password: &str,
        client: &Client,
    ) -> Result<User, AuthError> {
        let email = parse_email(email)?;
        let password = new_password(password)?;
        if let Some(retry_after_secs) = self.throttle.admit_registration(client.ip).await? {
            return Err(AuthError::RateLimited { retry_after_secs });
        }
        if self.users.email_exists(&email).await? {
            return Err(AuthError::EmailTaken);
        }
        let hash = self.hasher.hash(password).await?;
        self.users.create(&email, &hash).await.map_err(|e| match e {
            CreateUserError::EmailTaken => AuthError::EmailTaken,
            CreateUserError::Store(e) => e.into(),
        })
    }

    /// `GET /api/me`.
    pub async fn me(&self, who: Identity) -> Result<User, AuthError> {
        self.users
            .find(who.user_id)
            .await?
            .ok_or(AuthError::InvalidToken { token_sent: true })
    }

    /// Ends every session of the caller.
    pub async fn logout_all(&self, who: Identity) -> Result<(), AuthError> {
        self.sessions.revoke_all(who.user_id, None, None).await?;
        Ok(())
    }
}
