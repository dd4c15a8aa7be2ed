//! The account itself: registration, who-am-I, password change.

use actix_web::http::header;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::common::clock::rfc3339;
use crate::http::body;
use crate::http::client::client;
use crate::http::ApiResult;
use crate::identity::Identity;
use crate::state::AppState;
use crate::users::User;

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

fn user_response(status: actix_web::http::StatusCode, user: User) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(UserResponse {
            id: user.id.to_string(),
            email: user.email,
            created_at: rfc3339(user.created_at),
        })
}

pub async fn register(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<RegisterRequest>(&req, &body, false)?;
    let client = client(&req, &state.trusted_proxies);
    let user = state
        .auth
        .register(&input.email, &input.password, &client)
        .await?;
    Ok(user_response(actix_web::http::StatusCode::CREATED, user))
}

#[derive(Deserialize)]
struct PasswordChange {
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    req: HttpRequest,
    body: Bytes,
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let (input, _) = body::required::<PasswordChange>(&req, &body, false)?;
    let client = client(&req, &state.trusted_proxies);
    state
        .auth
        .change_password(
            *identity,
            &input.current_password,
            &input.new_password,
            &client,
        )
        .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

pub async fn me(
    identity: web::ReqData<Identity>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let user = state.auth.me(*identity).await?;
    Ok(user_response(actix_web::http::StatusCode::OK, user))
}

pub async fn secure(identity: web::ReqData<Identity>) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "message": "I am secured...",
        "user_id": identity.user_id.to_string(),
    }))
}
