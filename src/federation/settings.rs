//! Settings of sign-in with OpenID providers: which providers, and for each
//! its issuer, client ids and client secret. The per-provider variables
//! are named after the provider (`AUTHD_OIDC_<NAME>_…`), so they are read
//! here for the names `AUTHD_OIDC_PROVIDERS` lists, and documented in its
//! text.

use std::path::PathBuf;
use std::sync::Arc;

use super::apple_secret::AppleKey;
use crate::common::settings::{list, path, text, ConfigError, Environment, Secret, Vars};
use crate::settings_section;

fn names(value: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    for name in list(value) {
        let name = name.to_ascii_lowercase();
        let valid = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && name.starts_with(|c: char| c.is_ascii_lowercase());
        if !valid {
            return Err(format!(
                "`{name}` is not a provider name: letters, digits and `_`, starting with a letter"
            ));
        }
        if names.contains(&name) {
            return Err(format!("`{name}` is listed twice"));
        }
        names.push(name);
    }
    Ok(names)
}

fn redirect_urls(value: &str) -> Result<Vec<String>, String> {
    list(value)
        .map(|u| match url::Url::parse(u) {
            Ok(parsed) if parsed.fragment().is_none() => Ok(u.to_string()),
            _ => Err(format!(
                "`{u}` is not an absolute URL without a fragment (https://app.example.com/auth/callback, com.example.app:/oauth)"
            )),
        })
        .collect()
}

settings_section! {
    /// Sign in with Apple, Google and any OpenID provider.
    pub struct FederationSettings in "sign in with OpenID providers" {
        /// Comma-separated provider names (e.g. `apple,google`); empty: sign-in
        /// with providers is off and its routes answer 404. For each NAME, upper
        /// case in the variable: `AUTHD_OIDC_<NAME>_ISSUER` (built in for `apple`,
        /// `https://appleid.apple.com`, and `google`, `https://accounts.google.com`;
        /// any other name needs it; endpoints and keys come from its
        /// `/.well-known/openid-configuration`; production takes only `https://`),
        /// `AUTHD_OIDC_<NAME>_CLIENT_IDS` (comma-separated, required: each is an
        /// accepted `aud` of an ID token: an iOS bundle id, an Apple services id,
        /// an Android or web client id) and `AUTHD_OIDC_<NAME>_CLIENT_SECRET`.
        pub providers: Vec<String> = "AUTHD_OIDC_PROVIDERS" [""] => names;
        /// Comma-separated URLs the web flow may send the user back to with
        /// authd's code, each matched exactly: web pages
        /// (`https://app.example.com/auth/callback`) and apps' custom schemes
        /// (`com.example.app:/oauth`). Empty: the web flow is off. The flow
        /// also needs `AUTHD_PUBLIC_URL`: the provider sends the user to
        /// `AUTHD_PUBLIC_URL` + `/api/oauth/callback`, registered with it.
        pub redirect_urls: Vec<String> = "AUTHD_OIDC_REDIRECT_URLS" [""] => redirect_urls;
        /// Sign in with Apple's web flow: instead of a client secret that expires
        /// within six months, authd signs its own (an ES256 JWT, renewed daily)
        /// with the team's key. The team id (10 characters), with
        /// `AUTHD_OIDC_APPLE_KEY_ID` and `AUTHD_OIDC_APPLE_PRIVATE_KEY_FILE`.
        pub apple_team_id: Option<String> = "AUTHD_OIDC_APPLE_TEAM_ID" [] => text;
        /// The id of the Sign in with Apple key (10 characters).
        pub apple_key_id: Option<String> = "AUTHD_OIDC_APPLE_KEY_ID" [] => text;
        /// The key's `.p8` file Apple gives (PKCS#8 PEM, P-256).
        pub apple_private_key_file: Option<PathBuf> = "AUTHD_OIDC_APPLE_PRIVATE_KEY_FILE" [] => path;
    }
}

/// What the variables of one provider say.
#[derive(Clone, Debug)]
pub struct ProviderSettings {
    /// Lower case, as clients name it (`"provider": "apple"`).
    pub name: String,
    /// The issuer its discovery document must name, and ID tokens carry.
    pub issuer: String,
    /// Other `iss` values the provider is known to put in ID tokens (Apple's
    /// and Google's second ones).
    pub other_issuers: Vec<String>,
    /// Accepted audiences; the first is the web flow's client.
    pub client_ids: Vec<String>,
    pub client_secret: Option<Secret>,
    /// Apple's team key, which signs the client secret (`apple` only).
    pub apple_key: Option<Arc<AppleKey>>,
}

/// The issuer of a built-in provider, and the other `iss` it sends.
fn built_in(name: &str) -> Option<(&'static str, &'static [&'static str])> {
    match name {
        "apple" => Some(("https://appleid.apple.com", &["https://account.apple.com"])),
        "google" => Some(("https://accounts.google.com", &["accounts.google.com"])),
        _ => None,
    }
}

/// The suffixes of a provider's own variables.
const PROVIDER_SUFFIXES: [&str; 3] = ["ISSUER", "CLIENT_IDS", "CLIENT_SECRET"];

impl FederationSettings {
    /// The settings of each provider listed, in order.
    pub fn read_providers(
        &self,
        vars: &Vars,
        environment: Environment,
    ) -> Result<Vec<ProviderSettings>, ConfigError> {
        self.providers
            .iter()
            .map(|name| {
                let mut provider = read_provider(name, vars, environment)?;
                if name == "apple" {
                    provider.apple_key = self.apple_key()?;
                    if provider.apple_key.is_some() && provider.client_secret.is_some() {
                        return Err(ConfigError::new(
                            "AUTHD_OIDC_APPLE_CLIENT_SECRET",
                            "set either it or the team key (AUTHD_OIDC_APPLE_TEAM_ID, _KEY_ID, _PRIVATE_KEY_FILE), not both",
                        ));
                    }
                }
                Ok(provider)
            })
            .collect()
    }

    /// Apple's team key, when its three variables are set (all or none).
    fn apple_key(&self) -> Result<Option<Arc<AppleKey>>, ConfigError> {
        match (
            &self.apple_team_id,
            &self.apple_key_id,
            &self.apple_private_key_file,
        ) {
            (None, None, None) => Ok(None),
            (Some(team), Some(key_id), Some(file)) => AppleKey::load(team, key_id, file)
                .map(|key| Some(Arc::new(key)))
                .map_err(|e| ConfigError::new("AUTHD_OIDC_APPLE_PRIVATE_KEY_FILE", e)),
            _ => Err(ConfigError::new(
                "AUTHD_OIDC_APPLE_TEAM_ID",
                "AUTHD_OIDC_APPLE_TEAM_ID, AUTHD_OIDC_APPLE_KEY_ID and AUTHD_OIDC_APPLE_PRIVATE_KEY_FILE go together: set all three, or none",
            )),
        }
    }

    /// Whether `variable` is one of a listed provider's own.
    pub fn declares(&self, variable: &str) -> bool {
        self.providers.iter().any(|name| {
            PROVIDER_SUFFIXES
                .iter()
                .any(|suffix| variable == provider_variable(name, suffix))
        })
    }
}

fn provider_variable(name: &str, suffix: &str) -> String {
    format!("AUTHD_OIDC_{}_{suffix}", name.to_ascii_uppercase())
}

fn read_provider(
    name: &str,
    vars: &Vars,
    environment: Environment,
) -> Result<ProviderSettings, ConfigError> {
    let issuer_var = provider_variable(name, "ISSUER");
    let defaults = built_in(name);
    let issuer = match (vars.get(&issuer_var), defaults) {
        (Some(issuer), _) => issuer.trim().trim_end_matches('/').to_string(),
        (None, Some((issuer, _))) => issuer.to_string(),
        (None, None) => {
            return Err(ConfigError::new(
                &issuer_var,
                format!("provider `{name}` is listed in AUTHD_OIDC_PROVIDERS: set its issuer (the URL its /.well-known/openid-configuration is under)"),
            ))
        }
    };
    let secure = issuer.starts_with("https://");
    let loopback_http = issuer.starts_with("http://") && environment == Environment::Development;
    if !(secure || loopback_http) || url::Url::parse(&issuer).is_err() {
        return Err(ConfigError::new(
            &issuer_var,
            "must be an https:// URL (development also takes http://, for a provider on this machine)",
        ));
    }
    let ids_var = provider_variable(name, "CLIENT_IDS");
    let client_ids: Vec<String> = vars
        .get(&ids_var)
        .map(|ids| list(ids).map(str::to_string).collect())
        .unwrap_or_default();
    if client_ids.is_empty() {
        return Err(ConfigError::new(
            &ids_var,
            format!("provider `{name}` needs at least one client id: the audience its ID tokens are issued for"),
        ));
    }
    Ok(ProviderSettings {
        name: name.to_string(),
        issuer,
        other_issuers: defaults
            .map(|(_, others)| others.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
        client_ids,
        client_secret: vars
            .get(&provider_variable(name, "CLIENT_SECRET"))
            .map(Secret::new),
        apple_key: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        Vars::new(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn providers(pairs: &[(&str, &str)]) -> Result<Vec<ProviderSettings>, ConfigError> {
        let vars = vars(pairs);
        // The first error of the section, as `read_providers` reports one.
        let settings =
            FederationSettings::read(&vars).map_err(|e| e.into_iter().next().expect("an error"))?;
        settings.read_providers(&vars, Environment::Production)
    }

    #[test]
    fn built_in_providers_know_their_issuers_and_others_need_one() {
        let read = providers(&[
            ("AUTHD_OIDC_PROVIDERS", "Apple, google"),
            (
                "AUTHD_OIDC_APPLE_CLIENT_IDS",
                "com.example.app, com.example.web",
            ),
            (
                "AUTHD_OIDC_GOOGLE_CLIENT_IDS",
                "web.apps.googleusercontent.com",
            ),
        ])
        .unwrap();
        assert_eq!(read[0].name, "apple");
        assert_eq!(read[0].issuer, "https://appleid.apple.com");
        assert_eq!(read[0].other_issuers, ["https://account.apple.com"]);
        assert_eq!(read[0].client_ids, ["com.example.app", "com.example.web"]);
        assert_eq!(read[1].other_issuers, ["accounts.google.com"]);

        let missing = providers(&[
            ("AUTHD_OIDC_PROVIDERS", "corp"),
            ("AUTHD_OIDC_CORP_CLIENT_IDS", "authd"),
        ])
        .unwrap_err();
        assert_eq!(missing.variable, "AUTHD_OIDC_CORP_ISSUER");
    }

    #[test]
    fn a_provider_without_client_ids_or_with_an_http_issuer_in_production_is_refused() {
        let no_ids = providers(&[("AUTHD_OIDC_PROVIDERS", "google")]).unwrap_err();
        assert_eq!(no_ids.variable, "AUTHD_OIDC_GOOGLE_CLIENT_IDS");
        let http = providers(&[
            ("AUTHD_OIDC_PROVIDERS", "corp"),
            ("AUTHD_OIDC_CORP_ISSUER", "http://127.0.0.1:9000"),
            ("AUTHD_OIDC_CORP_CLIENT_IDS", "authd"),
        ])
        .unwrap_err();
        assert_eq!(http.variable, "AUTHD_OIDC_CORP_ISSUER");
        let bad_name = FederationSettings::read(&vars(&[("AUTHD_OIDC_PROVIDERS", "my-idp")]));
        assert!(bad_name.is_err());
    }

    #[test]
    fn apples_team_key_takes_its_three_variables_and_no_pasted_secret_beside() {
        let partial = providers(&[
            ("AUTHD_OIDC_PROVIDERS", "apple"),
            ("AUTHD_OIDC_APPLE_CLIENT_IDS", "com.example.web"),
            ("AUTHD_OIDC_APPLE_TEAM_ID", "TEAM123456"),
        ])
        .unwrap_err();
        assert_eq!(partial.variable, "AUTHD_OIDC_APPLE_TEAM_ID");
        let missing_file = providers(&[
            ("AUTHD_OIDC_PROVIDERS", "apple"),
            ("AUTHD_OIDC_APPLE_CLIENT_IDS", "com.example.web"),
            ("AUTHD_OIDC_APPLE_TEAM_ID", "TEAM123456"),
            ("AUTHD_OIDC_APPLE_KEY_ID", "KEY1234567"),
            (
                "AUTHD_OIDC_APPLE_PRIVATE_KEY_FILE",
                "/nonexistent/AuthKey.p8",
            ),
        ])
        .unwrap_err();
        assert_eq!(missing_file.variable, "AUTHD_OIDC_APPLE_PRIVATE_KEY_FILE");
    }

    #[test]
    fn redirect_urls_are_absolute_web_or_app_urls() {
        let read = |value: &str| {
            FederationSettings::read(&vars(&[("AUTHD_OIDC_REDIRECT_URLS", value)]))
                .map(|s| s.redirect_urls)
        };
        assert_eq!(
            read("https://app.example.com/cb, com.example.app:/oauth").unwrap(),
            ["https://app.example.com/cb", "com.example.app:/oauth"]
        );
        assert!(read("/relative").is_err());
        assert!(read("https://app.example.com/cb#frag").is_err());
    }

    #[test]
    fn a_listed_providers_variables_are_declared_and_no_others() {
        let vars = vars(&[("AUTHD_OIDC_PROVIDERS", "corp")]);
        let settings = FederationSettings::read(&vars).unwrap();
        assert!(settings.declares("AUTHD_OIDC_CORP_CLIENT_SECRET"));
        assert!(!settings.declares("AUTHD_OIDC_GOOGLE_CLIENT_IDS"));
        assert!(!settings.declares("AUTHD_OIDC_CORP_CLIENT_ID"));
    }
}
