//! Schema migrations, run by sqlx's migrator over the `Any` driver: every file in
//! `migrations/` (`NNNN_name.sql`, version NNNN) is embedded at build time and applied once, in
//! order, each in its own transaction, with its SHA-384 checksum recorded in
//! `_sqlx_migrations`. A shipped migration that was edited afterwards stops the server with a
//! checksum error instead of leaving databases that disagree with the code. On PostgreSQL the
//! migrator holds an advisory lock, so concurrent server starts wait for each other.
//!
//! *Why sqlx's and not ours:* it serves both databases through `Any`, checks checksums, marks a
//! failed migration dirty, and is the format `sqlx migrate` understands. Until this version,
//! Latchkey kept its own list in `latchkey_migrations`; `adopt_legacy_bookkeeping` carries a
//! database from that table over once.
use sqlx::migrate::Migrator;
use sqlx::Row;

use crate::{Dialect, Result, Store, StoreError};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Serialises the one-time adoption across processes on PostgreSQL ("LK" in ASCII).
const ADVISORY_LOCK_ID: i64 = 0x4c4b;

pub(crate) async fn run(store: &Store) -> Result<()> {
    let mut conn = store.pool().acquire().await?;
    if store.dialect() == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)").bind(ADVISORY_LOCK_ID).execute(&mut *conn).await?;
    }
    let outcome = async {
        adopt_legacy_bookkeeping(store, &mut conn).await?;
        MIGRATOR.run(&mut *conn).await.map_err(|e| StoreError::Corrupt(format!("database migration failed: {e}")))
    }
    .await;
    if store.dialect() == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)").bind(ADVISORY_LOCK_ID).execute(&mut *conn).await?;
    }
    outcome
}

/// A database migrated by an earlier Latchkey records its versions in `latchkey_migrations`.
/// Records them in `_sqlx_migrations` with the embedded scripts' checksums (the scripts are the
/// same text those versions applied) and drops the old table, in one transaction.
async fn adopt_legacy_bookkeeping(store: &Store, conn: &mut sqlx::AnyConnection) -> Result<()> {
    let exists_sql = match store.dialect() {
        Dialect::Sqlite => "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'latchkey_migrations'",
        Dialect::Postgres => "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'latchkey_migrations'",
    };
    if sqlx::query(exists_sql).fetch_one(&mut *conn).await?.try_get::<i64, _>("n")? == 0 {
        return Ok(());
    }
    sqlx::migrate::Migrate::ensure_migrations_table(&mut *conn)
        .await
        .map_err(|e| StoreError::Corrupt(format!("could not create the migrations table: {e}")))?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM latchkey_migrations")
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| row.try_get::<i64, _>("version"))
        .collect::<std::result::Result<_, _>>()?;
    for version in applied {
        let migration = MIGRATOR
            .iter()
            .find(|m| m.version == version)
            .ok_or_else(|| StoreError::Corrupt(format!("the database has migration {version}, which this Latchkey does not know")))?;
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ($1, $2, TRUE, $3, 0) ON CONFLICT (version) DO NOTHING",
        )
        .bind(version)
        .bind(migration.description.to_string())
        .bind(migration.checksum.to_vec())
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("DROP TABLE latchkey_migrations").execute(&mut *tx).await?;
    tx.commit().await?;
    tracing::info!("moved the migration history to sqlx's _sqlx_migrations");
    Ok(())
}
