//! What the server writes to disk is readable by its owner only (finding 11b): the data
//! directory, the SQLite database with its `-wal` and `-shm` files, and the dev mailbox.
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::both_backends;
use crate::helpers::spawn_app_with;

both_backends!(the_data_directory_database_and_mailbox_are_owner_only);

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

async fn the_data_directory_database_and_mailbox_are_owner_only(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| {
        // A directory the server creates itself, with the default SQLite file inside it.
        s.server.data_dir = s.server.data_dir.join("created-by-the-server");
        if backend == latchkey_store::testing::Backend::Sqlite {
            s.database.url = None;
        }
        s.dev = true;
        s.smtp.url = None;
    })
    .await;
    let data_dir = app.state.settings.server.data_dir.clone();
    app.create_user_with(json!({"profile": {"login": "modes@example.com", "email": "modes@example.com"}})).await;
    let mailbox = data_dir.join("mailbox");
    let mut messages = Vec::new();
    for _ in 0..150 {
        messages = std::fs::read_dir(&mailbox)
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "eml")).collect())
            .unwrap_or_default();
        if !messages.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!messages.is_empty(), "the activation email reaches the mailbox");

    assert_eq!(mode(&data_dir), 0o700, "the data directory");
    assert_eq!(mode(&mailbox), 0o700, "the mailbox directory");
    for message in &messages {
        assert_eq!(mode(message), 0o600, "{}", message.display());
    }
    if backend == latchkey_store::testing::Backend::Sqlite {
        for name in ["latchkey.db", "latchkey.db-wal", "latchkey.db-shm"] {
            assert_eq!(mode(&data_dir.join(name)), 0o600, "{name}");
        }
    }
}
