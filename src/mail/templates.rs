//! What a mail says: a subject, a text and an HTML body per kind, built in
//! or replaced by the operator's files (`AUTHD_MAIL_TEMPLATES_DIR`), with
//! `{email}` and `{link}` filled in (escaped in HTML).

use std::path::Path;

use crate::common::settings::ConfigError;

/// The kinds of mail authd sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// A password-reset link.
    Reset,
    /// An email-verification link.
    Verify,
    /// A notice that the password changed (reset or change).
    PasswordChanged,
    /// A confirmation that the account is gone.
    AccountDeleted,
    /// A notice that a second factor was added (TOTP turned on, a passkey
    /// registered).
    FactorAdded,
    /// A notice that a recovery code was used.
    RecoveryCodeUsed,
    /// A notice that second factors were turned off (by the user, or every
    /// one of them by an administrator).
    FactorsRemoved,
}

impl MailKind {
    pub const ALL: [MailKind; 7] = [
        MailKind::Reset,
        MailKind::Verify,
        MailKind::PasswordChanged,
        MailKind::AccountDeleted,
        MailKind::FactorAdded,
        MailKind::RecoveryCodeUsed,
        MailKind::FactorsRemoved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reset => "reset",
            Self::Verify => "verify",
            Self::PasswordChanged => "password_changed",
            Self::AccountDeleted => "account_deleted",
            Self::FactorAdded => "factor_added",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::FactorsRemoved => "factors_removed",
        }
    }

    fn built_in(self) -> [&'static str; 3] {
        match self {
            Self::Reset => [
                include_str!("templates/reset.subject"),
                include_str!("templates/reset.txt"),
                include_str!("templates/reset.html"),
            ],
            Self::Verify => [
                include_str!("templates/verify.subject"),
                include_str!("templates/verify.txt"),
                include_str!("templates/verify.html"),
            ],
            Self::PasswordChanged => [
                include_str!("templates/password_changed.subject"),
                include_str!("templates/password_changed.txt"),
                include_str!("templates/password_changed.html"),
            ],
            Self::AccountDeleted => [
                include_str!("templates/account_deleted.subject"),
                include_str!("templates/account_deleted.txt"),
                include_str!("templates/account_deleted.html"),
            ],
            Self::FactorAdded => [
                include_str!("templates/factor_added.subject"),
                include_str!("templates/factor_added.txt"),
                include_str!("templates/factor_added.html"),
            ],
            Self::RecoveryCodeUsed => [
                include_str!("templates/recovery_code_used.subject"),
                include_str!("templates/recovery_code_used.txt"),
                include_str!("templates/recovery_code_used.html"),
            ],
            Self::FactorsRemoved => [
                include_str!("templates/factors_removed.subject"),
                include_str!("templates/factors_removed.txt"),
                include_str!("templates/factors_removed.html"),
            ],
        }
    }
}

#[derive(Debug, Clone)]
struct Template {
    subject: String,
    text: String,
    html: String,
}

/// A mail ready for the outbox.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub kind: MailKind,
    /// When the link in it stops working (unix ms): the mail is not sent
    /// after that, and leaves the outbox. `None`: a notice, sent whenever.
    pub expires_at_ms: Option<i64>,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// `text` and `html` are sealed (`common::sealing`, bound to the
    /// recipient): they open only with `AUTHD_ENCRYPTION_KEY_FILE`.
    pub sealed: bool,
}

/// Every kind's template, loaded once at startup.
#[derive(Debug, Clone)]
pub struct Templates(Vec<(MailKind, Template)>);

impl Templates {
    /// The built-in templates, each part replaced by a file of `dir` where
    /// one exists.
    pub fn load(dir: Option<&Path>) -> Result<Self, ConfigError> {
        let mut all = Vec::new();
        for kind in MailKind::ALL {
            let [subject, text, html] = kind.built_in();
            let part = |ext: &str, built_in: &str| -> Result<String, ConfigError> {
                let Some(dir) = dir else {
                    return Ok(built_in.to_string());
                };
                let file = dir.join(format!("{}.{ext}", kind.as_str()));
                match std::fs::read_to_string(&file) {
                    Ok(text) => Ok(text),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(built_in.to_string()),
                    Err(e) => Err(ConfigError::new(
                        "AUTHD_MAIL_TEMPLATES_DIR",
                        format!("cannot read {}: {e}", file.display()),
                    )),
                }
            };
            all.push((
                kind,
                Template {
                    subject: part("subject", subject)?.trim().to_string(),
                    text: part("txt", text)?,
                    html: part("html", html)?,
                },
            ));
        }
        Ok(Self(all))
    }

    /// The mail of `kind` to `recipient`, with `link` where the template
    /// asks for it.
    pub fn render(&self, kind: MailKind, recipient: &str, link: &str) -> Rendered {
        let template = self
            .0
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| {
                let [subject, text, html] = kind.built_in();
                Template {
                    subject: subject.trim().to_string(),
                    text: text.to_string(),
                    html: html.to_string(),
                }
            });
        let fill = |text: &str, escape: fn(&str) -> String| {
            fill(
                text,
                &[("{email}", &escape(recipient)), ("{link}", &escape(link))],
            )
        };
        Rendered {
            kind,
            expires_at_ms: None,
            recipient: recipient.to_string(),
            // A header: no line breaks from a template or an address.
            subject: fill(&template.subject, str::to_string).replace(['\r', '\n'], " "),
            text: fill(&template.text, str::to_string),
            html: fill(&template.html, html_escape),
            sealed: false,
        }
    }
}

/// `template` with each placeholder replaced by its value, in one pass: a
/// value is never scanned again, so an address holding `{link}` stays the
/// address.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find('{') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        match values.iter().find(|(name, _)| rest.starts_with(name)) {
            Some((name, value)) => {
                out.push_str(value);
                rest = &rest[name.len()..];
            }
            None => {
                out.push('{');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_addresses_are_filled_in_and_escaped_in_html() {
        let t = Templates::load(None).unwrap();
        let mail = t.render(
            MailKind::Reset,
            "a<b>@example.com",
            "https://x/r?token=T&a=1",
        );
        assert!(mail.text.contains("https://x/r?token=T&a=1"));
        assert!(mail.html.contains("https://x/r?token=T&amp;a=1"));
        assert!(mail.html.contains("a&lt;b&gt;@example.com"));
        assert_eq!(mail.subject, "Reset your password");
    }

    #[test]
    fn placeholders_are_filled_in_one_pass_and_values_are_never_scanned_again() {
        let t = Templates::load(None).unwrap();
        let mail = t.render(
            MailKind::Verify,
            "{link}@example.com",
            "https://x/v?token=T{email}",
        );
        for body in [&mail.text, &mail.html] {
            assert!(body.contains("{link}@example.com"), "{body}");
            assert!(body.contains("https://x/v?token=T{email}"), "{body}");
            assert!(!body.contains("https://x/v?token=T{link}"), "{body}");
        }
        assert_eq!(
            fill("{a}{email}{ {link}}", &[("{email}", "E"), ("{link}", "L")]),
            "{a}E{ L}"
        );
    }

    #[test]
    fn an_operators_file_replaces_one_part() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("reset.subject"), "Nouveau mot de passe\n").unwrap();
        let t = Templates::load(Some(dir.path())).unwrap();
        let mail = t.render(MailKind::Reset, "a@example.com", "L");
        assert_eq!(mail.subject, "Nouveau mot de passe");
        assert!(mail.text.contains("L"), "the text stays built in");
    }
}
