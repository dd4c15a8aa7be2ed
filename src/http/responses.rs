//! Responses that many routes document alike, written once for the OpenAPI
//! document (`responses(...)` in a route's `#[utoipa::path]` inlines them).

use super::error::ErrorBody;

/// What every route that reads Redis or the database may answer when a
/// store does not: the error body with `temporarily_unavailable`.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 503,
    description = "Redis or the database did not answer (`temporarily_unavailable`), with `Retry-After`"
)]
pub struct Unavailable(pub ErrorBody<'static>);

/// A WebAuthn challenge and the options of the ceremony that answers it
/// (passkey registration and passkey login alike).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Ceremony {
    /// Send it back with the authenticator's answer (5 minutes, single use).
    pub challenge_id: String,
    /// `PublicKeyCredentialCreationOptions` (registration) or
    /// `PublicKeyCredentialRequestOptions` (login), for `navigator.credentials`.
    #[serde(rename = "publicKey")]
    #[schema(value_type = Object)]
    pub public_key: serde_json::Value,
}

impl Ceremony {
    /// The `publicKey` member of webauthn-rs's options, as JSON.
    pub fn new(
        challenge_id: String,
        public_key: &impl serde::Serialize,
    ) -> Result<Self, super::ApiError> {
        let public_key =
            serde_json::to_value(public_key).map_err(|e| super::ApiError::Internal(Box::new(e)))?;
        Ok(Self {
            challenge_id,
            public_key,
        })
    }
}

/// An identity at a provider, linked to the user.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct LinkedIdentity {
    id: String,
    /// The provider's name (`apple`, `google`, …).
    provider: String,
    /// The user's `sub` at the provider.
    subject: String,
    /// The address the provider gave when it was linked, if any.
    email: Option<String>,
    created_at: String,
}

impl From<crate::users::IdentityRow> for LinkedIdentity {
    fn from(row: crate::users::IdentityRow) -> Self {
        Self {
            id: row.id.to_string(),
            provider: row.provider,
            subject: row.subject,
            email: row.email,
            created_at: crate::common::clock::rfc3339(row.created_at),
        }
    }
}
