//! Fixed-window counters shared by all server processes (per-IP and global limits).
use latchkey_domain::Millis;

use crate::{get_i64, Result, Store};

impl Store {
    /// Counts one hit in `bucket`'s current window and returns the count including it.
    /// One atomic upsert, so concurrent processes never lose a hit.
    pub async fn hit_rate_bucket(&self, bucket: &str, window: Millis, now: Millis) -> Result<i64> {
        let window_start = now - now.rem_euclid(window.max(1));
        let row = sqlx::query(
            "INSERT INTO rate_buckets (bucket, window_start, hits) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_buckets.hits + 1 RETURNING hits",
        )
        .bind(bucket)
        .bind(window_start)
        .fetch_one(self.pool())
        .await?;
        get_i64(&row, "hits")
    }
}

impl Store {
    /// The count in `bucket`'s current window, without counting a hit.
    pub async fn rate_bucket_hits(&self, bucket: &str, window: Millis, now: Millis) -> Result<i64> {
        let window_start = now - now.rem_euclid(window.max(1));
        let row = sqlx::query("SELECT hits FROM rate_buckets WHERE bucket = $1 AND window_start = $2")
            .bind(bucket)
            .bind(window_start)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| get_i64(&r, "hits")).transpose()?.unwrap_or(0))
    }
}
