//! The outbox: mail waiting in the database until a sender delivers it.
//!
//! A sender claims due rows by writing its id and a lease (`claimed_until`)
//! in one `UPDATE` whose `WHERE` also says "unclaimed or lease over", so two
//! instances never hold the same row at once (on Postgres a concurrent
//! `UPDATE` re-checks that condition on the row it waited for; SQLite has
//! one writer). A delivered row is deleted by its holder; a failed attempt
//! is released with a later `next_attempt_at`; a row whose sender died is
//! claimed again once its lease is over. A mail is therefore sent once on a
//! normal run, and at least once whatever happens.

use sqlx::any::AnyRow;
use sqlx::{Any, Executor, Row};
use uuid::Uuid;

use super::templates::{MailKind, Rendered};
use crate::connections::{Sql, StoreError};

/// A claimed mail, ready to send.
#[derive(Debug, Clone)]
pub struct Queued {
    pub id: String,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// `text` and `html` are sealed (see `Rendered::sealed`).
    pub sealed: bool,
    pub attempts: i64,
}

fn now_ms() -> i64 {
    crate::common::clock::unix_now_ms() as i64
}

/// Queues `mail` on `executor`: the pool, or the transaction of the change
/// that causes the mail, so both land or neither does.
pub async fn insert<'c, E>(executor: E, mail: &Rendered) -> Result<(), sqlx::Error>
where
    E: Executor<'c, Database = Any>,
{
    // An account made by a provider sign-in without an address has no one
    // to mail: its notices are dropped here, the one place mail is queued.
    if mail.recipient.is_empty() {
        return Ok(());
    }
    let now = now_ms();
    sqlx::query(
        "INSERT INTO mail_outbox (id, kind, recipient, subject, text_body, html_body, \
         created_at, attempts, next_attempt_at, claimed_by, claimed_until, expires_at, sealed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, NULL, 0, $9, $10)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(mail.kind.as_str())
    .bind(mail.recipient.clone())
    .bind(mail.subject.clone())
    .bind(mail.text.clone())
    .bind(mail.html.clone())
    .bind(now)
    .bind(now)
    .bind(mail.expires_at_ms)
    .bind(i64::from(mail.sealed))
    .execute(executor)
    .await?;
    Ok(())
}

#[derive(Clone)]
pub struct Outbox {
    sql: Sql,
}

impl Outbox {
    pub fn new(sql: Sql) -> Self {
        Self { sql }
    }

    /// Queues one mail on its own.
    pub async fn enqueue(&self, mail: Rendered) -> Result<(), StoreError> {
        let kind = mail.kind;
        self.sql
            .run(move |pool| async move { insert(&pool, &mail).await })
            .await?;
        queued(kind);
        Ok(())
    }

    /// Claims up to `batch` due mails for `holder` until `lease_ms` from now.
    pub async fn claim(
        &self,
        holder: &str,
        lease_ms: i64,
        batch: i64,
    ) -> Result<Vec<Queued>, StoreError> {
        let holder = holder.to_string();
        let rows = self
            .sql
            .run(move |pool| async move {
                let now = now_ms();
                let until = now + lease_ms;
                // A link that no longer works is not sent, and its token
                // leaves the database with it.
                sqlx::query("DELETE FROM mail_outbox WHERE expires_at < $1")
                    .bind(now)
                    .execute(&pool)
                    .await?;
                sqlx::query(
                    "UPDATE mail_outbox SET claimed_by = $1, claimed_until = $2 \
                     WHERE id IN (SELECT id FROM mail_outbox WHERE next_attempt_at <= $3 \
                                  AND claimed_until < $3 ORDER BY next_attempt_at LIMIT $4) \
                     AND next_attempt_at <= $3 AND claimed_until < $3",
                )
                .bind(holder.clone())
                .bind(until)
                .bind(now)
                .bind(batch)
                .execute(&pool)
                .await?;
                sqlx::query(
                    "SELECT id, kind, recipient, subject, text_body, html_body, sealed, attempts \
                     FROM mail_outbox WHERE claimed_by = $1 AND claimed_until = $2",
                )
                .bind(holder)
                .bind(until)
                .fetch_all(&pool)
                .await
            })
            .await?;
        rows.iter().map(queued_from_row).collect()
    }

    /// The mail was delivered: it leaves the outbox (with any link in it).
    pub async fn delivered(&self, id: &str, holder: &str) -> Result<(), StoreError> {
        let (id, holder) = (id.to_string(), holder.to_string());
        self.sql
            .run(move |pool| async move {
                sqlx::query("DELETE FROM mail_outbox WHERE id = $1 AND claimed_by = $2")
                    .bind(id)
                    .bind(holder)
                    .execute(&pool)
                    .await
            })
            .await?;
        Ok(())
    }

    /// The attempt failed: the mail is released, to be tried again at
    /// `retry_at_ms`.
    pub async fn failed(&self, id: &str, holder: &str, retry_at_ms: i64) -> Result<(), StoreError> {
        let (id, holder) = (id.to_string(), holder.to_string());
        self.sql
            .run(move |pool| async move {
                sqlx::query(
                    "UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = $1, \
                     claimed_by = NULL, claimed_until = 0 WHERE id = $2 AND claimed_by = $3",
                )
                .bind(retry_at_ms)
                .bind(id)
                .bind(holder)
                .execute(&pool)
                .await
            })
            .await?;
        Ok(())
    }

    /// How long the oldest waiting mail has waited, in ms (0: none waits).
    pub async fn oldest_age_ms(&self) -> Result<i64, StoreError> {
        let oldest: Option<i64> = self
            .sql
            .run(|pool| async move {
                sqlx::query("SELECT MIN(created_at) AS oldest FROM mail_outbox")
                    .fetch_one(&pool)
                    .await
                    .and_then(|row| row.try_get::<Option<i64>, _>("oldest"))
            })
            .await?;
        Ok(oldest.map_or(0, |at| (now_ms() - at).max(0)))
    }
}

/// Counts a mail queued (by `Outbox::enqueue`, or by a caller that
/// inserted it in its own transaction, once that committed).
pub fn queued(kind: MailKind) {
    crate::common::telemetry::mail(kind.as_str(), crate::common::telemetry::Mail::Queued);
}

fn queued_from_row(row: &AnyRow) -> Result<Queued, StoreError> {
    let get = |column: &str| -> Result<String, StoreError> {
        row.try_get(column).map_err(StoreError::Database)
    };
    Ok(Queued {
        id: get("id")?,
        kind: get("kind")?,
        recipient: get("recipient")?,
        subject: get("subject")?,
        text: get("text_body")?,
        html: get("html_body")?,
        sealed: row
            .try_get::<i64, _>("sealed")
            .map_err(StoreError::Database)?
            != 0,
        attempts: row.try_get("attempts").map_err(StoreError::Database)?,
    })
}
