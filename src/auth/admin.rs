//! What an operator may do to any account (`/api/admin/…`, `authd admin`):
//! look users up, disable and enable them, end their sessions, delete them,
//! vouch for their address. Every action is logged with the caller's label
//! and counted; all are idempotent.

use uuid::Uuid;

use super::{Auth, AuthError};
use crate::common::telemetry;
use crate::mail::MailKind;
use crate::sessions::SessionInfo;
use crate::users::{IdentityRow, User};

/// Most users one page lists.
pub const MAX_PAGE: i64 = 200;

/// One page of users, and the cursor of the next (none on the last).
pub struct UserPage {
    pub users: Vec<User>,
    pub next_cursor: Option<String>,
}

/// A user as an operator sees them: the account, its live sessions and
/// its identities at providers.
pub struct AdminUser {
    pub user: User,
    pub sessions: Vec<SessionInfo>,
    pub identities: Vec<IdentityRow>,
}

fn parse_id(id: &str) -> Result<Uuid, AuthError> {
    Uuid::parse_str(id).map_err(|_| AuthError::NotFound)
}

impl Auth {
    /// Users by id after `cursor`, whose email starts with `email_prefix`.
    pub async fn admin_list_users(
        &self,
        cursor: Option<&str>,
        limit: Option<i64>,
        email_prefix: Option<&str>,
    ) -> Result<UserPage, AuthError> {
        let after = match cursor.filter(|c| !c.is_empty()) {
            Some(c) => Some(
                Uuid::parse_str(c).map_err(|_| AuthError::InvalidRequest("cursor is not valid"))?,
            ),
            None => None,
        };
        let limit = limit.unwrap_or(50).clamp(1, MAX_PAGE);
        let users = self
            .users
            .list(after, limit, email_prefix.map(str::to_string))
            .await?;
        let next_cursor = (users.len() as i64 == limit)
            .then(|| users.last().map(|u| u.id.to_string()))
            .flatten();
        Ok(UserPage { users, next_cursor })
    }

    pub async fn admin_user(&self, id: &str) -> Result<AdminUser, AuthError> {
        let id = parse_id(id)?;
        let user = self.users.find(id).await?.ok_or(AuthError::NotFound)?;
        let sessions = self.sessions.list(id).await?;
        let identities = self.users.identities_of(id).await?;
        Ok(AdminUser {
            user,
            sessions,
            identities,
        })
    }

    /// Disables the account: no login, and every session ends (behind the
    /// credential fence, so a login in flight makes none either).
    pub async fn admin_disable(&self, label: &str, id: &str) -> Result<(), AuthError> {
        let id = parse_id(id)?;
        let version = self
            .users
            .set_disabled(id, true)
            .await?
            .ok_or(AuthError::NotFound)?;
        self.end_sessions_behind(id, None, version).await?;
        done(label, "disable", id);
        Ok(())
    }

    pub async fn admin_enable(&self, label: &str, id: &str) -> Result<(), AuthError> {
        let id = parse_id(id)?;
        self.users
            .set_disabled(id, false)
            .await?
            .ok_or(AuthError::NotFound)?;
        done(label, "enable", id);
        Ok(())
    }

    pub async fn admin_logout_all(&self, label: &str, id: &str) -> Result<(), AuthError> {
        let id = parse_id(id)?;
        self.users.find(id).await?.ok_or(AuthError::NotFound)?;
        self.sessions.end_all(id, None, None).await?;
        done(label, "logout_all", id);
        Ok(())
    }

    pub async fn admin_verify_email(&self, label: &str, id: &str) -> Result<(), AuthError> {
        let id = parse_id(id)?;
        if !self.users.mark_verified(id).await? {
            return Err(AuthError::NotFound);
        }
        self.sessions.mark_verified(id).await?;
        done(label, "verify_email", id);
        Ok(())
    }

    /// Removes every second factor of the account (TOTP, recovery codes,
    /// passkeys): the way back for a user who lost them all. The user is
    /// mailed a notice. 404 for no such account; an account without factors
    /// is no error.
    pub async fn admin_remove_factors(&self, label: &str, id: &str) -> Result<(), AuthError> {
        let id = parse_id(id)?;
        let user = self.users.find(id).await?.ok_or(AuthError::NotFound)?;
        let notice = self.mailer.notice(MailKind::FactorsRemoved, &user.email);
        if self.users.remove_all_factors(id, notice).await? {
            self.mailer.queued(MailKind::FactorsRemoved);
        }
        done(label, "remove_factors", id);
        Ok(())
    }

    /// Unlinks one identity of the user, even the last way in (the
    /// operator decides; a reset mail adds a password to an address). An
    /// identity already gone is no error; 404 for no such user.
    pub async fn admin_unlink_identity(
        &self,
        label: &str,
        id: &str,
        identity: &str,
    ) -> Result<(), AuthError> {
        let id = parse_id(id)?;
        self.users.find(id).await?.ok_or(AuthError::NotFound)?;
        if let Ok(identity) = Uuid::parse_str(identity) {
            self.users.unlink_identity(id, identity, false).await?;
        }
        done(label, "unlink_identity", id);
        Ok(())
    }

    /// Deletes the account as its owner would (sessions first, then the
    /// row and a confirmation mail); an account already gone is no error.
    pub async fn admin_delete(&self, label: &str, id: &str) -> Result<(), AuthError> {
        let id = parse_id(id)?;
        if let Some(user) = self.users.find(id).await? {
            self.sessions.end_for_deletion(id).await?;
            let confirmation = self.mailer.notice(MailKind::AccountDeleted, &user.email);
            if self.users.delete(id, None, confirmation).await? {
                self.mailer.queued(MailKind::AccountDeleted);
            }
        }
        done(label, "delete", id);
        Ok(())
    }
}

fn done(label: &str, action: &'static str, user: Uuid) {
    log::info!("admin `{label}`: {action} user {user}");
    telemetry::admin_action(action);
}
