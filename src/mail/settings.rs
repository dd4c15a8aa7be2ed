//! The mail settings: where SMTP is, who mail is from, the links in it, and
//! the templates it is written from.

use std::path::PathBuf;

use crate::common::settings::{path, read_file, text, ConfigError};
use crate::common::Secret;
use crate::settings_section;

fn smtp_url(value: &str) -> Result<Secret, String> {
    let url = value.trim();
    let scheme_ok = ["smtp://", "smtps://"]
        .iter()
        .any(|s| url.to_ascii_lowercase().starts_with(s));
    if !scheme_ok {
        return Err("must start with smtp:// or smtps://".into());
    }
    Ok(Secret::new(url))
}

fn link(value: &str) -> Result<String, String> {
    if !value.contains("{token}") {
        return Err("must contain `{token}`, where the token goes".into());
    }
    Ok(value.trim().to_string())
}

settings_section! {
    /// How mail is sent.
    pub struct MailSettings in "mail" {
        /// SMTP server: `smtp://host:port` (plain, for a local catcher),
        /// `smtp://host:587?tls=starttls` or `smtps://host:465`, credentials in the
        /// URL (`smtp://user:pass@host…`). Unset: development writes each mail
        /// (links included) to the log; production refuses to start.
        pub smtp_url: Option<Secret> = "AUTHD_SMTP_URL" [] => smtp_url;
        /// The `From` of every mail.
        pub from: String = "AUTHD_SMTP_FROM" ["authd <noreply@localhost>"] => text;
        /// PEM of the CA that signed the SMTP server's certificate; unset: the
        /// system's roots.
        pub ca_file: Option<PathBuf> = "AUTHD_SMTP_CA_FILE" [] => path;
        /// The link in a password-reset mail, `{token}` where the token goes
        /// (e.g. `https://app.example.com/reset?token={token}` or a deep link
        /// `myapp://reset?token={token}`). Unset: `AUTHD_PUBLIC_URL` +
        /// `/reset-password?token={token}`.
        pub link_reset: Option<String> = "AUTHD_LINK_RESET" [] => link;
        /// The link in an email-verification mail, as `AUTHD_LINK_RESET`. Unset:
        /// `AUTHD_PUBLIC_URL` + `/verify-email?token={token}`.
        pub link_verify: Option<String> = "AUTHD_LINK_VERIFY" [] => link;
        /// A folder of templates that replace the built-in ones, per kind
        /// (`reset`, `verify`, `password_changed`, `account_deleted`,
        /// `factor_added`, `recovery_code_used`, `factors_removed`): `<kind>.subject`, `<kind>.txt`,
        /// `<kind>.html`, each optional, with `{link}` and `{email}`. Unset: the
        /// built-in templates.
        pub templates_dir: Option<PathBuf> = "AUTHD_MAIL_TEMPLATES_DIR" [] => path;
    }
}

impl MailSettings {
    /// The CA certificates of `AUTHD_SMTP_CA_FILE`, read now.
    pub fn ca(&self) -> Result<Option<Vec<u8>>, ConfigError> {
        read_file("AUTHD_SMTP_CA_FILE", self.ca_file.as_deref())
    }
}
