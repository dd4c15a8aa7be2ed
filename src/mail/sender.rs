//! Each instance's sender: claims due mail from the outbox, delivers it over
//! SMTP (or, in development without SMTP, writes it to the log), and deletes
//! it, or releases it to be retried with backoff (1 s, doubling, at most
//! 5 minutes). Requests never wait for it: they queue and wake it.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;
use uuid::Uuid;

use super::outbox::{Outbox, Queued};
use super::settings::{MailSettings, SmtpTls};
use crate::common::error_chain;
use crate::common::sealing::Sealer;
use crate::common::settings::ConfigError;
use crate::common::telemetry::{self, Mail};

/// How long a claim holds a mail: longer than a whole batch can take
/// (`BATCH` × `SMTP_TIMEOUT`), so a mail is sent twice only when its sender
/// stalled for that long (or instances' clocks differ by that much).
const LEASE_MS: i64 = 60_000;
const BATCH: i64 = 4;
/// A mail still refused after this many attempts (about a day with the
/// backoff) is dropped, with an error in the log.
const MAX_ATTEMPTS: i64 = 300;
/// With nothing to wake it, the sender looks for due mail this often.
const POLL: Duration = Duration::from_secs(1);
const MAX_BACKOFF_MS: i64 = 300_000;
/// One SMTP conversation may take this long.
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

pub enum Transport {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    /// Development without `AUTHD_SMTP_URL`: each mail goes to the log.
    Log,
}

impl Transport {
    /// The SMTP transport `AUTHD_SMTP_URL` names, built from its parsed
    /// parts, or the log (the settings refuse that in production).
    pub fn from_settings(settings: &MailSettings) -> Result<Self, ConfigError> {
        let Some(server) = &settings.smtp_url else {
            return Ok(Self::Log);
        };
        let ca_error = |e: String| ConfigError::new("AUTHD_SMTP_CA_FILE", e);
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&server.host)
            .port(server.port)
            .timeout(Some(SMTP_TIMEOUT));
        if server.tls != SmtpTls::None {
            let mut params = TlsParameters::builder(server.host.clone());
            if let Some(ca) = settings.ca()? {
                let cert = Certificate::from_pem(&ca)
                    .map_err(|e| ca_error(format!("not a PEM certificate: {e}")))?;
                params = params.add_root_certificate(cert);
            }
            let params = params
                .build_rustls()
                .map_err(|e| ConfigError::new("AUTHD_SMTP_URL", e.to_string()))?;
            builder = builder.tls(match server.tls {
                SmtpTls::Implicit => Tls::Wrapper(params),
                _ => Tls::Required(params),
            });
        } else if settings.ca_file.is_some() {
            return Err(ca_error(
                "is for TLS, but AUTHD_SMTP_URL is plain smtp://: use smtps:// or ?tls=starttls"
                    .to_string(),
            ));
        }
        if let Some((user, password)) = &server.credentials {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            ));
        }
        if let Some(name) = &server.hello_name {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        Ok(Self::Smtp(Box::new(builder.build())))
    }
}

pub struct Sender {
    outbox: Outbox,
    transport: Transport,
    from: Mailbox,
    /// This instance's name on the rows it claims.
    holder: String,
    wake: Arc<Notify>,
    /// Opens sealed bodies.
    sealer: Arc<Sealer>,
}

impl Sender {
    pub fn new(
        outbox: Outbox,
        transport: Transport,
        from: &str,
        wake: Arc<Notify>,
        sealer: Arc<Sealer>,
    ) -> Result<Self, ConfigError> {
        let from = from.parse::<Mailbox>().map_err(|e| {
            ConfigError::new("AUTHD_SMTP_FROM", format!("is not a mail address: {e}"))
        })?;
        Ok(Self {
            outbox,
            transport,
            from,
            holder: Uuid::new_v4().to_string(),
            wake,
            sealer,
        })
    }

    /// Delivers mail until the task is dropped.
    pub async fn run(self) {
        loop {
            match self.round().await {
                // A full batch: more may be due at once.
                Ok(n) if n as i64 == BATCH => continue,
                Ok(_) => {}
                Err(e) => log::warn!("mail: the outbox did not answer ({})", error_chain(&e)),
            }
            if let Ok(age) = self.outbox.oldest_age_ms().await {
                telemetry::mail_queue_oldest(Duration::from_millis(age as u64));
            }
            let _ = tokio::time::timeout(POLL, self.wake.notified()).await;
        }
    }

    /// Claims and delivers one batch; the number claimed.
    async fn round(&self) -> Result<usize, crate::connections::StoreError> {
        let batch = self.outbox.claim(&self.holder, LEASE_MS, BATCH).await?;
        let claimed = batch.len();
        for mail in batch {
            let kind = kind_label(&mail.kind);
            match self.deliver(&mail).await {
                Ok(()) => {
                    self.outbox.delivered(&mail.id, &self.holder).await?;
                    telemetry::mail(kind, Mail::Sent);
                }
                Err(Failure::Permanent(why)) => {
                    log::error!("mail {}: cannot be sent, dropped: {why}", mail.id);
                    self.outbox.delivered(&mail.id, &self.holder).await?;
                    telemetry::mail(kind, Mail::Failed);
                }
                Err(Failure::Retry(why)) if mail.attempts + 1 >= MAX_ATTEMPTS => {
                    log::error!(
                        "mail {}: refused {} times, dropped: {why}",
                        mail.id,
                        mail.attempts + 1
                    );
                    self.outbox.delivered(&mail.id, &self.holder).await?;
                    telemetry::mail(kind, Mail::Failed);
                }
                Err(Failure::Retry(why)) => {
                    let backoff = (1000i64 << mail.attempts.clamp(0, 20)).min(MAX_BACKOFF_MS);
                    log::warn!(
                        "mail {}: attempt {} failed ({why}); next in {} s",
                        mail.id,
                        mail.attempts + 1,
                        backoff / 1000
                    );
                    let at = crate::common::clock::unix_now_ms() as i64 + backoff;
                    self.outbox.failed(&mail.id, &self.holder, at).await?;
                    telemetry::mail(kind, Mail::Failed);
                }
            }
        }
        Ok(claimed)
    }

    async fn deliver(&self, mail: &Queued) -> Result<(), Failure> {
        // A bare address, never a mailbox with a display name: the mail
        // goes to exactly the string the account holds.
        let to = mail
            .recipient
            .parse::<lettre::Address>()
            .map(|address| Mailbox::new(None, address))
            .map_err(|e| Failure::Permanent(format!("recipient: {e}")))?;
        let (text, html) = self.bodies(mail)?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(text.clone(), html))
            .map_err(|e| Failure::Permanent(e.to_string()))?;
        match &self.transport {
            // Every SMTP refusal is retried, a 5xx too: a wrong password or
            // a refused sender is the operator's to fix, and the mail waits.
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| Failure::Retry(e.to_string())),
            Transport::Log => {
                log::info!(
                    "mail (no AUTHD_SMTP_URL: logged, not sent) to {}: {}\n{}",
                    mail.recipient,
                    mail.subject,
                    text
                );
                Ok(())
            }
        }
    }
}

impl Sender {
    /// The text and HTML of `mail`, opened if sealed. A body that does not
    /// open (another key) can never be sent.
    fn bodies(&self, mail: &Queued) -> Result<(String, String), Failure> {
        if !mail.sealed {
            return Ok((mail.text.clone(), mail.html.clone()));
        }
        let open = |body: &str| {
            self.sealer
                .open(body, mail.recipient.as_bytes())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    Failure::Permanent(
                        "its body does not open with AUTHD_ENCRYPTION_KEY_FILE".to_string(),
                    )
                })
        };
        Ok((open(&mail.text)?, open(&mail.html)?))
    }
}

enum Failure {
    /// The mail cannot be written (an address that does not parse).
    Permanent(String),
    /// The server was unreachable or refused it: try again later.
    Retry(String),
}

/// The kind's label for metrics, from a fixed set.
fn kind_label(kind: &str) -> &'static str {
    telemetry::MAIL_KINDS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("other")
}
