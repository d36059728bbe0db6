//! `latchkey backup FILE`: a consistent copy of the SQLite database, taken while the servers
//! keep serving (`VACUUM INTO`). PostgreSQL: `pg_dump` (docs/backup.md).
use std::path::PathBuf;

use crate::config::Settings;

#[derive(clap::Args)]
pub struct Args {
    /// Where to write the copy (must not exist).
    file: PathBuf,
}

/// Said by `backup` and `restore`: the copy holds every key sealed under the master key.
pub const MASTER_KEY_WARNING: &str = "A backup is useless without the master key: the keys in it are sealed under it, and it is not in the backup. Keep the master key file with the backup, apart from it, as safely as the backup itself.";

pub async fn run(settings: Settings, args: Args) -> Result<(), String> {
    let url = settings.database_url();
    if !url.starts_with("sqlite:") {
        return Err("`latchkey backup` copies a SQLite database; back up PostgreSQL with pg_dump (docs/backup.md)".to_owned());
    }
    if args.file.exists() {
        return Err(format!("{} exists; name a new file", args.file.display()));
    }
    let store = crate::startup::connect_store(&url).await.map_err(|e| format!("database: {e}"))?;
    store.backup_into(&args.file).await.map_err(|e| format!("backup: {e}"))?;
    store.close().await;
    crate::files::restrict_sqlite(&format!("sqlite://{}", args.file.display())).map_err(|e| e.to_string())?;
    let key = settings.database.master_key_file.clone().unwrap_or_else(|| settings.server.data_dir.join("master.key"));
    println!("backed up to {}", args.file.display());
    println!("{MASTER_KEY_WARNING} The master key in use: {}", key.display());
    Ok(())
}
