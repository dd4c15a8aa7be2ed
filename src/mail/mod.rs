//! Mail that is never lost and never blocks a request: rules render a mail
//! (`templates`) and queue it in the database (`outbox`), in the
//! transaction of the change that caused it where there is one; each
//! instance's `sender` delivers what is due. With `AUTHD_ENCRYPTION_KEY_FILE`
//! the bodies wait sealed (`common::sealing`): a backup of the outbox holds
//! no working link.

pub mod outbox;
pub mod sender;
pub mod settings;
pub mod templates;

use std::sync::Arc;

use tokio::sync::Notify;

pub use outbox::Outbox;
pub use sender::{Sender, Transport};
pub use settings::MailSettings;
pub use templates::{MailKind, Rendered, Templates};

use crate::common::sealing::Sealer;
use crate::common::settings::ConfigError;
use crate::connections::{Sql, StoreError};

/// What the rules need to send mail: the templates, the links, the outbox,
/// and a way to wake this instance's sender.
#[derive(Clone)]
pub struct Mailer {
    outbox: Outbox,
    templates: Arc<Templates>,
    reset_link: String,
    verify_link: String,
    wake: Arc<Notify>,
    sealer: Arc<Sealer>,
}

impl Mailer {
    /// The mailer and the sender that delivers what it queues. `public_url`
    /// is where default links point; `sealer` seals bodies at rest when it
    /// has a key.
    pub fn new(
        sql: Sql,
        settings: &MailSettings,
        public_url: &str,
        sealer: Arc<Sealer>,
    ) -> Result<(Self, Sender), ConfigError> {
        let outbox = Outbox::new(sql);
        let wake = Arc::new(Notify::new());
        let sender = Sender::new(
            outbox.clone(),
            Transport::from_settings(settings)?,
            &settings.from,
            wake.clone(),
            sealer.clone(),
        )?;
        let mailer = Self {
            outbox,
            templates: Arc::new(Templates::load(settings.templates_dir.as_deref())?),
            reset_link: settings
                .link_reset
                .clone()
                .unwrap_or_else(|| format!("{public_url}/reset-password?token={{token}}")),
            verify_link: settings
                .link_verify
                .clone()
                .unwrap_or_else(|| format!("{public_url}/verify-email?token={{token}}")),
            wake,
            sealer,
        };
        Ok((mailer, sender))
    }

    /// A password-reset mail carrying `token`, which works until
    /// `expires_at` (unix s).
    pub fn reset(&self, to: &str, token: &str, expires_at: i64) -> Rendered {
        self.link_mail(MailKind::Reset, &self.reset_link, to, token, expires_at)
    }

    /// An email-verification mail carrying `token`, which works until
    /// `expires_at` (unix s).
    pub fn verify(&self, to: &str, token: &str, expires_at: i64) -> Rendered {
        self.link_mail(MailKind::Verify, &self.verify_link, to, token, expires_at)
    }

    fn link_mail(
        &self,
        kind: MailKind,
        link: &str,
        to: &str,
        token: &str,
        expires_at: i64,
    ) -> Rendered {
        let mut mail = self
            .templates
            .render(kind, to, &link.replace("{token}", token));
        mail.expires_at_ms = Some(expires_at * 1000);
        self.sealed(mail)
    }

    /// A notice with no link.
    pub fn notice(&self, kind: MailKind, to: &str) -> Rendered {
        self.sealed(self.templates.render(kind, to, ""))
    }

    /// `mail` with its bodies sealed to its recipient, when there is a key
    /// (else as it is: development, or production before TOTP needed one).
    fn sealed(&self, mut mail: Rendered) -> Rendered {
        if !self.sealer.keyed() {
            return mail;
        }
        let aad = mail.recipient.as_bytes();
        match (
            self.sealer.seal(mail.text.as_bytes(), aad),
            self.sealer.seal(mail.html.as_bytes(), aad),
        ) {
            (Ok(text), Ok(html)) => {
                mail.text = text;
                mail.html = html;
                mail.sealed = true;
            }
            // Never seen with a key that loaded; the mail must still go.
            (Err(e), _) | (_, Err(e)) => {
                log::warn!("a {} mail is queued unsealed: {e}", mail.kind.as_str())
            }
        }
        mail
    }

    /// A mail of `kind` was queued in a caller's committed transaction:
    /// count it and wake the sender.
    pub fn queued(&self, kind: MailKind) {
        outbox::queued(kind);
        self.wake.notify_one();
    }

    /// Queues a mail on its own.
    pub async fn send(&self, mail: Rendered) -> Result<(), StoreError> {
        self.outbox.enqueue(mail).await?;
        self.wake.notify_one();
        Ok(())
    }
}
