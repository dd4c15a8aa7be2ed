//! The mail settings: where SMTP is, who mail is from, the links in it, and
//! the templates it is written from.

use std::path::PathBuf;

use crate::common::settings::{path, read_file, text, ConfigError};
use crate::common::Secret;
use crate::settings_section;

/// How the SMTP conversation is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// `smtp://`: plain (a local catcher).
    None,
    /// `smtp://…?tls=starttls`: upgraded with STARTTLS, required.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// `AUTHD_SMTP_URL`, parsed once, here: the sender builds its transport
/// from these parts.
#[derive(Clone)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// User name and password, percent-decoded.
    pub credentials: Option<(String, Secret)>,
    /// The URL's path, the name to greet the server with (`EHLO`).
    pub hello_name: Option<String>,
}

/// The password never shows.
impl std::fmt::Debug for SmtpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("credentials", &self.credentials.as_ref().map(|_| ".."))
            .finish()
    }
}

fn smtp_url(value: &str) -> Result<SmtpServer, String> {
    let url = url::Url::parse(value.trim()).map_err(|e| format!("is not a URL: {e}"))?;
    let tls_query = url
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.to_string());
    let (tls, default_port) = match (url.scheme(), tls_query.as_deref()) {
        ("smtp", None) => (SmtpTls::None, 25),
        ("smtp", Some("starttls")) => (SmtpTls::StartTls, 587),
        ("smtps", None) => (SmtpTls::Implicit, 465),
        ("smtp" | "smtps", Some(other)) => {
            return Err(format!(
                "tls={other} is not understood: use smtps:// or smtp://…?tls=starttls"
            ))
        }
        _ => return Err("must start with smtp:// or smtps://".into()),
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("has no host")?
        .to_string();
    let decode = |text: &str| {
        url::form_urlencoded::parse(format!("x={}", text.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let credentials = url
        .password()
        .map(|password| (decode(url.username()), Secret::new(decode(password))));
    let path = url.path().trim_matches('/');
    Ok(SmtpServer {
        host,
        port: url.port().unwrap_or(default_port),
        tls,
        credentials,
        hello_name: (!path.is_empty()).then(|| path.to_string()),
    })
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
        pub smtp_url: Option<SmtpServer> = "AUTHD_SMTP_URL" [] => smtp_url;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_smtp_url_is_parsed_once_into_its_parts() {
        let server =
            smtp_url("smtp://us%40r:p%40ss+w@mail.example.com:2525/authd.example?tls=starttls")
                .unwrap();
        assert_eq!(
            (server.host.as_str(), server.port, server.tls),
            ("mail.example.com", 2525, SmtpTls::StartTls)
        );
        let (user, password) = server.credentials.clone().unwrap();
        assert_eq!((user.as_str(), password.expose()), ("us@r", "p@ss+w"));
        assert_eq!(server.hello_name.as_deref(), Some("authd.example"));
        assert!(!format!("{server:?}").contains("p@ss"));
        let implicit = smtp_url("smtps://mail.example.com").unwrap();
        assert_eq!((implicit.port, implicit.tls), (465, SmtpTls::Implicit));
        let plain = smtp_url("smtp://127.0.0.1").unwrap();
        assert_eq!(
            (plain.port, plain.tls, plain.credentials.is_none()),
            (25, SmtpTls::None, true)
        );
        for bad in [
            "mail.example.com:25",
            "http://mail",
            "smtp://m?tls=maybe",
            "smtp://",
        ] {
            assert!(smtp_url(bad).is_err(), "{bad}");
        }
    }
}
