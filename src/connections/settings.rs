//! The store settings: where Redis and the database are, how long any call
//! to them may take, and what Redis must acknowledge.

use std::path::PathBuf;
use std::time::Duration;

use crate::common::settings::{count, path, positive_millis, read_file, secret, ConfigError};
use crate::common::Secret;
use crate::settings_section;

fn redis_url(value: &str) -> Result<Secret, String> {
    match value.trim() {
        "" => Err("is empty".into()),
        url => Ok(Secret::new(url)),
    }
}

fn prefix(value: &str) -> Result<String, String> {
    if value.contains(['{', '}']) {
        return Err(
            "must not contain `{` or `}`: authd adds its own hash tags for Redis Cluster".into(),
        );
    }
    Ok(value.to_string())
}

settings_section! {
    /// Redis: sessions, throttling, liveness.
    pub struct RedisSettings in "Redis" {
        /// Redis; several comma-separated node URLs mean Redis Cluster; `rediss://`
        /// for TLS (verified against the system roots or `AUTHD_REDIS_CA_FILE`).
        pub url: Secret = "AUTHD_REDIS_URL" ["redis://127.0.0.1:6379"] => redis_url;
        /// Prefix of every Redis key this instance writes (no braces: authd adds
        /// hash tags).
        pub prefix: String = "AUTHD_REDIS_PREFIX" ["authd:"] => prefix;
        /// PEM file of the CA that signed your Redis servers' certificates, for
        /// `rediss://` URLs (one node or Cluster); unset: the system's roots.
        pub ca_file: Option<PathBuf> = "AUTHD_REDIS_CA_FILE" [] => path;
        /// Budget for any Redis operation, pool wait included, milliseconds; over
        /// it: 503.
        pub timeout: Duration = "AUTHD_REDIS_TIMEOUT_MS" ["1000"] => positive_millis;
        /// Replicas (of the master holding the user's keys) that must acknowledge
        /// every change of session state (`WAIT`, within `AUTHD_REDIS_TIMEOUT_MS`)
        /// before authd answers; otherwise 503, and the client's retry is safe. So
        /// a failover loses no rotation and undoes no logout. Startup warns when
        /// Redis has replicas and this is 0.
        pub min_replicas: u32 = "AUTHD_REDIS_MIN_REPLICAS" ["0"] => count;
    }
}

settings_section! {
    /// The users database.
    pub struct DatabaseSettings in "database" {
        /// Users database: a SQLite file (created if missing) or
        /// `postgres://user:pass@host/db`. Postgres TLS is set here:
        /// `?sslmode=verify-full&sslrootcert=/path/ca.pem`. In production, authd
        /// warns at startup about a plaintext connection to a store on another
        /// host, and about a Postgres on another host with any `sslmode` but
        /// `verify-full` (`require` and `verify-ca` do not check the server's
        /// name).
        pub url: Secret = "AUTHD_DATABASE_URL" ["sqlite://authd.db"] => secret;
        /// Budget for any database operation, pool wait included, milliseconds;
        /// over it: 503.
        pub timeout: Duration = "AUTHD_DATABASE_TIMEOUT_MS" ["2000"] => positive_millis;
    }
}

impl RedisSettings {
    /// The CA certificates of `AUTHD_REDIS_CA_FILE`, read now.
    pub fn ca(&self) -> Result<Option<Vec<u8>>, ConfigError> {
        read_file("AUTHD_REDIS_CA_FILE", self.ca_file.as_deref())
    }
}
