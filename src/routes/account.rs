//! The account itself: registration and who-am-I.

use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::body;
use crate::error::{ApiError, ApiResult};
use crate::identity::Identity;
use crate::state::AppState;
use crate::users::credentials::PasswordProblem;
use crate::users::{CreateUserError, Email, Password, User};

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
    Ok(HttpResponse::Created().json(UserResponse::from(user)))
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
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

pub async fn secure(identity: web::ReqData<Identity>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "message": "I am secured...",
        "user_id": identity.user_id.to_string(),
    }))
}
