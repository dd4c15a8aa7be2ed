//! The admin API, for operators holding one of `AUTHD_ADMIN_SECRETS` (404
//! for every route when none is set): look users up, disable and enable
//! them, end their sessions, delete them, mark their address verified.

use actix_web::http::header;
use actix_web::web::{self, Query};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AdminUser;
use crate::common::clock::rfc3339;
use crate::http::mount::open;
use crate::http::responses::LinkedIdentity;
use crate::http::state::AppState;
use crate::http::{ApiError, ApiResult};
use crate::users::User;
use authd_guard::{bearer_token, TokenProblem};

/// The label of the admin secret the request carries: 404 while the admin
/// API is off, 401 for anything but a configured secret.
fn admin(req: &HttpRequest, state: &AppState) -> Result<String, ApiError> {
    let Some(callers) = &state.admin else {
        return Err(ApiError::NotFound);
    };
    let presented = bearer_token(req.headers());
    presented
        .and_then(|secret| callers.admits(secret))
        .map(str::to_string)
        .ok_or(ApiError::InvalidToken(match presented {
            Some(_) => TokenProblem::UnknownSecret,
            None => TokenProblem::Missing,
        }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1 to 200; 50 by default.
    limit: Option<i64>,
    /// Only users whose (normalized) email starts with this.
    email_prefix: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct AdminUserSummary {
    id: String,
    email: String,
    email_verified: bool,
    disabled: bool,
    /// RFC 3339.
    created_at: String,
}

fn summary(user: User) -> AdminUserSummary {
    AdminUserSummary {
        id: user.id.to_string(),
        email: user.email,
        email_verified: user.email_verified,
        disabled: user.disabled,
        created_at: rfc3339(user.created_at),
    }
}

#[derive(Serialize, ToSchema)]
struct UserList {
    users: Vec<AdminUserSummary>,
    /// Where the next page starts; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct AdminSession {
    id: String,
    created_at: String,
    last_used_at: String,
    expires_at: String,
    device: Option<String>,
    user_agent: Option<String>,
    ip: Option<String>,
}

#[derive(Serialize, ToSchema)]
struct AdminUserDetail {
    #[serde(flatten)]
    user: AdminUserSummary,
    sessions: Vec<AdminSession>,
    identities: Vec<LinkedIdentity>,
}

/// Lists users by id, a page at a time.
#[utoipa::path(get, path = "/api/admin/users", operation_id = "admin_list_users", tag = "admin", security(("admin" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "A page of users", body = UserList),
        (status = 400, description = "A malformed cursor or query (`invalid_request`)", body = crate::http::error::ErrorBody),
        (status = 401, description = "No or a wrong admin secret (`invalid_token`)", body = crate::http::error::ErrorBody),
        (status = 404, description = "The admin API is off (`not_found`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    admin(&req, &state)?;
    let query = Query::<ListQuery>::from_query(req.query_string())
        .map_err(|_| ApiError::InvalidRequest("cursor, limit or email_prefix is malformed"))?;
    let page = state
        .auth
        .admin_list_users(
            query.cursor.as_deref(),
            query.limit,
            query.email_prefix.as_deref(),
        )
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(UserList {
            users: page.users.into_iter().map(summary).collect(),
            next_cursor: page.next_cursor,
        }))
}

/// One user, with their live sessions.
#[utoipa::path(get, path = "/api/admin/users/{id}", operation_id = "admin_user", tag = "admin", security(("admin" = [])),
    params(("id" = String, Path, description = "The user id")),
    responses(
        (status = 200, description = "The user", body = AdminUserDetail),
        (status = 401, description = "No or a wrong admin secret (`invalid_token`)", body = crate::http::error::ErrorBody),
        (status = 404, description = "No such user, or the admin API is off (`not_found`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn show(
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    admin(&req, &state)?;
    let AdminUser {
        user,
        sessions,
        identities,
    } = state.auth.admin_user(&id).await?;
    let ms = |t: i64| rfc3339(t / 1000);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(AdminUserDetail {
            user: summary(user),
            sessions: sessions
                .into_iter()
                .map(|s| AdminSession {
                    id: s.id.to_string(),
                    created_at: ms(s.created_ms),
                    last_used_at: ms(s.last_used_ms),
                    expires_at: ms(s.expires_ms),
                    device: s.device,
                    user_agent: s.user_agent,
                    ip: s.ip,
                })
                .collect(),
            identities: identities.into_iter().map(LinkedIdentity::from).collect(),
        }))
}

macro_rules! admin_action {
    ($(#[$doc:meta])* $name:ident, $method:ident, $path:literal, $call:ident) => {
        $(#[$doc])*
        #[utoipa::path($method, path = $path, operation_id = concat!("admin_", stringify!($name)), tag = "admin", security(("admin" = [])),
            params(("id" = String, Path, description = "The user id")),
            responses(
                (status = 204, description = "Done (idempotent)"),
                (status = 401, description = "No or a wrong admin secret (`invalid_token`)", body = crate::http::error::ErrorBody),
                (status = 404, description = "No such user, or the admin API is off (`not_found`)", body = crate::http::error::ErrorBody),
                crate::http::responses::Unavailable
            ))]
        pub async fn $name(
            req: HttpRequest,
            id: web::Path<String>,
            state: web::Data<AppState>,
        ) -> ApiResult<HttpResponse> {
            let label = admin(&req, &state)?;
            state.auth.$call(&label, &id).await?;
            Ok(HttpResponse::NoContent().finish())
        }
    };
}

admin_action!(
    /// Disables the user: no login, and every session ends on every instance.
    disable, post, "/api/admin/users/{id}/disable", admin_disable
);
admin_action!(
    /// Enables a disabled user again.
    enable, post, "/api/admin/users/{id}/enable", admin_enable
);
admin_action!(
    /// Ends every session of the user.
    logout_all, post, "/api/admin/users/{id}/logout-all", admin_logout_all
);
admin_action!(
    /// Marks the user's address verified.
    verify_email, post, "/api/admin/users/{id}/verify-email", admin_verify_email
);
admin_action!(
    /// Deletes the user (every session ends; a confirmation is mailed).
    delete, delete, "/api/admin/users/{id}", admin_delete
);
admin_action!(
    /// Removes every second factor of the user (TOTP, recovery codes,
    /// passkeys), for a user who lost them all; a notice is mailed.
    remove_factors, delete, "/api/admin/users/{id}/factors", admin_remove_factors
);

/// Unlinks one identity of the user (even the last way in).
#[utoipa::path(delete, path = "/api/admin/users/{id}/identities/{identity}", operation_id = "admin_unlink_identity", tag = "admin", security(("admin" = [])),
    params(
        ("id" = String, Path, description = "The user id"),
        ("identity" = String, Path, description = "The identity's id"),
    ),
    responses(
        (status = 204, description = "Done (idempotent)"),
        (status = 401, description = "No or a wrong admin secret (`invalid_token`)", body = crate::http::error::ErrorBody),
        (status = 404, description = "No such user, or the admin API is off (`not_found`)", body = crate::http::error::ErrorBody),
        crate::http::responses::Unavailable
    ))]
pub async fn unlink_identity(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> ApiResult<HttpResponse> {
    let label = admin(&req, &state)?;
    let (id, identity) = path.into_inner();
    state
        .auth
        .admin_unlink_identity(&label, &id, &identity)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Mounts the admin API (each route checks the admin secret itself: not
/// the user guard).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(open("/api/admin/users", web::get().to(list)))
        .service(
            web::resource("/api/admin/users/{id}")
                .route(web::get().to(show))
                .route(web::delete().to(delete)),
        )
        .service(open(
            "/api/admin/users/{id}/disable",
            web::post().to(disable),
        ))
        .service(open("/api/admin/users/{id}/enable", web::post().to(enable)))
        .service(open(
            "/api/admin/users/{id}/logout-all",
            web::post().to(logout_all),
        ))
        .service(open(
            "/api/admin/users/{id}/verify-email",
            web::post().to(verify_email),
        ))
        .service(open(
            "/api/admin/users/{id}/factors",
            web::delete().to(remove_factors),
        ))
        .service(open(
            "/api/admin/users/{id}/identities/{identity}",
            web::delete().to(unlink_identity),
        ));
}
