//! Keys shared by every server process (signing keys, the code-MAC key, the outbox key), stored
//! sealed under the master key by the caller. The first process to start creates each singleton
//! key; the others read the winner's (`INSERT … ON CONFLICT DO NOTHING`, then read).
use latchkey_domain::audit::{EventType, Outcome, Party, SecurityEvent};
use latchkey_domain::Millis;

use crate::{get_i64, get_opt_i64, EventContext, Result, Store};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRecord {
    pub id: String,
    pub kind: String,
    pub material: String,
    pub created_at: Millis,
    /// From when the key is published (JWKS) …
    pub publish_at: Millis,
    /// … from when it signs (after every cache has seen it) …
    pub sign_from: Millis,
    /// … and when it disappears (after the last token it signed expired).
    pub retire_at: Option<Millis>,
}

const INSERT: &str = "INSERT INTO keys (id, kind, material, created_at, publish_at, sign_from, retire_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
const INSERT_IF_ABSENT: &str = "INSERT INTO keys (id, kind, material, created_at, publish_at, sign_from, retire_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING";

/// `sql` (one of the inserts above) with the key's columns bound in their order.
fn insert<'q>(key: &'q KeyRecord, sql: &'static str) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(sql)
        .bind(&key.id)
        .bind(&key.kind)
        .bind(&key.material)
        .bind(key.created_at)
        .bind(key.publish_at)
        .bind(key.sign_from)
        .bind(key.retire_at)
}

impl Store {
    /// Inserts the key unless one with this id exists; returns the stored one either way.
    pub async fn insert_key_if_absent(&self, key: &KeyRecord) -> Result<KeyRecord> {
        insert(key, INSERT_IF_ABSENT).execute(self.pool()).await?;
        Ok(sqlx::query_as("SELECT id, kind, material, created_at, publish_at, sign_from, retire_at FROM keys WHERE id = $1")
            .bind(&key.id)
            .fetch_one(self.pool())
            .await?)
    }

    /// Stores a signing key made by a rotation and logs `app.oauth2.as.key.rollover` in the same
    /// transaction (Latchkey as the actor, the key's id as the target, when it is published and
    /// from when it signs as detail; never its material). A rotation is not one transaction: the
    /// older keys' retirement is scheduled afterwards (`retire_keys_except`), and two processes
    /// rotating at once each add and log a key (harmless, see the server's `crypto::rotation`).
    pub async fn insert_rotated_key(&self, key: &KeyRecord, context: &EventContext, now: Millis) -> Result<KeyRecord> {
        let mut tx = self.write_tx().await?;
        let inserted = insert(key, INSERT_IF_ABSENT).execute(&mut *tx).await?.rows_affected() == 1;
        if inserted {
            let target = Party { id: Some(key.id.clone()), kind: "Key", alternate_id: Some(key.kind.clone()), display_name: None };
            let event = SecurityEvent::new(EventType::SigningKeyRollover, Outcome::Success, Party::system())
                .target(target)
                .detail("kid", key.id.clone())
                .detail("publishAt", key.publish_at.to_string())
                .detail("signFrom", key.sign_from.to_string());
            crate::system_log::record(&mut tx, &event, context, now).await?;
        }
        let stored = sqlx::query_as("SELECT id, kind, material, created_at, publish_at, sign_from, retire_at FROM keys WHERE id = $1")
            .bind(&key.id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Stores `key` as the first of its kind unless a live key of that kind exists, and
    /// returns the live keys of the kind. Processes that start together on an empty database
    /// take turns on the row `lock_id` (a key that already exists), so they all keep the same
    /// first key: with one key each, every process would publish only its own until its next
    /// reload, and a token signed by one would fail at another.
    pub async fn insert_first_key(&self, key: &KeyRecord, lock_id: &str, now: Millis) -> Result<Vec<KeyRecord>> {
        let mut tx = self.write_tx().await?;
        sqlx::query(&format!("SELECT id FROM keys WHERE id = $1{}", self.dialect().for_update()))
            .bind(lock_id)
            .fetch_optional(&mut *tx)
            .await?;
        let live = sqlx::query("SELECT COUNT(*) AS live FROM keys WHERE kind = $1 AND (retire_at IS NULL OR retire_at > $2)")
            .bind(&key.kind)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        if get_i64(&live, "live")? == 0 {
            insert(key, INSERT).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.live_keys(&key.kind, now).await
    }

    /// Keys of one kind that are not retired at `now`, newest first.
    pub async fn live_keys(&self, kind: &str, now: Millis) -> Result<Vec<KeyRecord>> {
        Ok(sqlx::query_as(
            "SELECT id, kind, material, created_at, publish_at, sign_from, retire_at FROM keys \
             WHERE kind = $1 AND (retire_at IS NULL OR retire_at > $2) ORDER BY sign_from DESC, id",
        )
        .bind(kind)
        .bind(now)
        .fetch_all(self.pool())
        .await?)
    }

    /// Schedules the retirement of every key of `kind` except `keep_id`.
    pub async fn retire_keys_except(&self, kind: &str, keep_id: &str, retire_at: Millis) -> Result<()> {
        sqlx::query("UPDATE keys SET retire_at = $1 WHERE kind = $2 AND id <> $3 AND retire_at IS NULL")
            .bind(retire_at)
            .bind(kind)
            .bind(keep_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// When the newest key of `kind` was created (the rotation schedule counts from it).
    pub async fn newest_key_created_at(&self, kind: &str) -> Result<Option<Millis>> {
        let row = sqlx::query("SELECT MAX(created_at) AS newest FROM keys WHERE kind = $1").bind(kind).fetch_one(self.pool()).await?;
        get_opt_i64(&row, "newest")
    }
}
