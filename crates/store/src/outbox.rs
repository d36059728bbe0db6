//! The durable outbox: rows written in the same transaction as the state change that causes
//! them, claimed by workers with a lease, and never deleted on a failed send.
//!
//! Claiming is one atomic statement. PostgreSQL selects candidates with
//! `FOR UPDATE SKIP LOCKED`, so several processes never claim the same row at once; SQLite's
//! single writer gives the same guarantee. A claim holds a lease that must outlive the SMTP
//! timeout: a worker that dies mid-send leaves the row to be claimed again after the lease,
//! which is why delivery is at least once and the Message-ID is stable.
use latchkey_domain::Millis;
use sqlx::any::AnyRow;

use crate::{get_i64, get_opt_i64, get_opt_str, get_str, Dialect, Result, Store, Tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    Queued,
    Deferred,
    Sent,
    Failed,
    Expired,
    /// Written for an unknown identifier so both kinds of recovery cost the same writes
    /// (security-checklist §4); never sent, holds no payload.
    Suppressed,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Deferred => "deferred",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Suppressed => "suppressed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "queued" => Self::Queued,
            "deferred" => Self::Deferred,
            "sent" => Self::Sent,
            "failed" => Self::Failed,
            "expired" => Self::Expired,
            "suppressed" => Self::Suppressed,
            _ => return None,
        })
    }
}

/// A message to queue. `payload` is already sealed by the caller (it may carry a code).
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub id: String,
    pub message_id: String,
    pub kind: String,
    pub recipient: String,
    pub payload: String,
    /// A message carrying a code expires with the code.
    pub expires_at: Option<Millis>,
}

#[derive(Debug, Clone)]
pub struct OutboxMessage {
    pub id: String,
    pub message_id: String,
    pub kind: String,
    pub recipient: String,
    pub payload: Option<String>,
    pub status: OutboxStatus,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub last_error: Option<String>,
    pub created_at: Millis,
    pub expires_at: Option<Millis>,
    pub sent_at: Option<Millis>,
}

const COLUMNS: &str =
    "id, message_id, kind, recipient, payload, status, attempts, next_attempt_at, last_error, created_at, expires_at, sent_at";

fn from_row(row: &AnyRow) -> Result<OutboxMessage> {
    let status = get_str(row, "status")?;
    Ok(OutboxMessage {
        id: get_str(row, "id")?,
        message_id: get_str(row, "message_id")?,
        kind: get_str(row, "kind")?,
        recipient: get_str(row, "recipient")?,
        payload: get_opt_str(row, "payload")?,
        status: OutboxStatus::parse(&status).ok_or_else(|| crate::StoreError::Corrupt(format!("outbox status {status}")))?,
        attempts: get_i64(row, "attempts")?,
        next_attempt_at: get_i64(row, "next_attempt_at")?,
        last_error: get_opt_str(row, "last_error")?,
        created_at: get_i64(row, "created_at")?,
        expires_at: get_opt_i64(row, "expires_at")?,
        sent_at: get_opt_i64(row, "sent_at")?,
    })
}

pub(crate) async fn enqueue(tx: &mut Tx, message: &NewMessage, now: Millis) -> Result<()> {
    insert(tx, message, OutboxStatus::Queued, now).await
}

/// The decoy of `enqueue` for an unknown identifier: the same insert, never delivered.
pub(crate) async fn enqueue_suppressed(tx: &mut Tx, message: &NewMessage, now: Millis) -> Result<()> {
    insert(tx, message, OutboxStatus::Suppressed, now).await
}

async fn insert(tx: &mut Tx, message: &NewMessage, status: OutboxStatus, now: Millis) -> Result<()> {
    let payload = (status == OutboxStatus::Queued).then_some(message.payload.as_str());
    sqlx::query(
        "INSERT INTO outbox (id, message_id, kind, recipient, payload, status, attempts, next_attempt_at, created_at, expires_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $8, 0, $6, $6, $7, $6)",
    )
    .bind(&message.id)
    .bind(&message.message_id)
    .bind(&message.kind)
    .bind(&message.recipient)
    .bind(payload)
    .bind(now)
    .bind(message.expires_at)
    .bind(status.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Marks unsent messages whose content expired and clears their payload.
pub(crate) async fn expire_due(store: &Store, now: Millis) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE outbox SET status = 'expired', payload = NULL, lease_until = NULL, updated_at = $1 \
         WHERE status IN ('queued', 'deferred', 'failed') AND expires_at IS NOT NULL AND expires_at <= $1",
    )
    .bind(now)
    .execute(store.pool())
    .await?
    .rows_affected())
}

impl Store {
    /// Claims up to `limit` due messages for `lease` milliseconds and counts the attempt.
    pub async fn claim_outbox(&self, now: Millis, lease: Millis, limit: i64) -> Result<Vec<OutboxMessage>> {
        expire_due(self, now).await?;
        let candidates = "SELECT id FROM outbox WHERE status IN ('queued', 'deferred') AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until <= $1) ORDER BY next_attempt_at LIMIT $3";
        let lock = match self.dialect() {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET lease_until = $2, attempts = attempts + 1, updated_at = $1 \
             WHERE id IN ({candidates}{lock}) RETURNING {COLUMNS}"
        );
        let mut tx = self.write_tx().await?;
        let rows = sqlx::query(&sql).bind(now).bind(now + lease).bind(limit).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.iter().map(from_row).collect()
    }

    /// Delivered: the payload (which may hold a code) is purged at once.
    pub async fn mark_outbox_sent(&self, id: &str, now: Millis) -> Result<()> {
        sqlx::query("UPDATE outbox SET status = 'sent', payload = NULL, lease_until = NULL, sent_at = $1, updated_at = $1, last_error = NULL WHERE id = $2")
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A transient failure: try again at `next_attempt_at`.
    pub async fn mark_outbox_deferred(&self, id: &str, next_attempt_at: Millis, error: &str, now: Millis) -> Result<()> {
        sqlx::query("UPDATE outbox SET status = 'deferred', lease_until = NULL, next_attempt_at = $1, last_error = $2, updated_at = $3 WHERE id = $4")
            .bind(next_attempt_at)
            .bind(error)
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A permanent failure (5xx, attempts exhausted): keep the reason. The sealed payload stays
    /// until the message expires so an administrator can resend it once the cause is fixed.
    pub async fn mark_outbox_failed(&self, id: &str, error: &str, now: Millis) -> Result<()> {
        sqlx::query("UPDATE outbox SET status = 'failed', lease_until = NULL, last_error = $1, updated_at = $2 WHERE id = $3")
            .bind(error)
            .bind(now)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn outbox_messages(&self, status: Option<OutboxStatus>, limit: i64) -> Result<Vec<OutboxMessage>> {
        let rows =
            sqlx::query(&format!("SELECT {COLUMNS} FROM outbox WHERE ($1 IS NULL OR status = $1) ORDER BY created_at DESC, id LIMIT $2"))
                .bind(status.map(OutboxStatus::as_str))
                .bind(limit)
                .fetch_all(self.pool())
                .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn outbox_message(&self, id: &str) -> Result<Option<OutboxMessage>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM outbox WHERE id = $1")).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Admin resend of an unsent (queued, deferred or failed), unexpired message: due now, attempts reset.
    pub async fn requeue_outbox(&self, id: &str, now: Millis) -> Result<bool> {
        let changed = sqlx::query(
            "UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = $1, lease_until = NULL, updated_at = $1 \
             WHERE id = $2 AND status IN ('queued', 'deferred', 'failed') AND payload IS NOT NULL AND (expires_at IS NULL OR expires_at > $1)",
        )
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(changed == 1)
    }
}
