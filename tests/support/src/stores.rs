//! One test's stores: a Redis (shared or its own) under a key prefix of its
//! own, and a fresh database; and the settings of an app on them. Both the
//! HTTP apps ([`crate::app`]) and the rules suite (`auth::Auth` called
//! directly) start from here.

use std::sync::Arc;

use authd::app::config::Settings;
use uuid::Uuid;

use crate::servers::fresh_database;

/// Where a test's data lives.
#[derive(Clone)]
pub struct Stores {
    pub redis_url: String,
    /// This test's key prefix in Redis.
    pub prefix: String,
    pub database_url: String,
    /// Holds the SQLite file (when not on PostgreSQL) so the database
    /// outlives every app that shares it.
    pub db_dir: Arc<tempfile::TempDir>,
}

impl Stores {
    /// A new prefix on `redis_url` and a fresh database.
    pub async fn fresh(redis_url: String) -> Self {
        let dir = tempfile::tempdir().expect("temp dir for the database");
        let database_url = fresh_database(dir.path()).await;
        Stores {
            redis_url,
            prefix: format!("t{}:", Uuid::new_v4().as_simple()),
            database_url,
            db_dir: Arc::new(dir),
        }
    }

    /// The settings variables of an app on these stores, on a free port of
    /// 127.0.0.1; `overrides` replace them (and each other) by name.
    pub fn vars(
        &self,
        overrides: impl IntoIterator<Item = (String, String)>,
    ) -> Vec<(String, String)> {
        let mut vars = vec![
            ("AUTHD_BIND".to_string(), "127.0.0.1:0".to_string()),
            ("AUTHD_REDIS_URL".into(), self.redis_url.clone()),
            ("AUTHD_REDIS_PREFIX".into(), self.prefix.clone()),
            ("AUTHD_DATABASE_URL".into(), self.database_url.clone()),
        ];
        for (k, v) in overrides {
            vars.retain(|(existing, _)| *existing != k);
            vars.push((k, v));
        }
        vars
    }

    /// [`Stores::vars`] as valid settings.
    pub fn settings(&self, overrides: impl IntoIterator<Item = (String, String)>) -> Settings {
        Settings::from_vars(self.vars(overrides)).expect("test settings are valid")
    }
}
