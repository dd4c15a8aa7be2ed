//! The web flow of sign-in with a provider (OpenID Connect's authorization
//! code flow, with PKCE on both legs):
//!
//! 1. `GET /api/oauth/authorize`: the app's allow-listed `redirect_to` and
//!    its PKCE challenge are kept under authd's own `state` (Redis, single
//!    use, 10 minutes), and the user is sent to the provider with that
//!    state, the SHA-256 of a nonce, authd's PKCE challenge and its
//!    callback URL.
//! 2. The callback (`GET`, or `POST` for Apple's `form_post`): the state is
//!    taken once, the code exchanged with the client secret and authd's
//!    verifier, the ID token checked as a native one, the user found or
//!    made by the same rules, and the user sent back to `redirect_to` with
//!    a one-use code of authd's (60 s) or an `error`.
//! 3. `POST /api/token` with `grant_type=authorization_code`: the code and
//!    the app's verifier make a session, or the second step.

use authd_guard::Presented;
use url::Url;

use super::federated::PROVIDERS_OFF;
use super::login::LoginOutcome;
use super::{Auth, AuthError, Client};
use crate::common::random_token;
use crate::federation::{s256, ExchangeError, IssuedCode, PendingFlow};

const WEB_FLOW_OFF: &str = "the web flow of sign-in with providers is off: set AUTHD_OIDC_PROVIDERS, AUTHD_OIDC_REDIRECT_URLS and AUTHD_PUBLIC_URL to turn it on";
const UNKNOWN_STATE: &str =
    "state is unknown, used or expired: start again at /api/oauth/authorize";
const BAD_CODE: &str =
    "the code is unknown, used or expired, or code_verifier does not match its code_challenge";

/// What the provider sent to the callback.
pub struct Callback<'a> {
    pub state: Option<&'a str>,
    pub code: Option<&'a str>,
    /// The provider's `error` (the user declined, for one).
    pub error: Option<&'a str>,
}

/// Whether `value` is an RFC 7636 code challenge or verifier: 43 to 128
/// characters of `[A-Za-z0-9-._~]`.
fn pkce_shaped(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `base` with `pairs` added to its query.
fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    match Url::parse(base) {
        Ok(mut url) => {
            url.query_pairs_mut().extend_pairs(pairs);
            url.to_string()
        }
        // Allow-listed URLs parse (settings check them); never reached.
        Err(_) => base.to_string(),
    }
}

impl Auth {
    fn web_flow_on(&self) -> Result<&str, AuthError> {
        if !self.federation.is_on() {
            return Err(AuthError::Off(PROVIDERS_OFF));
        }
        match &self.federation.callback_url {
            Some(callback) if !self.federation.redirect_urls.is_empty() => Ok(callback),
            _ => Err(AuthError::Off(WEB_FLOW_OFF)),
        }
    }

    /// `GET /api/oauth/authorize`: where to send the user (the provider's
    /// authorization endpoint with authd's parameters).
    pub async fn authorize(
        &self,
        provider: &str,
        redirect_to: &str,
        code_challenge: &str,
        code_challenge_method: &str,
    ) -> Result<String, AuthError> {
        let callback = self.web_flow_on()?;
        let provider_ref = self
            .federation
            .provider(provider)
            .ok_or(AuthError::InvalidRequest(
                "provider is not one this server signs in with",
            ))?;
        if !self
            .federation
            .redirect_urls
            .iter()
            .any(|u| u == redirect_to)
        {
            return Err(AuthError::InvalidRequest(
                "redirect_to is not one of AUTHD_OIDC_REDIRECT_URLS (matched exactly)",
            ));
        }
        if code_challenge_method != "S256" {
            return Err(AuthError::InvalidRequest(
                "code_challenge_method must be S256",
            ));
        }
        if !pkce_shaped(code_challenge) {
            return Err(AuthError::InvalidRequest(
                "code_challenge must be the base64url SHA-256 of the app's code_verifier (43 to 128 characters)",
            ));
        }
        let endpoint = provider_ref
            .authorization_endpoint()
            .await
            .map_err(AuthError::ProviderUnavailable)?;
        let flow = PendingFlow {
            provider: provider.to_string(),
            redirect_to: redirect_to.to_string(),
            app_challenge: code_challenge.to_string(),
            nonce: random_token(),
            verifier: random_token(),
        };
        let state = self.federation.flows.open(&flow).await?;
        let client_id = provider_ref
            .settings
            .client_ids
            .first()
            .map(String::as_str)
            .unwrap_or_default();
        let nonce = crate::federation::nonce_digest(&flow.nonce);
        let challenge = s256(&flow.verifier);
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", callback),
            ("scope", "openid email"),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        // Apple sends the code by POST when the scope asks for the email.
        if provider == "apple" {
            pairs.push(("response_mode", "form_post"));
        }
        Ok(with_query(&endpoint, &pairs))
    }

    /// The callback: where to send the user back (the app's `redirect_to`
    /// with authd's `code`, or an `error`). An unknown, used or expired
    /// state is 400 `invalid_request`, and nobody is redirected.
    pub async fn oauth_callback(&self, callback: Callback<'_>) -> Result<String, AuthError> {
        let callback_url = self.web_flow_on()?;
        let state = callback
            .state
            .filter(|s| !s.is_empty() && s.len() <= 256)
            .ok_or(AuthError::InvalidRequest(UNKNOWN_STATE))?;
        let flow = self
            .federation
            .flows
            .take_flow(state)
            .await?
            .ok_or(AuthError::InvalidRequest(UNKNOWN_STATE))?;
        let back = |error: &str| with_query(&flow.redirect_to, &[("error", error)]);
        if let Some(error) = callback.error {
            // The provider's code, if it is one of OAuth's; else a generic one.
            let error = if error.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                error
            } else {
                "access_denied"
            };
            return Ok(back(error));
        }
        let Some(code) = callback.code.filter(|c| !c.is_empty()) else {
            return Ok(back("invalid_request"));
        };
        let outcome = async {
            let provider = self
                .federation
                .provider(&flow.provider)
                .ok_or(AuthError::InvalidRequest(UNKNOWN_STATE))?;
            let secret = provider.client_secret();
            let id_token = provider
                .exchange(code, callback_url, &flow.verifier, secret.as_deref())
                .await
                .map_err(|e| match e {
                    ExchangeError::Refused(why) => {
                        log::info!("provider {}: code refused: {why}", flow.provider);
                        AuthError::IdTokenRefused("the provider refused the code")
                    }
                    ExchangeError::Unavailable(cause) => AuthError::ProviderUnavailable(cause),
                })?;
            let token = self
                .verified_id_token(&flow.provider, &id_token, &flow.nonce)
                .await?;
            let credentials = self.user_of(&flow.provider, &token).await?;
            Ok(self
                .federation
                .flows
                .issue_code(&IssuedCode {
                    user: credentials.user.id,
                    app_challenge: flow.app_challenge.clone(),
                    provider: flow.provider.clone(),
                })
                .await?)
        }
        .await;
        Ok(match outcome {
            Ok(code) => with_query(&flow.redirect_to, &[("code", code.as_str())]),
            Err(e) => back(match e {
                AuthError::AccountExists => "account_exists",
                AuthError::AddressNotVerified => "email_not_verified",
                AuthError::IdTokenRefused(_) | AuthError::InvalidRequest(_) => "invalid_grant",
                _ => "temporarily_unavailable",
            }),
        })
    }

    /// `POST /api/token` with `grant_type=authorization_code`: authd's code
    /// and the app's verifier. The code is spent whatever the verifier.
    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: &str,
        client: &Client,
        presented: &Presented<'_>,
    ) -> Result<LoginOutcome, AuthError> {
        if !self.federation.is_on() {
            return Err(AuthError::Off(PROVIDERS_OFF));
        }
        if code.is_empty() || code.len() > 256 {
            return Err(AuthError::InvalidRequest("code is required"));
        }
        if !pkce_shaped(verifier) {
            return Err(AuthError::InvalidRequest(
                "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
            ));
        }
        let key = self
            .proof(presented, None, self.dpop.required)
            .await?
            .map(|p| p.thumbprint);
        let issued = self
            .federation
            .flows
            .take_code(code)
            .await?
            .ok_or(AuthError::IdTokenRefused(BAD_CODE))?;
        let outcome = async {
            if s256(verifier) != issued.app_challenge {
                return Err(AuthError::IdTokenRefused(BAD_CODE));
            }
            let credentials = self
                .users
                .credentials_by_id(issued.user)
                .await?
                .ok_or(AuthError::IdTokenRefused(BAD_CODE))?;
            self.federated_session(&credentials, None, client, key)
                .await
        }
        .await;
        self.count_id_token_login(&issued.provider, &outcome);
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_go_back_in_the_query_of_web_and_app_urls() {
        assert_eq!(
            with_query("https://app.example.com/cb", &[("code", "a b")]),
            "https://app.example.com/cb?code=a+b"
        );
        assert_eq!(
            with_query("com.example.app:/oauth?x=1", &[("error", "access_denied")]),
            "com.example.app:/oauth?x=1&error=access_denied"
        );
    }

    #[test]
    fn pkce_values_are_43_to_128_unreserved_characters() {
        assert!(pkce_shaped(&"a".repeat(43)));
        assert!(!pkce_shaped(&"a".repeat(42)));
        assert!(!pkce_shaped(&"a".repeat(129)));
        assert!(!pkce_shaped(&format!("{}+", "a".repeat(43))));
    }
}
