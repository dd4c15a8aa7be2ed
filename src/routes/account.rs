//! The account itself: registration and who-am-I.

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::body;
use super::tokens::{check_password, presented_password};
use crate::error::{ApiError, ApiResult};
use crate::identity::Identity;
use crate::state::AppState;
use crate::users::credentials::PasswordProblem;
use crate::users::{fingerprint, CreateUserError, Email, Password, User};

#[derive(Deserialize)]
struct RegisterRequest {
    email: String,
    password: String,
}

#[derive(Serialize)]
struct UserResponse {
    id: String,
    email: String,
    created_at: String,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.to_string(),
            email: user.email,
            created_at: rfc3339(user.created_at),
        }
    }
}

pub fn rfc3339(unix_seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

pub fn password_rules(problem: PasswordProblem) -> ApiError {
    match problem {
        PasswordProblem::TooShort => {
            ApiError::InvalidRequest("password must be at least 8 characters")
        }
        PasswordProblem::TooLong => {
            ApiError::InvalidRequest("password must be at most 1024 characters")
        }
    }
}

pub async fn register(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<RegisterRequest>(&req, &body, false)?;
    let email = Email::parse(&input.email)
        .ok_or(ApiError::InvalidRequest("email is not a valid address"))?;
    let password = Password::parse(&input.password).map_err(password_rules)?;
    // Cheap check first so a duplicate costs no Argon2 time; the unique
    // index settles races.
    if state.users.email_exists(&email).await? {
        return Err(ApiError::EmailTaken);
    }
    let hash = state.hasher.hash(password).await?;
    let user = state
        .users
        .create(&email, &hash)
        .await
        .map_err(|e| match e {
            CreateUserError::EmailTaken => ApiError::EmailTaken,
            CreateUserError::Store(e) => e.into(),
        })?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(UserResponse::from(user)))
}

#[derive(Deserialize)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// `POST /api/password`: replaces the hash and ends every other session of
/// the user; the calling session stays. A wrong current password counts as a
/// failed login.
pub async fn change_password(
    req: HttpRequest,
    body: Bytes,
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<PasswordChange>(&req, &body, false)?;
    let new_password = Password::parse(&input.new_password).map_err(password_rules)?;
    let current = presented_password(&input.current_password)?;
    let Some((user, hash)) = state.users.find_credentials_by_id(identity.user_id).await? else {
        return Err(ApiError::InvalidToken { token_sent: true });
    };
    let email = Email::parse(&user.email)
        .ok_or_else(|| ApiError::Internal("stored email does not parse".into()))?;
    let ip = state.trusted_proxies.client_ip(&req);
    check_password(&state, &email, ip, current, async {
        Ok(Some((user, hash)))
    })
    .await?;
    let new_hash = state.hasher.hash(new_password).await?;
    state
        .users
        .set_password(identity.user_id, &new_hash)
        .await?;
    // After the update: sessions made with the old password end here, and
    // logins checked against it but not yet finished find the new
    // fingerprint and make none. If this call fails, the password has
    // changed anyway; the client's retry (new password as the current one)
    // ends the sessions.
    state
        .sessions
        .revoke_all(
            identity.user_id,
            Some(identity.session_id),
            Some(&fingerprint(&new_hash)),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn me(
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let user = state
        .users
        .find(identity.user_id)
        .await?
        .ok_or(ApiError::InvalidToken { token_sent: true })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(UserResponse::from(user)))
}

pub async fn secure(identity: web::ReqData<Identity>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "message": "I am secured...",
        "user_id": identity.user_id.to_string(),
    }))
}
