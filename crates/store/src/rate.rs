//! Fixed-window budgets shared by all server processes (per-IP and global limits).
//!
//! A budget is taken before the work it limits and in the same atomic statement that decides
//! whether any is left (finding 7: checking in one call and counting in another let 300
//! parallel sign-ins from one address all be evaluated against a limit of 100). A limit that
//! counts only failures takes a unit up front and gives it back when the attempt succeeds.
use latchkey_domain::Millis;

use crate::{get_i64, Result, Store};

/// One unit taken from a budget; give it back with `refund_rate` if the attempt did not count.
#[derive(Debug, Clone)]
pub struct RateTicket {
    bucket: String,
    window_start: Millis,
}

impl Store {
    /// Takes one unit of `bucket`'s budget in its current window, or `None` when `limit` units
    /// are already taken. One atomic upsert, so concurrent processes never overshoot.
    pub async fn take_rate(&self, bucket: &str, window: Millis, limit: i64, now: Millis) -> Result<Option<RateTicket>> {
        let window_start = now - now.rem_euclid(window.max(1));
        let row = sqlx::query(
            "INSERT INTO rate_buckets (bucket, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_buckets.hits + 1 WHERE rate_buckets.hits < $3 RETURNING hits",
        )
        .bind(bucket)
        .bind(window_start)
        .bind(limit)
        .fetch_optional(self.pool())
        .await?;
        // A fresh window inserts 1 whatever the limit; a limit of 0 still refuses.
        let taken = match row {
            Some(row) => get_i64(&row, "hits")? <= limit,
            None => false,
        };
        Ok(taken.then(|| RateTicket { bucket: bucket.to_owned(), window_start }))
    }

    /// Gives a unit back (the attempt succeeded, so it was no failure).
    pub async fn refund_rate(&self, ticket: RateTicket) -> Result<()> {
        sqlx::query("UPDATE rate_buckets SET hits = hits - 1 WHERE bucket = $1 AND window_start = $2 AND hits > 0")
            .bind(&ticket.bucket)
            .bind(ticket.window_start)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The units taken in `bucket`'s current window (audits and tests).
    pub async fn rate_taken(&self, bucket: &str, window: Millis, now: Millis) -> Result<i64> {
        let window_start = now - now.rem_euclid(window.max(1));
        let row = sqlx::query("SELECT hits FROM rate_buckets WHERE bucket = $1 AND window_start = $2")
            .bind(bucket)
            .bind(window_start)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| get_i64(&r, "hits")).transpose()?.unwrap_or(0))
    }
}
