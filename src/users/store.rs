//! The SQL user store (SQLite or Postgres through sqlx's Any driver). Every
//! call, pool wait included, fits in `AUTHD_DATABASE_TIMEOUT_MS`.

use std::future::Future;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};
use uuid::Uuid;

use super::credentials::Email;
use crate::error::StoreError;

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub created_at: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("email taken")]
    EmailTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct UserStore {
    pool: AnyPool,
    budget: Duration,
}

impl UserStore {
    /// Connects and applies `migrations/`. A SQLite file is created if
    /// missing.
    pub async fn connect(url: &str, budget: Duration) -> Result<Self, String> {
        sqlx::any::install_default_drivers();
        let is_sqlite = url.starts_with("sqlite:");
        let url = if is_sqlite && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_string()
        };
        let pool = AnyPoolOptions::new()
            .max_connections(if is_sqlite { 4 } else { 16 })
            .acquire_timeout(budget)
            .connect(&url)
            .await
            .map_err(|e| format!("cannot connect to the database ({})", redact(&e)))?;
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
        Ok(Self { pool, budget })
    }

    /// Runs a call within the budget; the inner error is the database's.
    async fn timed<T, Fut>(&self, call: Fut) -> Result<Result<T, sqlx::Error>, StoreError>
    where
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        tokio::time::timeout(self.budget, call)
            .await
            .map_err(|_| StoreError::Timeout("database"))
    }

    async fn within<T, Fut>(&self, call: Fut) -> Result<T, StoreError>
    where
        Fut: Future<Output = Result<T, sqlx::Error>>,
    {
        self.timed(call)
            .await?
            .map_err(|e| StoreError::Database(redact(&e)))
    }

    pub async fn create(
        &self,
        email: &Email,
        password_hash: &str,
    ) -> Result<User, CreateUserError> {
        let user = User {
            id: Uuid::new_v4(),
            email: email.display.clone(),
            created_at: crate::tokens::access::unix_now() as i64,
        };
        let insert = sqlx::query(
            "INSERT INTO users (id, email, email_normalized, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(user.id.to_string())
        .bind(&user.email)
        .bind(&email.normalized)
        .bind(password_hash)
        .bind(user.created_at)
        .execute(&self.pool);
        match self.timed(insert).await? {
            Ok(_) => Ok(user),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(CreateUserError::EmailTaken)
            }
            Err(e) => Err(StoreError::Database(redact(&e)).into()),
        }
    }

    pub async fn email_exists(&self, email: &Email) -> Result<bool, StoreError> {
        let row = self
            .within(
                sqlx::query("SELECT 1 FROM users WHERE email_normalized = $1")
                    .bind(&email.normalized)
                    .fetch_optional(&self.pool),
            )
            .await?;
        Ok(row.is_some())
    }

    /// The account and its password hash, by email.
    pub async fn find_credentials(
        &self,
        email: &Email,
    ) -> Result<Option<(User, String)>, StoreError> {
        self.credentials_where(
            "SELECT id, email, created_at, password_hash FROM users WHERE email_normalized = $1",
            &email.normalized,
        )
        .await
    }

    /// The account and its password hash, by id.
    pub async fn find_credentials_by_id(
        &self,
        id: Uuid,
    ) -> Result<Option<(User, String)>, StoreError> {
        self.credentials_where(
            "SELECT id, email, created_at, password_hash FROM users WHERE id = $1",
            &id.to_string(),
        )
        .await
    }

    async fn credentials_where(
        &self,
        sql: &'static str,
        value: &str,
    ) -> Result<Option<(User, String)>, StoreError> {
        let row = self
            .within(sqlx::query(sql).bind(value).fetch_optional(&self.pool))
            .await?;
        row.map(|row| {
            let user = user_from_row(&row)?;
            let hash: String = row
                .try_get("password_hash")
                .map_err(|e| StoreError::Database(redact(&e)))?;
            Ok((user, hash))
        })
        .transpose()
    }

    pub async fn set_password(&self, id: Uuid, password_hash: &str) -> Result<(), StoreError> {
        self.within(
            sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(password_hash)
                .bind(crate::tokens::access::unix_now() as i64)
                .bind(id.to_string())
                .execute(&self.pool),
        )
        .await
        .map(|_| ())
    }

    pub async fn find(&self, id: Uuid) -> Result<Option<User>, StoreError> {
        let row = self
            .within(
                sqlx::query("SELECT id, email, created_at FROM users WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(&self.pool),
            )
            .await?;
        row.map(|row| user_from_row(&row)).transpose()
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.within(sqlx::query("SELECT 1").execute(&self.pool))
            .await
            .map(|_| ())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User, StoreError> {
    let id: String = row
        .try_get("id")
        .map_err(|e| StoreError::Database(redact(&e)))?;
    Ok(User {
        id: Uuid::parse_str(&id).map_err(|e| StoreError::Database(e.to_string()))?,
        email: row
            .try_get("email")
            .map_err(|e| StoreError::Database(redact(&e)))?,
        created_at: row
            .try_get("created_at")
            .map_err(|e| StoreError::Database(redact(&e)))?,
    })
}

/// sqlx errors can quote connection strings; keep only the kind of failure.
fn redact(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Configuration(_) => "invalid database URL".to_string(),
        other => other.to_string(),
    }
}
