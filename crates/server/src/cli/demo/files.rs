//! What the demo keeps in the data directory between runs, readable by its owner only:
//! `admin-token` (when `LATCHKEY_ADMIN_TOKEN` is not set) and `demo.json` (the demo user's
//! password and the sample app's client credentials), so a second run reprints the same values.
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct DemoState {
    pub password: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl DemoState {
    pub fn load(path: &Path) -> Result<Self, String> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{} is damaged ({e}); delete it to start over", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), String> {
        let json = serde_json::to_string_pretty(self).expect("plain strings always serialize");
        write_private(path, &json)
    }
}

/// The admin token from `{DATA_DIR}/admin-token`, created on first use.
pub fn admin_token(path: &Path) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(token) if token.trim().len() >= 32 => return Ok(token.trim().to_owned()),
        Ok(_) => return Err(format!("{} holds no usable token (at least 32 characters); delete it to generate one", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", path.display())),
    }
    let token = latchkey_domain::BearerToken::generate().expose().to_owned();
    write_private(path, &token)?;
    Ok(token)
}

/// Writes `contents` to `path` with mode 0600: these files hold credentials.
pub fn write_private(path: &Path, contents: &str) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        // The mode applies only at creation; an older file is tightened too.
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
        }
    }
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(contents.as_bytes()).map_err(fail)
}
