//! A real SMTP server for the tests: Python's aiosmtpd (from PyPI, in a
//! virtualenv made on first use under `/var/tmp`, or `AUTHD_TEST_PYTHON`),
//! writing each message it accepts to a folder the test reads. Never a mock
//! of the SMTP client: authd's sender speaks SMTP to it over TCP.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::servers::free_port;

const SCRIPT: &str = include_str!("smtp_catcher.py");
const VENV: &str = "/var/tmp/authd-test-venv";

/// A Python that has aiosmtpd, installing it once if need be.
fn python() -> String {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            if let Ok(python) = std::env::var("AUTHD_TEST_PYTHON") {
                return python;
            }
            let python = format!("{VENV}/bin/python");
            let has = |p: &str| {
                Command::new(p)
                    .args(["-c", "import aiosmtpd"])
                    .stderr(Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if !has(&python) {
                let made = Command::new("python3")
                    .args(["-m", "venv", VENV])
                    .status()
                    .is_ok_and(|s| s.success())
                    && Command::new(format!("{VENV}/bin/pip"))
                        .args(["install", "-q", "aiosmtpd"])
                        .status()
                        .is_ok_and(|s| s.success());
                assert!(
                    made && has(&python),
                    "the SMTP tests need Python 3 with venv (apt-get install python3-venv) and PyPI for aiosmtpd; or set AUTHD_TEST_PYTHON"
                );
            }
            python
        })
        .clone()
}

/// One received message, as raw text.
#[derive(Debug, Clone)]
pub struct Received {
    pub raw: String,
}

impl Received {
    /// The message with quoted-printable soft breaks and `=3D` undone, so a
    /// link reads as it was written.
    pub fn text(&self) -> String {
        self.raw
            .replace("=\r\n", "")
            .replace("=\n", "")
            .replace("=3D", "=")
    }

    /// The first `token=` value in the message.
    pub fn token(&self) -> Option<String> {
        let text = self.text();
        let at = text.find("token=")? + "token=".len();
        Some(
            text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect(),
        )
    }

    pub fn mentions(&self, needle: &str) -> bool {
        self.text().contains(needle)
    }

    pub fn is_to(&self, address: &str) -> bool {
        self.raw
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("to:") && l.contains(address))
    }
}

pub struct SmtpCatcher {
    pub port: u16,
    dir: tempfile::TempDir,
    process: Mutex<Option<Child>>,
    /// `starttls` or `implicit`, with the server's certificate and key.
    tls: Option<(String, PathBuf, PathBuf)>,
}

/// How a TLS catcher speaks TLS.
pub enum SmtpTls {
    /// Plain SMTP that requires `STARTTLS` before mail.
    StartTls,
    /// TLS from the first byte (SMTPS).
    Implicit,
}

impl SmtpCatcher {
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// A catcher over TLS with this certificate (PEM) and key.
    pub fn start_tls(mode: SmtpTls, cert: PathBuf, key: PathBuf) -> Self {
        let mode = match mode {
            SmtpTls::StartTls => "starttls",
            SmtpTls::Implicit => "implicit",
        };
        Self::start_with(Some((mode.to_string(), cert, key)))
    }

    fn start_with(tls: Option<(String, PathBuf, PathBuf)>) -> Self {
        let catcher = Self {
            port: free_port(),
            dir: tempfile::tempdir().expect("a folder for mail"),
            process: Mutex::new(None),
            tls,
        };
        catcher.launch();
        catcher
    }

    /// `AUTHD_SMTP_URL` for an app to send here.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn launch(&self) {
        let script = self.dir.path().join("catcher.py");
        std::fs::write(&script, SCRIPT).expect("write the catcher");
        let inbox = self.inbox();
        std::fs::create_dir_all(&inbox).expect("inbox");
        let mut command = Command::new(python());
        command.arg(&script).arg(self.port.to_string()).arg(&inbox);
        if let Some((mode, cert, key)) = &self.tls {
            command.arg(mode).arg(cert).arg(key);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the SMTP catcher");
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            use std::io::BufRead;
            let _ = std::io::BufReader::new(out).read_line(&mut line);
        }
        assert_eq!(line.trim(), "ready", "the SMTP catcher did not start");
        *self.process.lock().unwrap() = Some(child);
    }

    fn inbox(&self) -> PathBuf {
        self.dir.path().join("inbox")
    }

    /// An outage: the server goes away, its port refuses.
    pub fn stop(&self) {
        if let Some(mut child) = self.process.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Back on the same port, with the messages it had.
    pub fn start_again(&self) {
        self.launch();
    }

    /// Every message received so far, oldest first.
    pub fn messages(&self) -> Vec<Received> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.inbox())
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .map(|raw| Received { raw })
            .collect()
    }

    /// The messages to `address`, once there are at least `count` of them
    /// (panics after `within`).
    pub async fn wait_for(&self, address: &str, count: usize, within: Duration) -> Vec<Received> {
        self.wait_for_mail(address, "", count, within).await
    }

    /// The messages to `address` whose text holds `needle` (a link such as
    /// `reset-password?token=`, or a subject), once there are `count`.
    pub async fn wait_for_mail(
        &self,
        address: &str,
        needle: &str,
        count: usize,
        within: Duration,
    ) -> Vec<Received> {
        let until = Instant::now() + within;
        loop {
            let mine = self.mail(address, needle);
            if mine.len() >= count {
                return mine;
            }
            assert!(
                Instant::now() < until,
                "{count} mail(s) to {address} with {needle:?} within {within:?}; got {}",
                mine.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl SmtpCatcher {
    /// The messages received so far to `address` whose text holds `needle`.
    pub fn mail(&self, address: &str, needle: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.is_to(address) && m.mentions(needle))
            .collect()
    }
}

impl Drop for SmtpCatcher {
    fn drop(&mut self) {
        self.stop();
    }
}
