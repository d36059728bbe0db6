//! The master key: 32 random bytes outside the database that seal every key stored inside it.
//!
//! With PostgreSQL (several processes) it must be provided through `LATCHKEY_MASTER_KEY_FILE`,
//! so all processes share it. With SQLite a missing key is generated once in the data directory
//! (mode 0600), which keeps the embedded default zero-setup.
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use zeroize::Zeroizing;

pub type MasterKey = Zeroizing<[u8; 32]>;

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error("LATCHKEY_MASTER_KEY_FILE is required with PostgreSQL: create one with `head -c 32 /dev/urandom > master.key` and share it between all server processes")]
    Required,
    #[error("the master key file {0} could not be read: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("the master key file {0} must hold exactly 32 bytes (raw, base64 or hex)")]
    Malformed(PathBuf),
    #[error("the master key could not be created at {0}: {1}")]
    Create(PathBuf, std::io::Error),
}

/// Loads the configured key, or (SQLite only) the one in the data directory, creating it.
pub fn load(configured: Option<&Path>, data_dir: &Path, is_postgres: bool) -> Result<MasterKey, MasterKeyError> {
    if let Some(path) = configured {
        return read(path);
    }
    if is_postgres {
        return Err(MasterKeyError::Required);
    }
    let path = data_dir.join("master.key");
    if path.exists() {
        return read(&path);
    }
    let mut key = Zeroizing::new([0u8; 32]);
    rand::rngs::OsRng.fill_bytes(key.as_mut());
    write_private(&path, key.as_ref()).map_err(|e| MasterKeyError::Create(path.clone(), e))?;
    tracing::info!(path = %path.display(), "generated a master key for the embedded database");
    Ok(key)
}

fn read(path: &Path) -> Result<MasterKey, MasterKeyError> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| MasterKeyError::Read(path.to_owned(), e))?);
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() == 32 {
        key.copy_from_slice(&bytes);
        return Ok(key);
    }
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    let decoded =
        Zeroizing::new(STANDARD.decode(text).ok().filter(|d| d.len() == 32).or_else(|| hex::decode(text).ok().filter(|d| d.len() == 32)));
    match decoded.as_ref() {
        Some(d) => {
            key.copy_from_slice(d);
            Ok(key)
        }
        None => Err(MasterKeyError::Malformed(path.to_owned())),
    }
}

/// Writes a file readable only by its owner.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}
