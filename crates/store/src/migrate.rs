//! Schema migrations: an ordered list of SQL scripts, applied once each, inside one write
//! transaction (DDL is transactional on both databases). On PostgreSQL an advisory lock makes
//! concurrent server starts wait for each other instead of racing.
use sqlx::Row;

use crate::{Dialect, Result, Store};

/// Each entry is applied once, in order. Add a new file for every schema change; never edit
/// one that has shipped.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_initial.sql")),
    (2, include_str!("../migrations/0002_email_customizations.sql")),
    (3, include_str!("../migrations/0003_sessions_tokens.sql")),
    (4, include_str!("../migrations/0004_bound_codes.sql")),
    (5, include_str!("../migrations/0005_token_cutoffs.sql")),
    (6, include_str!("../migrations/0006_outbox_owners.sql")),
    (7, include_str!("../migrations/0007_brand_themes.sql")),
];

/// Arbitrary constant shared by every Latchkey process: "LK" in ASCII.
const ADVISORY_LOCK_ID: i64 = 0x4c4b;

pub(crate) async fn run(store: &Store) -> Result<()> {
    let mut conn = store.pool().acquire().await?;
    if store.dialect() == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_lock($1)").bind(ADVISORY_LOCK_ID).execute(&mut *conn).await?;
    }
    let outcome = apply_pending(store, &mut conn).await;
    if store.dialect() == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_unlock($1)").bind(ADVISORY_LOCK_ID).execute(&mut *conn).await?;
    }
    outcome
}

async fn apply_pending(store: &Store, conn: &mut sqlx::AnyConnection) -> Result<()> {
    sqlx::query("CREATE TABLE IF NOT EXISTS latchkey_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        .execute(&mut *conn)
        .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM latchkey_migrations")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|row| row.try_get::<i64, _>("version"))
        .collect::<std::result::Result<_, _>>()?;
    for (version, script) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        for statement in statements(script) {
            sqlx::query(&statement).execute(&mut *tx).await?;
        }
        sqlx::query(&format!("INSERT INTO latchkey_migrations (version, applied_at) VALUES ($1, {})", store.dialect().now_expr()))
            .bind(*version)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version, "applied database migration");
    }
    Ok(())
}

/// Splits a script on `;`, dropping `--` comment lines.
fn statements(script: &str) -> Vec<String> {
    let without_comments: String = script.lines().filter(|line| !line.trim_start().starts_with("--")).collect::<Vec<_>>().join("\n");
    without_comments.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}
