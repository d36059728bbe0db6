//! `latchkey restore FILE`: puts a SQLite backup in place of the database. Stop every server
//! first. The backup is checked with the master key before anything changes: a backup whose
//! keys the configured master key cannot open is refused. A restore brings back old passwords
//! and tokens revoked since, so every session and refresh token of the restored database ends
//! (access tokens expire within `tokens.access_token_secs`).
use std::path::{Path, PathBuf};

use crate::config::Settings;
use crate::crypto::keyring::KeyRing;
use crate::crypto::master;

#[derive(clap::Args)]
pub struct Args {
    /// The backup (`latchkey backup`).
    file: PathBuf,
}

pub async fn run(settings: Settings, args: Args) -> Result<(), String> {
    let url = settings.database_url();
    let Some(target) = crate::files::sqlite_path(&url) else {
        return Err("`latchkey restore` restores a SQLite database; restore PostgreSQL with pg_restore (docs/backup.md)".to_owned());
    };
    if !args.file.is_file() {
        return Err(format!("{} is not a file", args.file.display()));
    }
    crate::files::create_private_dir(&settings.server.data_dir).map_err(|e| e.to_string())?;
    // Prepared beside the database, so the final rename is atomic and the live file is
    // untouched until the backup proved usable.
    let staging = PathBuf::from(format!("{}.restoring", target.display()));
    remove_database_files(&staging)?;
    std::fs::copy(&args.file, &staging).map_err(|e| format!("copying {}: {e}", args.file.display()))?;
    let prepared = prepare(&settings, &staging).await;
    let (sessions, tokens) = match prepared {
        Ok(ended) => ended,
        Err(e) => {
            let _ = remove_database_files(&staging);
            return Err(e);
        }
    };
    remove_database_files(&target)?;
    std::fs::rename(&staging, &target).map_err(|e| format!("replacing {}: {e}", target.display()))?;
    crate::files::restrict_sqlite(&url).map_err(|e| e.to_string())?;
    println!("restored {} from {}; {sessions} sessions and {tokens} refresh tokens ended", target.display(), args.file.display());
    println!("{}", super::backup::MASTER_KEY_WARNING);
    Ok(())
}

/// Migrates the copy, proves the master key opens its keys, and ends its sessions and tokens.
async fn prepare(settings: &Settings, staging: &Path) -> Result<(u64, u64), String> {
    let url = format!("sqlite://{}", staging.display());
    let store = crate::startup::connect_store(&url).await.map_err(|e| format!("the backup cannot be opened: {e}"))?;
    let outcome = async {
        let master_key =
            master::load(settings.database.master_key_file.as_deref(), &settings.server.data_dir, false).map_err(|e| e.to_string())?;
        let now = store.now().await.map_err(|e| e.to_string())?;
        KeyRing::load(&store, &master_key, now).await.map_err(|e| {
            format!("refused: {e}. Restore with the master key file that was in use when the backup was taken (LATCHKEY_MASTER_KEY_FILE)")
        })?;
        let ended = store.end_all_sessions_and_refresh_tokens(now).await.map_err(|e| e.to_string())?;
        // The rename below moves the database file alone: nothing may stay in its `-wal`.
        store.checkpoint().await.map_err(|e| e.to_string())?;
        Ok(ended)
    }
    .await;
    store.close().await;
    outcome
}

fn remove_database_files(path: &Path) -> Result<(), String> {
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("{}: {e}", file.display())),
        }
    }
    Ok(())
}
