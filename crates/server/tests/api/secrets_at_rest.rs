//! Secrets at rest (security-checklist OTP-2, STO-*, LOG-1): after a whole recovery, no secret
//! the run produced is anywhere in the database — on SQLite the database file and its WAL read
//! as bytes, on PostgreSQL every row of every table read as text.
use serde_json::json;
use sqlx::{Connection, Row};

use crate::both_backends;
use crate::helpers::{interaction_code, remediation_names, spawn_app_with, TestApp};

both_backends!(no_secret_of_a_whole_recovery_is_stored_in_the_clear);

const NEW_PASSWORD: &str = "an unusual passphrase for the at-rest scan";

async fn no_secret_of_a_whole_recovery_is_stored_in_the_clear(backend: latchkey_store::testing::Backend) {
    // Eight digits: a specific eight-digit run appearing by chance in the files is negligible.
    let app = spawn_app_with(backend, |s| s.otp.digits = 8).await;
    let login = "at-rest@example.com";
    app.create_user(login).await;
    let (flow, _) = app.start_recovery(login, "at-rest-state").await;
    let messages = app.wait_for_mail(login, 1).await;
    let text = messages[0].text.clone().unwrap_or_default();
    let code = text.split(|c: char| !c.is_ascii_digit()).find(|run| run.len() == 8).expect("an eight-digit code").to_owned();
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!((status, remediation_names(&body)), (200, vec!["reset-authenticator".to_owned()]), "{body}");
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": NEW_PASSWORD}})).await;
    assert_eq!(status, 200, "{body}");
    let interaction = interaction_code(&body);
    let (status, tokens) = app.exchange(&interaction).await;
    assert_eq!(status, 200, "{tokens}");
    app.drain_outbox().await;

    let mut secrets = vec![
        ("code", code.clone()),
        ("new password", NEW_PASSWORD.to_owned()),
        ("state handle", flow.state_handle.clone()),
        ("interaction handle", flow.interaction_handle.clone()),
        ("interaction code", interaction),
    ];
    for name in ["access_token", "id_token", "refresh_token"] {
        if let Some(token) = tokens[name].as_str() {
            secrets.push((name, token.to_owned()));
        }
    }
    let stored = stored_bytes(&app, backend).await;
    for (name, secret) in &secrets {
        assert!(!contains(&stored, secret.as_bytes()), "the {name} is stored in the clear");
    }
    // The scan itself can see what is stored in the clear.
    assert!(contains(&stored, login.as_bytes()), "the scan reads the database");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Everything the database holds for this deployment, as bytes.
async fn stored_bytes(app: &TestApp, backend: latchkey_store::testing::Backend) -> Vec<u8> {
    let url = app.state.settings.database_url();
    match backend {
        latchkey_store::testing::Backend::Sqlite => {
            let path = url.trim_start_matches("sqlite://").split('?').next().expect("a path").to_owned();
            let mut bytes = Vec::new();
            for suffix in ["", "-wal", "-shm"] {
                if let Ok(mut file) = std::fs::read(format!("{path}{suffix}")) {
                    bytes.append(&mut file);
                }
            }
            assert!(!bytes.is_empty(), "the database files at {path}");
            bytes
        }
        latchkey_store::testing::Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
            let tables: Vec<String> = sqlx::query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                .fetch_all(&mut conn)
                .await
                .expect("tables")
                .iter()
                .map(|r| r.get::<String, _>("tablename"))
                .collect();
            let mut bytes = Vec::new();
            for table in tables {
                let rows = sqlx::query(&format!("SELECT row_to_json(t)::text AS row FROM \"{table}\" t"))
                    .fetch_all(&mut conn)
                    .await
                    .expect("rows");
                for row in rows {
                    bytes.extend_from_slice(row.get::<String, _>("row").as_bytes());
                }
            }
            bytes
        }
    }
}
