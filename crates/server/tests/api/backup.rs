//! `latchkey backup` while the server is under load, `latchkey restore` with the server
//! stopped: the restored database signs in with the password it held, every session and
//! refresh token ends, and a master key that cannot open the backup's keys is refused.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::json;

use crate::helpers::{latchkey, run_latchkey, spawn_app, TempDir, PASSWORD};

const LATER_PASSWORD: &str = "a password set after the backup";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_load_restores_and_signs_in() {
    let app = Arc::new(spawn_app(latchkey_store::testing::Backend::Sqlite).await);
    let user = app.create_user("backup@example.com").await;
    let user_id = latchkey_domain::UserId::from_trusted(user["id"].as_str().expect("id").to_owned());
    let now = app.state.store.now().await.expect("now");
    app.state
        .store
        .create_session(
            "session-before-backup",
            &user_id,
            (now, latchkey_domain::session::AuthMethods::Password),
            latchkey_domain::session::SessionPolicy::default().new_session(now),
            None,
            now,
        )
        .await
        .expect("session");
    let dir = TempDir(std::env::temp_dir().join(format!("latchkey-backup-{}", latchkey_domain::secret::okta_style_id(""))));
    std::fs::create_dir_all(&dir.0).expect("dir");
    let file = dir.0.join("latchkey-backup.db");

    // Load: sign-ins and new users while the backup runs.
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..3)
        .map(|n| {
            let (app, stop) = (app.clone(), stop.clone());
            tokio::spawn(async move {
                let mut rounds = 0;
                while !stop.load(Ordering::SeqCst) || rounds == 0 {
                    assert_eq!(app.sign_in("backup@example.com", PASSWORD).await.0, 200);
                    app.create_user(&format!("load-{n}-{rounds}@example.com")).await;
                    rounds += 1;
                }
                rounds
            })
        })
        .collect();
    let (ok, out, err) = latchkey(&app, &["backup", file.to_str().expect("path")], None).await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        assert!(task.await.expect("load task") >= 1);
    }
    assert!(ok, "{out} {err}");
    assert!(out.contains("useless without the master key"), "{out}");

    // After the backup: a new password.
    let response = app
        .admin_post(
            &format!("/api/v1/users/{}", user_id.as_str()),
            json!({"profile": {}, "credentials": {"password": {"value": LATER_PASSWORD}}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.sign_in("backup@example.com", PASSWORD).await.0, 401);

    // A master key that did not seal the backup's keys: refused, nothing changed.
    let wrong_key = dir.0.join("wrong.key");
    std::fs::write(&wrong_key, [7u8; 32]).expect("key");
    let (base, settings) = (app.base.clone(), app.state.settings.clone());
    let backup = file.to_str().expect("path").to_owned();
    let (ok, _, err) = run_latchkey(
        base.clone(),
        settings.clone(),
        &["restore", &backup],
        None,
        &[("LATCHKEY_MASTER_KEY_FILE", wrong_key.to_str().expect("path"))],
    )
    .await;
    assert!(!ok && err.contains("master key"), "{err}");
    assert_eq!(app.sign_in("backup@example.com", LATER_PASSWORD).await.0, 200, "the live database is untouched");

    let app = Arc::into_inner(app).expect("the load tasks are done");
    let restored = std::sync::Mutex::new(None);
    let app = app
        .restart_after(async {
            *restored.lock().expect("lock") = Some(run_latchkey(base, settings, &["restore", &backup], None, &[]).await);
        })
        .await;
    let (ok, out, err) = restored.into_inner().expect("lock").expect("restore ran");
    assert!(ok, "{out} {err}");
    assert!(out.contains("1 sessions"), "{out}");
    assert!(out.contains("useless without the master key"), "{out}");

    let (status, body) = app.sign_in("backup@example.com", PASSWORD).await;
    assert_eq!(status, 200, "the backup's password: {body}");
    let (status, body) = app.sign_in("backup@example.com", LATER_PASSWORD).await;
    assert_eq!(status, 401, "the password set after the backup: {body}");
    let now = app.state.store.now().await.expect("now");
    assert!(app.state.store.touch_session("session-before-backup", now + 3_600_000, now).await.expect("touch").is_none(), "sessions ended");
    let logged: serde_json::Value =
        app.admin_get("/api/v1/logs?filter=eventType%20eq%20%22system.backup.restore%22").await.json().await.expect("json");
    assert_eq!(logged.as_array().map(Vec::len), Some(1), "the restore is in the System Log: {logged}");
}
