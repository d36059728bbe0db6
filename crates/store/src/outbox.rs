//! The durable outbox: rows written in the same transaction as the state change that causes
//! them, claimed by a live server process, and never deleted on a failed send.
//!
//! Claiming is one atomic statement. PostgreSQL selects candidates with
//! `FOR UPDATE SKIP LOCKED`, so several processes never claim the same row at once; SQLite's
//! single writer gives the same guarantee. A claim records the claiming process
//! (`owner_id`), whose heartbeat row in `outbox_owners` says it is alive. Another process may
//! claim the row again only once that heartbeat is older than the owner timeout (or deleted by
//! a clean shutdown), so a process that dies mid-send delays its messages by seconds, not by a
//! lease that must outlive a whole SMTP exchange. Outcomes are recorded only by the owner.
//! A process that died after the relay accepted a message but before recording it causes a
//! second send, which is why delivery is at least once and the Message-ID is stable.
use latchkey_domain::audit::{EventType, Outcome, Party, SecurityEvent};
use latchkey_domain::Millis;
use sqlx::any::AnyRow;

use crate::{get_str, Audit, Dialect, Result, Store, Tx};

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

/// A status column holding a name Latchkey never writes.
#[derive(Debug, thiserror::Error)]
#[error("outbox status {0:?} is not one Latchkey writes")]
pub struct UnknownStatus(String);

impl TryFrom<String> for OutboxStatus {
    type Error = UnknownStatus;

    fn try_from(value: String) -> std::result::Result<Self, UnknownStatus> {
        Self::parse(&value).ok_or(UnknownStatus(value))
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

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxMessage {
    pub id: String,
    pub message_id: String,
    pub kind: String,
    pub recipient: String,
    pub payload: Option<String>,
    #[sqlx(try_from = "String")]
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
        "UPDATE outbox SET status = 'expired', payload = NULL, owner_id = NULL, updated_at = $1 \
         WHERE status IN ('queued', 'deferred', 'failed') AND expires_at IS NOT NULL AND expires_at <= $1",
    )
    .bind(now)
    .execute(store.pool())
    .await?
    .rows_affected())
}

impl Store {
    /// Records that process `owner` is alive, at database time. Called about once a second
    /// by the process's outbox worker; the first call creates the row.
    pub async fn outbox_heartbeat(&self, owner: &str) -> Result<Millis> {
        let now = self.now().await?;
        sqlx::query(
            "INSERT INTO outbox_owners (process_id, heartbeat_at, started_at) VALUES ($1, $2, $2) \
             ON CONFLICT (process_id) DO UPDATE SET heartbeat_at = $2",
        )
        .bind(owner)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(now)
    }

    /// A clean shutdown: the process's heartbeat row goes, so whatever it still owns can be
    /// claimed by another process at once instead of after the owner timeout.
    pub async fn retire_outbox_owner(&self, owner: &str) -> Result<()> {
        sqlx::query("DELETE FROM outbox_owners WHERE process_id = $1").bind(owner).execute(self.pool()).await?;
        Ok(())
    }

    /// Claims up to `limit` due messages for process `owner` and counts the attempt.
    ///
    /// A row is due when nobody owns it, or its owner's heartbeat is older than
    /// `owner_timeout` ms (or gone): a process that died mid-send leaves its rows to the next
    /// claim after the timeout instead of a long lease. Nothing is claimed for an owner whose
    /// own heartbeat is not fresh, since it could not send in time anyway.
    pub async fn claim_outbox(&self, now: Millis, owner: &str, owner_timeout: Millis, limit: i64) -> Result<Vec<OutboxMessage>> {
        expire_due(self, now).await?;
        let candidates = "SELECT id FROM outbox WHERE status IN ('queued', 'deferred') AND next_attempt_at <= $1 \
             AND (owner_id IS NULL OR NOT EXISTS (SELECT 1 FROM outbox_owners o WHERE o.process_id = outbox.owner_id AND o.heartbeat_at > $3)) \
             ORDER BY next_attempt_at LIMIT $4";
        let lock = match self.dialect() {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET owner_id = $2, attempts = attempts + 1, updated_at = $1 \
             WHERE id IN ({candidates}{lock}) \
             AND EXISTS (SELECT 1 FROM outbox_owners me WHERE me.process_id = $2 AND me.heartbeat_at > $3) \
             RETURNING {COLUMNS}"
        );
        let mut tx = self.write_tx().await?;
        let claimed =
            sqlx::query_as(&sql).bind(now).bind(owner).bind(now.saturating_sub(owner_timeout)).bind(limit).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    /// Rows `owner` claimed at or before `claimed_before` and still holds: the worker releases
    /// those it is not sending (an outcome that could not be recorded, a claim whose answer was
    /// lost), since nobody else may claim them while its heartbeat is fresh.
    pub async fn outbox_claimed_by(&self, owner: &str, claimed_before: Millis) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM outbox WHERE owner_id = $1 AND status IN ('queued', 'deferred') AND updated_at <= $2")
            .bind(owner)
            .bind(claimed_before)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|row| get_str(row, "id")).collect()
    }

    /// Whether `owner` still owns the claimed row `id` and its heartbeat is fresh: asked right
    /// before the SMTP send, so a process that lost a row (its heartbeat went stale and another
    /// process claimed it) does not send it as well.
    pub async fn outbox_still_owned(&self, id: &str, owner: &str, now: Millis, owner_timeout: Millis) -> Result<bool> {
        let row = sqlx::query(
            "SELECT o.id FROM outbox o JOIN outbox_owners w ON w.process_id = o.owner_id \
             WHERE o.id = $1 AND o.owner_id = $2 AND o.status IN ('queued', 'deferred') AND w.heartbeat_at > $3",
        )
        .bind(id)
        .bind(owner)
        .bind(now.saturating_sub(owner_timeout))
        .fetch_optional(self.pool())
        .await?;
        Ok(row.is_some())
    }

    /// Delivered: the payload (which may hold a code) is purged at once. Only the owner records
    /// it; `false` means another process had claimed the row meanwhile (it may be sent twice,
    /// with the same Message-ID).
    pub async fn mark_outbox_sent(&self, id: &str, owner: &str, now: Millis) -> Result<bool> {
        self.finish_delivery(id, owner, None, now).await
    }

    /// A transient failure: try again at `next_attempt_at`. `relay_down` says the relay could
    /// not be reached at all, so the row is released early once a send succeeds again
    /// (`release_relay_deferred`). Only the owner records it.
    pub async fn mark_outbox_deferred(
        &self,
        id: &str,
        owner: &str,
        next_attempt_at: Millis,
        error: &str,
        relay_down: bool,
        now: Millis,
    ) -> Result<bool> {
        let changed = sqlx::query(
            "UPDATE outbox SET status = 'deferred', owner_id = NULL, next_attempt_at = $1, last_error = $2, relay_down = $5, updated_at = $3 \
             WHERE id = $4 AND owner_id = $6",
        )
        .bind(next_attempt_at)
        .bind(error)
        .bind(now)
        .bind(id)
        .bind(i64::from(relay_down))
        .bind(owner)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(changed == 1)
    }

    /// A permanent failure (5xx, attempts exhausted): keep the reason. The sealed payload stays
    /// until the message expires so an administrator can resend it once the cause is fixed.
    /// Only the owner records it.
    pub async fn mark_outbox_failed(&self, id: &str, owner: &str, error: &str, now: Millis) -> Result<bool> {
        self.finish_delivery(id, owner, Some(error), now).await
    }

    /// The owner's last word on a message (sent, or failed with `error`) and its System Log
    /// entry, in one transaction; `false` when another process holds the row now.
    async fn finish_delivery(&self, id: &str, owner: &str, error: Option<&str>, now: Millis) -> Result<bool> {
        // A sent message's payload (it may hold a code) goes at once; a failed one keeps it
        // for an administrator's resend.
        let outcome = if error.is_some() { "status = 'failed'" } else { "status = 'sent', payload = NULL, sent_at = $1" };
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(&format!(
            "UPDATE outbox SET {outcome}, owner_id = NULL, relay_down = 0, last_error = $4, updated_at = $1 \
             WHERE id = $2 AND owner_id = $3 RETURNING id, kind, recipient, message_id"
        ))
        .bind(now)
        .bind(id)
        .bind(owner)
        .bind(error)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(false) };
        let result = if error.is_some() { Outcome::Failure("DELIVERY_FAILED") } else { Outcome::Success };
        record_delivery(&mut tx, &row, result, error, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The relay answers again: messages deferred because it could not be reached become due
    /// now instead of at the end of their back-off (recovery mail is time-critical). Returns how
    /// many were released.
    pub async fn release_relay_deferred(&self, now: Millis) -> Result<u64> {
        Ok(sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1, relay_down = 0, updated_at = $1 \
             WHERE status = 'deferred' AND relay_down = 1 AND next_attempt_at > $1",
        )
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected())
    }

    pub async fn outbox_messages(&self, status: Option<OutboxStatus>, limit: i64) -> Result<Vec<OutboxMessage>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox WHERE ($1 IS NULL OR status = $1) ORDER BY created_at DESC, id LIMIT $2"))
            .bind(status.map(OutboxStatus::as_str))
            .bind(limit)
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn outbox_message(&self, id: &str) -> Result<Option<OutboxMessage>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM outbox WHERE id = $1")).bind(id).fetch_optional(self.pool()).await?)
    }

    /// Admin resend of an unsent (queued, deferred or failed), unexpired message: due now, attempts
    /// reset, logged as `system.email.resend` in the same transaction (the message as the target,
    /// its template and earlier status as detail; never its payload).
    pub async fn requeue_outbox(&self, id: &str, audit: &Audit<'_>, now: Millis) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let before = sqlx::query("SELECT status FROM outbox WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
        let row = sqlx::query(
            "UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = $1, updated_at = $1 \
             WHERE id = $2 AND status IN ('queued', 'deferred', 'failed') AND payload IS NOT NULL AND (expires_at IS NULL OR expires_at > $1) \
             RETURNING id, recipient, kind, message_id",
        )
        .bind(now)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let email =
            Party { id: Some(get_str(&row, "id")?), kind: "Email", alternate_id: Some(get_str(&row, "recipient")?), display_name: None };
        let mut event = SecurityEvent::new(EventType::EmailResend, Outcome::Success, audit.actor.clone())
            .target(email)
            .detail("template", get_str(&row, "kind")?)
            .detail("messageId", get_str(&row, "message_id")?);
        if let Some(before) = before {
            event = event.detail("previousStatus", get_str(&before, "status")?);
        }
        crate::system_log::record(&mut tx, &event, audit.context, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// The System Log entry of a delivery outcome, from the outbox row's `RETURNING` columns. The
/// relay's reply is kept as detail; it never holds the message body.
async fn record_delivery(tx: &mut Tx, row: &AnyRow, outcome: Outcome, error: Option<&str>, now: Millis) -> Result<()> {
    let email = Party { id: Some(get_str(row, "id")?), kind: "Email", alternate_id: Some(get_str(row, "recipient")?), display_name: None };
    let mut event = SecurityEvent::new(EventType::EmailDelivery, outcome, Party::system())
        .target(email)
        .detail("template", get_str(row, "kind")?)
        .detail("messageId", get_str(row, "message_id")?);
    if let Some(error) = error {
        event = event.detail("error", error).warn();
    }
    crate::system_log::record(tx, &event, &crate::EventContext::system(), now).await
}
