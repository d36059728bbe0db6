//! Owner-only permissions for what the server writes to disk (finding 11b): the data directory
//! (0700), the SQLite database with its `-wal` and `-shm` files (0600) and the dev mailbox
//! (0700, its `.eml` files 0600 from `latchkey-email`). They hold password hashes, sealed keys,
//! and in development every code and link sent; the default umask left them world-readable.
//!
//! Why explicit modes rather than `umask(0077)` at start: the umask is process-wide (the demo
//! runs the sample app in the same process, and tests run servers inside the test harness), it
//! needs `unsafe` libc calls, and it does nothing for files an earlier version already created
//! with looser modes; explicit modes are also visible where each file is made. SQLite creates
//! `-wal` and `-shm` with the database file's own mode, so creating the database 0600 before
//! sqlx opens it covers them; [`restrict_sqlite`] tightens files left by older versions.
use std::io;
use std::path::{Path, PathBuf};

/// Creates `dir` (and missing parents) as 0700. An existing directory keeps its mode, since it
/// may be an operator's (`/var/lib/…`, a volume); a warning says if others can read it.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let existed = dir.is_dir();
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir)?;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if existed && mode & 0o077 != 0 {
            tracing::warn!(dir = %dir.display(), mode = format!("{:o}", mode & 0o777), "the data directory is readable by other users; chmod 700 it");
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        let _ = existed;
        builder.create(dir)
    }
}

/// Creates `dir` as 0700 and tightens it if it exists: only the server writes there.
pub fn create_owned_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).create(dir)?;
    set_mode(dir, 0o700)
}

/// Before sqlx opens a SQLite `url`: creates the database file, empty and 0600, if it does not
/// exist yet (SQLite treats an empty file as a new database).
pub fn prepare_sqlite(url: &str) -> io::Result<()> {
    let Some(path) = sqlite_path(url) else { return Ok(()) };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(&path).map(drop)
}

/// After connecting: the database, `-wal` and `-shm` files are 0600, whoever created them.
pub fn restrict_sqlite(url: &str) -> io::Result<()> {
    let Some(path) = sqlite_path(url) else { return Ok(()) };
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            set_mode(&file, 0o600)?;
        }
    }
    Ok(())
}

/// The file a `sqlite:` URL names; `None` for other databases and in-memory SQLite.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.starts_with(':') {
        return None;
    }
    Some(PathBuf::from(path))
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_path("sqlite://./data/latchkey.db"), Some(PathBuf::from("./data/latchkey.db")));
        assert_eq!(sqlite_path("sqlite:///var/lib/latchkey/db.sqlite?mode=rwc"), Some(PathBuf::from("/var/lib/latchkey/db.sqlite")));
        assert_eq!(sqlite_path("sqlite:latchkey.db"), Some(PathBuf::from("latchkey.db")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(sqlite_path("postgres://postgres@127.0.0.1/db"), None);
    }
}
