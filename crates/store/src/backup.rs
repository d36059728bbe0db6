//! Backups: an online copy of a SQLite database, and what a restore must end.
//!
//! `VACUUM INTO` writes a consistent copy while the server keeps serving (it reads in one
//! transaction; WAL lets writers go on). PostgreSQL is backed up with its own tools
//! (`pg_dump`; docs/backup.md). Either way the copy holds keys sealed under the master key,
//! which is not in it.
use latchkey_domain::audit::{EventType, Outcome, Party, SecurityEvent};
use std::path::Path;

use crate::{Dialect, Result, Store, StoreError};

impl Store {
    /// Writes a consistent copy of this SQLite database to `path` (which must not exist).
    pub async fn backup_into(&self, path: &Path) -> Result<()> {
        if self.dialect() != Dialect::Sqlite {
            return Err(StoreError::Corrupt("online backup is for SQLite; back up PostgreSQL with pg_dump".to_owned()));
        }
        let path = path.to_str().ok_or_else(|| StoreError::Corrupt("the backup path is not UTF-8".to_owned()))?;
        // A literal, quotes doubled: VACUUM INTO takes the file name as an expression.
        sqlx::query(&format!("VACUUM INTO '{}'", path.replace('\'', "''"))).execute(self.pool()).await?;
        Ok(())
    }

    /// After a restore: every session and every refresh token ends (the restored database
    /// may hold ones revoked since the backup), and the restore is logged in the System Log
    /// with them. Returns how many of each.
    pub async fn end_all_sessions_and_refresh_tokens(&self, now: latchkey_domain::Millis) -> Result<(u64, u64)> {
        let mut tx = self.write_tx().await?;
        let sessions = sqlx::query("DELETE FROM sessions").execute(&mut *tx).await?.rows_affected();
        let tokens = sqlx::query("DELETE FROM refresh_tokens").execute(&mut *tx).await?.rows_affected();
        let event = SecurityEvent::new(EventType::SystemRestore, Outcome::Success, Party::system())
            .detail("sessionsEnded", sessions.to_string())
            .detail("refreshTokensEnded", tokens.to_string())
            .warn();
        crate::system_log::record(&mut tx, &event, &crate::EventContext::system(), now).await?;
        tx.commit().await?;
        Ok((sessions, tokens))
    }

    /// Moves everything in SQLite's write-ahead log into the database file, so that the file
    /// alone holds every committed change (what `latchkey restore` renames into place: a
    /// change left in the `-wal` file beside it would be lost). Nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> Result<()> {
        if self.dialect() == Dialect::Sqlite {
            let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(self.pool()).await?;
            let busy: i64 = sqlx::Row::try_get(&row, 0)?;
            if busy != 0 {
                return Err(StoreError::Corrupt("the write-ahead log could not be checkpointed: a connection is still reading".to_owned()));
            }
        }
        Ok(())
    }
}
