//! What every test here runs against: the binary in an empty directory,
//! a private Redis and a fresh database, and the assertions they share.

pub use std::process::{Command, Output, Stdio};
pub use std::time::{Duration, Instant};

pub use authd_test_support::authd_bin;
pub use authd_test_support::service::Service;
// The same private servers and databases as the API suite (so these tests
// run on Postgres too when AUTHD_TEST_DATABASE_URL is set).
pub use authd_test_support::servers::{free_port, fresh_database, TestRedis};
pub use authd_test_support::values::PASSWORD;

/// Runs authd in an empty directory (no stray .env) with only `vars` set.
pub fn authd(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    authd_in(dir.path(), args, vars)
}

/// Runs authd in `dir` with only `vars` set.
pub fn authd_in(dir: &std::path::Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    Command::new(authd_bin!())
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run authd")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// What a mistyped command line gets: exit 2, one line on stderr.
pub fn assert_usage_error(out: &Output) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(out.stdout.is_empty(), "{}", stdout(out));
    err
}

/// Starts on bad settings fail with one line naming the variable.
pub fn assert_refuses(vars: &[(&str, &str)], variable: &str) -> String {
    let out = authd(&[], vars);
    assert!(!out.status.success(), "{vars:?} should not start");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("error")).collect();
    assert_eq!(lines.len(), 1, "one clear line: {err}");
    assert!(lines[0].contains(variable), "{err}");
    err
}

/// What the real binary runs against in a test: a private Redis and a
/// fresh database, named by `vars` (plus whatever a test adds).
pub struct Stores {
    pub _redis: TestRedis,
    pub dir: tempfile::TempDir,
    pub database_url: String,
    pub redis_url: String,
}

impl Stores {
    pub async fn private() -> Self {
        let redis = TestRedis::start();
        let dir = tempfile::tempdir().unwrap();
        let database_url = fresh_database(dir.path()).await;
        let redis_url = format!("redis://127.0.0.1:{}", redis.port);
        Self {
            _redis: redis,
            dir,
            database_url,
            redis_url,
        }
    }

    /// The settings that point at these stores, then `more`.
    pub fn vars<'a>(&'a self, more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
        let mut vars = vec![
            ("AUTHD_DATABASE_URL", self.database_url.as_str()),
            ("AUTHD_REDIS_URL", self.redis_url.as_str()),
        ];
        vars.extend_from_slice(more);
        vars
    }
}

/// A private key file for production, readable by its owner only.
pub fn production_key(dir: &std::path::Path) -> String {
    let key = dir.join("key.pem");
    std::fs::write(&key, authd(&["keygen"], &[]).stdout).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    key.to_str().unwrap().to_string()
}
