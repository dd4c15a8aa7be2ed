//! A running `authd` binary, for the tests that need the real process: its
//! exit code and log, signals, and its resident memory.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The path of the `authd` executable under test. Cargo tells it (at
/// compile time) only to the authd package's own test crates, so this is a
/// macro, expanded there: `Service::start(authd_bin!(), ...)`.
#[macro_export]
macro_rules! authd_bin {
    () => {
        env!("CARGO_BIN_EXE_authd")
    };
}

/// A running `authd` binary with its log.
pub struct Service {
    pub child: std::process::Child,
    pub address: String,
    /// What it logged up to and including its address.
    pub startup_log: Vec<String>,
    pub log: std::sync::mpsc::Receiver<String>,
}

impl Service {
    /// Starts `bin` (see [`authd_bin!`](crate::authd_bin)) in `dir` with
    /// nothing but `PATH`, a free port of 127.0.0.1 and `vars` in its
    /// environment; returns once it logs its address.
    pub fn start(bin: &str, dir: &std::path::Path, vars: &[(&str, &str)]) -> Self {
        let mut child = Command::new(bin)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AUTHD_BIND", "127.0.0.1:0")
            .envs(vars.iter().copied())
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut startup_log = Vec::new();
        let address = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(20))
                .expect("authd logs its address");
            startup_log.push(line.clone());
            if let Some(rest) = line.split("listening on http://").nth(1) {
                // Up to the end of the address (a JSON line goes on).
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || ".:[]".contains(c)))
                    .unwrap_or(rest.len());
                break rest[..end].to_string();
            }
        };
        Service {
            child,
            address,
            startup_log,
            log: rx,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// Resident memory of the process (`VmRSS`), bytes.
    pub fn resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the process is alive");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("VmRSS in /proc/<pid>/status")
            * 1024
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
