//! How the guard refuses, rendered as authd's contract says (`docs/api.md`,
//! Errors): 401 `invalid_token` with an RFC 6750 challenge, or 503
//! `temporarily_unavailable` with `Retry-After` when the session could not
//! be checked. Every body is JSON; nothing is cached.

use std::fmt;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::dpop::{ProofError, SIGNING_ALGORITHMS};
use crate::token_problem::TokenProblem;
use crate::unavailable::Unavailable;

/// The `error_description` of a 503 `temporarily_unavailable`.
pub const UNAVAILABLE_DESCRIPTION: &str = "a backing store is unavailable; retry shortly";

/// The `WWW-Authenticate` challenge of a 401 (RFC 6750 §3): with
/// `error="invalid_token"` and the `error_description` only when a token
/// was sent.
pub fn challenge(problem: TokenProblem) -> &'static str {
    problem.challenge()
}

/// The `WWW-Authenticate` challenge of a refused DPoP proof (RFC 9449
/// §7.1), naming the algorithms a proof may use.
pub fn dpop_challenge() -> String {
    format!(
        r#"DPoP algs="{}", error="invalid_dpop_proof""#,
        SIGNING_ALGORITHMS.join(" ")
    )
}

/// The `error_description` of a 401 `use_dpop_nonce`.
pub const USE_DPOP_NONCE_DESCRIPTION: &str =
    "the DPoP proof must carry the server nonce given in the DPoP-Nonce header";

/// The `WWW-Authenticate` challenge of a proof without the server's nonce
/// (RFC 9449 §9).
pub fn nonce_challenge() -> String {
    format!(
        r#"DPoP algs="{}", error="use_dpop_nonce", error_description="{USE_DPOP_NONCE_DESCRIPTION}""#,
        SIGNING_ALGORITHMS.join(" ")
    )
}

#[derive(Debug)]
pub enum Refusal {
    /// No token, or one that is not valid, expired, or whose session has
    /// ended: the problem says which.
    InvalidToken(TokenProblem),
    /// The session could not be checked: fail closed, ask to retry.
    Unavailable(Unavailable),
    /// A DPoP-bound token without a valid proof by its key (RFC 9449 §7.1).
    InvalidDpopProof(ProofError),
    /// A valid proof without a current server nonce: retry with this one
    /// (RFC 9449 §9, `use_dpop_nonce`).
    UseDpopNonce(String),
    /// A valid token whose login used no second factor, where one is
    /// required (RFC 9470 §3).
    InsufficientUserAuthentication,
}

/// The `error_description` of a 403 `insufficient_user_authentication`.
pub const INSUFFICIENT_AUTHENTICATION_DESCRIPTION: &str =
    "this resource needs a login with a second factor or a passkey";

/// The challenge of a 403 `insufficient_user_authentication` (RFC 9470
/// §3): log in again to reach `acr` `aal2`.
pub const STEP_UP_CHALLENGE: &str = r#"Bearer realm="authd", error="insufficient_user_authentication", error_description="this resource needs a login with a second factor or a passkey", acr_values="aal2""#;

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidToken(problem) => write!(f, "invalid token: {problem:?}"),
            Self::Unavailable(cause) => write!(f, "session check unavailable: {cause}"),
            Self::InvalidDpopProof(e) => write!(f, "invalid DPoP proof: {}", e.description()),
            Self::UseDpopNonce(_) => f.write_str("a DPoP nonce is required"),
            Self::InsufficientUserAuthentication => f.write_str("a second factor is required"),
        }
    }
}

#[derive(Serialize)]
struct Body {
    error: &'static str,
    error_description: &'static str,
}

impl ResponseError for Refusal {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::InvalidToken(_) | Self::InvalidDpopProof(_) | Self::UseDpopNonce(_) => {
                StatusCode::UNAUTHORIZED
            }
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::InsufficientUserAuthentication => StatusCode::FORBIDDEN,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        let body = match self {
            Self::InvalidToken(problem) => {
                res.insert_header((header::WWW_AUTHENTICATE, problem.challenge()));
                Body {
                    error: "invalid_token",
                    error_description: problem.description(),
                }
            }
            Self::InvalidDpopProof(e) => {
                res.insert_header((header::WWW_AUTHENTICATE, dpop_challenge()));
                Body {
                    error: "invalid_dpop_proof",
                    error_description: e.description(),
                }
            }
            Self::UseDpopNonce(nonce) => {
                res.insert_header((header::WWW_AUTHENTICATE, nonce_challenge()));
                res.insert_header(("DPoP-Nonce", nonce.as_str()));
                Body {
                    error: "use_dpop_nonce",
                    error_description: USE_DPOP_NONCE_DESCRIPTION,
                }
            }
            Self::InsufficientUserAuthentication => {
                res.insert_header((header::WWW_AUTHENTICATE, STEP_UP_CHALLENGE));
                Body {
                    error: "insufficient_user_authentication",
                    error_description: INSUFFICIENT_AUTHENTICATION_DESCRIPTION,
                }
            }
            Self::Unavailable(cause) => {
                log::warn!("answering 503: {cause}");
                res.insert_header((header::RETRY_AFTER, "1"));
                Body {
                    error: "temporarily_unavailable",
                    error_description: UNAVAILABLE_DESCRIPTION,
                }
            }
        };
        res.json(body)
    }
}
