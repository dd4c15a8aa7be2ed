//! Settings of sign-in with OpenID providers: which providers, and for each
//! its issuer, client ids and client secret. The per-provider variables
//! are named after the provider (`AUTHD_OIDC_<NAME>_…`), so they are read
//! here for the names `AUTHD_OIDC_PROVIDERS` lists, and documented in its
//! text.

use crate::common::settings::{list, ConfigError, Environment, Secret, Vars};
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
            .map(|name| read_provider(name, vars, environment))
            .collect()
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
        FederationSettings::read(&vars)?.read_providers(&vars, Environment::Production)
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
    fn a_listed_providers_variables_are_declared_and_no_others() {
        let vars = vars(&[("AUTHD_OIDC_PROVIDERS", "corp")]);
        let settings = FederationSettings::read(&vars).unwrap();
        assert!(settings.declares("AUTHD_OIDC_CORP_CLIENT_SECRET"));
        assert!(!settings.declares("AUTHD_OIDC_GOOGLE_CLIENT_IDS"));
        assert!(!settings.declares("AUTHD_OIDC_CORP_CLIENT_ID"));
    }
}
