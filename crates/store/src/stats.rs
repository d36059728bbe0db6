//! Read-only figures for monitoring (`/metrics`): the connection pool and the outbox backlog.
//! Each is cheap enough to read at every scrape: the pool's counters are in memory, and the
//! backlog is one aggregate over the `outbox_due` index's leading column.
use latchkey_domain::Millis;
use sqlx::Row;

use crate::{get_i64, get_opt_i64, Result, Store};

/// The connection pool right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    /// Connections open (busy and idle).
    pub open: u32,
    /// Open connections no one is using.
    pub idle: u32,
    /// The most the pool will open.
    pub max: u32,
}

/// Mail not yet handed to the relay: queued or deferred rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxBacklog {
    pub queued: i64,
    pub deferred: i64,
    /// When the oldest pending message was written (`None` with nothing pending).
    pub oldest_created_at: Option<Millis>,
}

impl Store {
    pub fn pool_stats(&self) -> PoolStats {
        let pool = self.pool();
        PoolStats { open: pool.size(), idle: u32::try_from(pool.num_idle()).unwrap_or(u32::MAX), max: pool.options().get_max_connections() }
    }

    pub async fn outbox_backlog(&self) -> Result<OutboxBacklog> {
        let rows = sqlx::query(
            "SELECT status, COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE status IN ('queued', 'deferred') GROUP BY status",
        )
        .fetch_all(self.pool())
        .await?;
        let mut backlog = OutboxBacklog { queued: 0, deferred: 0, oldest_created_at: None };
        for row in &rows {
            let (n, oldest) = (get_i64(row, "n")?, get_opt_i64(row, "oldest")?);
            match row.try_get::<String, _>("status")?.as_str() {
                "queued" => backlog.queued = n,
                _ => backlog.deferred = n,
            }
            backlog.oldest_created_at = match (backlog.oldest_created_at, oldest) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        Ok(backlog)
    }
}
