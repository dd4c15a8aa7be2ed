//! The pages behind the mailed links (`AUTHD_LINK_VERIFY` and
//! `AUTHD_LINK_RESET` unset): `GET` shows a form and never spends the token
//! (mail scanners open every link); its `POST`, form-encoded, spends it and
//! shows what happened. No script: a plain form works everywhere.

use actix_web::http::header::{self, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;

use crate::auth::AuthError;
use crate::http::html::{form, page, paragraph, password_input, problem};
use crate::http::state::AppState;
use crate::http::ApiError;

const VERIFY_ACTION: &str = "verify-email";
const RESET_ACTION: &str = "reset-password";

#[derive(Deserialize)]
struct Link {
    token: Option<String>,
}

#[derive(Deserialize)]
struct VerifyForm {
    token: String,
}

#[derive(Deserialize)]
struct ResetForm {
    token: String,
    new_password: String,
    new_password_again: String,
}

/// The token of the link, if it has one.
fn link_token(req: &HttpRequest) -> Option<String> {
    serde_urlencoded::from_str::<Link>(req.query_string())
        .ok()?
        .token
        .filter(|t| !t.is_empty())
}

/// A form-encoded body, or `None` for any other.
fn form_body<T: serde::de::DeserializeOwned>(req: &HttpRequest, body: &Bytes) -> Option<T> {
    let form_encoded = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    form_encoded
        .then(|| serde_urlencoded::from_bytes(body).ok())
        .flatten()
}

fn incomplete_link(title: &str) -> HttpResponse {
    page(
        StatusCode::BAD_REQUEST,
        title,
        "This link is incomplete",
        &paragraph(
            "Open the whole link from the mail: some mail programs cut long links. Or ask the app for a new mail.",
        ),
    )
}

/// The page for a failed POST: a link that does not work (`mail` names
/// the mail to ask for again), a rule the input broke, or a store down.
fn failure(title: &str, error: AuthError, mail: &str, form_again: Option<&str>) -> HttpResponse {
    let error = ApiError::from(error);
    match error.status_code() {
        StatusCode::BAD_REQUEST => match (&error, form_again) {
            (ApiError::InvalidRequest(text), Some(form)) => page(
                StatusCode::BAD_REQUEST,
                title,
                "Choose a new password",
                &format!("{}{form}", problem(text)),
            ),
            _ => page(
                StatusCode::BAD_REQUEST,
                title,
                "This link does not work",
                &paragraph(&format!(
                    "It is unknown, used already, replaced by a newer one, or expired. Ask the app for a new {mail}."
                )),
            ),
        },
        StatusCode::SERVICE_UNAVAILABLE => {
            error.log_cause();
            let mut response = page(
                StatusCode::SERVICE_UNAVAILABLE,
                title,
                "Please try again",
                &paragraph("The service is busy for a moment: nothing was changed. Send the form again shortly."),
            );
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from_static("1"),
            );
            response
        }
        status => {
            error.log_cause();
            page(
                status,
                title,
                "Something went wrong",
                &paragraph("Nothing was changed. Try again later."),
            )
        }
    }
}

/// The page a link opens: `heading` over `body` made from the link's
/// token, which is not looked at (a GET spends nothing); a link without
/// its token says it was cut.
fn link_page(
    req: &HttpRequest,
    title: &str,
    heading: &str,
    body: impl FnOnce(&str) -> String,
) -> HttpResponse {
    match link_token(req) {
        Some(token) => page(StatusCode::OK, title, heading, &body(&token)),
        None => incomplete_link(title),
    }
}

/// `GET /verify-email?token=…`: a button that verifies.
pub async fn verify_form(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    link_page(
        &req,
        &state.pages_title,
        "Verify your email address",
        |token| {
            format!(
                "{}{}",
                paragraph("Confirm that this address is yours."),
                form(VERIFY_ACTION, token, "", "Verify my address")
            )
        },
    )
}

/// `POST /verify-email`: spends the token.
pub async fn verify_submit(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let title = &state.pages_title;
    let Some(input) = form_body::<VerifyForm>(&req, &body) else {
        return incomplete_link(title);
    };
    match state.auth.verify_email(&input.token).await {
        Ok(()) => page(
            StatusCode::OK,
            title,
            "Email address verified",
            &paragraph("Your address is verified. You can close this page and go back to the app."),
        ),
        Err(e) => failure(title, e, "verification mail", None),
    }
}

/// The reset form for `token`, with `note` above it.
fn reset_form(token: &str, note: &str) -> String {
    let fields = format!(
        "{}{}",
        password_input("new_password", "New password", "new-password"),
        password_input("new_password_again", "New password again", "new-password")
    );
    format!(
        "{note}{}",
        form(RESET_ACTION, token, &fields, "Set the new password")
    )
}

const RESET_NOTE: &str =
    "At least 8 characters. Every device signed in to the account will be signed out.";

/// `GET /reset-password?token=…`: the new password, twice.
pub async fn reset_form_page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    link_page(&req, &state.pages_title, "Choose a new password", |token| {
        reset_form(token, &paragraph(RESET_NOTE))
    })
}

/// `POST /reset-password`: both passwords equal, then spends the token.
pub async fn reset_submit(
    req: HttpRequest,
    body: Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let title = &state.pages_title;
    let Some(input) = form_body::<ResetForm>(&req, &body) else {
        return incomplete_link(title);
    };
    if input.new_password != input.new_password_again {
        return page(
            StatusCode::BAD_REQUEST,
            title,
            "Choose a new password",
            &reset_form(
                &input.token,
                &problem("The two passwords differ: type the same new password twice."),
            ),
        );
    }
    match state
        .auth
        .reset_password(&input.token, &input.new_password)
        .await
    {
        Ok(()) => page(
            StatusCode::OK,
            title,
            "Password changed",
            &paragraph(
                "Your new password is set, and every session of the account has ended: sign in again with it.",
            ),
        ),
        Err(e) => failure(
            title,
            e,
            "password-reset mail",
            Some(&reset_form(&input.token, "")),
        ),
    }
}

/// Mounts the two pages, each at the path of its default mailed link.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/verify-email")
            .route(web::get().to(verify_form))
            .route(web::post().to(verify_submit)),
    )
    .service(
        web::resource("/reset-password")
            .route(web::get().to(reset_form_page))
            .route(web::post().to(reset_submit)),
    );
}
