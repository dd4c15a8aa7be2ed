//! The SQL pool (SQLite or Postgres through sqlx's Any driver) and the one
//! rule every query follows: it runs on the I/O runtime (a Postgres
//! connection's socket lives on the runtime that opened it, and an HTTP
//! worker's runtime ends during a graceful shutdown while other workers
//! still serve), and the whole call, pool wait included, fits in
//! `AUTHD_DATABASE_TIMEOUT_MS`.

use std::future::Future;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use tokio::runtime::Handle;

use super::{hints, StoreError};
use crate::common::telemetry;

#[derive(Clone)]
pub struct Sql {
    pool: AnyPool,
    budget: Duration,
    io: Handle,
}

impl Sql {
    /// Connects (on the I/O runtime) and applies `migrations/`. A SQLite
    /// file is created if missing. Errors quote the URL only with its
    /// password hidden, and say how to start a database that does not
    /// answer.
    pub async fn connect(url: &str, budget: Duration, io: Handle) -> Result<Self, String> {
        sqlx::any::install_default_drivers();
        let unanswered = format!(
            "tried {}: {}",
            hints::redacted(url),
            hints::database_hint(url)
        );
        let is_sqlite = url.starts_with("sqlite:");
        let url = if is_sqlite && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_string()
        };
        let open = async move {
            let pool = AnyPoolOptions::new()
                .max_connections(if is_sqlite { 4 } else { 16 })
                .acquire_timeout(budget)
                .connect(&url)
                .await
                .map_err(|e| {
                    format!(
                        "cannot connect to the database ({}); {unanswered}",
                        redact(&e)
                    )
                })?;
            if is_sqlite {
                // Readers do not block the writer; survives restarts (stored in the file).
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&pool)
                    .await
                    .map_err(|e| format!("cannot enable WAL ({})", redact(&e)))?;
            }
            sqlx::migrate!("./migrations")
                .run(&pool)
                .await
                .map_err(|e| format!("migrations failed ({e})"))?;
            Ok::<_, String>(pool)
        };
        let pool = io
            .spawn(open)
            .await
            .map_err(|e| format!("cannot connect to the database ({e})"))??;
        Ok(Self { pool, budget, io })
    }

    /// Runs `query(pool)` on the I/O runtime within the budget. The inner
    /// result is the database's own, for callers that tell errors apart
    /// (a unique violation, say).
    pub async fn raw<T, F, Fut>(&self, query: F) -> Result<Result<T, sqlx::Error>, StoreError>
    where
        F: FnOnce(AnyPool) -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>> + Send + 'static,
        T: Send + 'static,
    {
        let mut call = self.io.spawn(query(self.pool.clone()));
        let outcome = match tokio::time::timeout(self.budget, &mut call).await {
            Ok(Ok(result)) => Ok(result),
            // The I/O runtime is gone: the process is shutting down.
            Ok(Err(_)) => Err(StoreError::Database(sqlx::Error::PoolClosed)),
            Err(_) => {
                // Not left running: it would hold a pooled connection, and
                // could still commit after the client was told 503.
                call.abort();
                Err(StoreError::Timeout("database"))
            }
        };
        if outcome.is_err() {
            telemetry::store_error(telemetry::Store::Database);
        }
        outcome
    }

    /// Runs `query(pool)` on the I/O runtime within the budget.
    pub async fn run<T, F, Fut>(&self, query: F) -> Result<T, StoreError>
    where
        F: FnOnce(AnyPool) -> Fut,
        Fut: Future<Output = Result<T, sqlx::Error>> + Send + 'static,
        T: Send + 'static,
    {
        self.raw(query).await?.map_err(|e| {
            telemetry::store_error(telemetry::Store::Database);
            StoreError::Database(e)
        })
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run(|pool| async move { sqlx::query("SELECT 1").execute(&pool).await })
            .await
            .map(|_| ())
    }

    /// Closes the pool, waiting for checked-out connections no longer than
    /// the budget.
    pub async fn close(&self) {
        let pool = self.pool.clone();
        let closing = self.io.spawn(async move { pool.close().await });
        let _ = tokio::time::timeout(self.budget, closing).await;
    }
}

/// sqlx errors can quote connection strings; keep only the kind of failure.
fn redact(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Configuration(_) => "invalid database URL".to_string(),
        other => other.to_string(),
    }
}

/// The file a SQLite database URL names (as sqlx reads it: relative to the
/// working directory, percent-decoded); `None` for another database or an
/// in-memory one. [`Sql::connect`] creates it when missing; tools that must
/// not create one (`authd admin`) check it first.
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    use std::str::FromStr;
    let rest = url.strip_prefix("sqlite:")?;
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    if database.trim_start_matches("//") == ":memory:"
        || params.split('&').any(|param| param == "mode=memory")
    {
        return None;
    }
    sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .ok()
        .map(|options| options.get_filename().to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::sqlite_file;
    use std::path::Path;

    #[test]
    fn the_file_of_a_sqlite_url() {
        let file = |url| sqlite_file(url);
        assert_eq!(
            file("sqlite://authd.db").as_deref(),
            Some(Path::new("authd.db"))
        );
        assert_eq!(
            file("sqlite:authd.db?mode=rwc").as_deref(),
            Some(Path::new("authd.db"))
        );
        assert_eq!(
            file("sqlite:///var/lib/authd/a%20b.db").as_deref(),
            Some(Path::new("/var/lib/authd/a b.db"))
        );
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("sqlite://:memory:"), None);
        assert_eq!(file("sqlite://shared?mode=memory&cache=shared"), None);
        assert_eq!(file("postgres://u:p@db/authd"), None);
    }
}
