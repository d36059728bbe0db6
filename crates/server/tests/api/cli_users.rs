//! `latchkey users …`: import from JSON lines and CSV with Okta's hash shapes (idempotent,
//! resumable, re-hashed at the first sign-in), and the admin commands against a running server.
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::both_backends;
use crate::helpers::{latchkey, spawn_app, TempDir, TestApp};

both_backends!(imported_users_sign_in_with_their_old_passwords_and_are_rehashed, the_admin_commands_manage_a_user);

const SHA_PASSWORD: &str = "an imported passphrase from sha";
const BCRYPT_PASSWORD: &str = "an imported passphrase from bcrypt";
const PLAIN_PASSWORD: &str = "a plain imported passphrase";
const MD5_PASSWORD: &str = "an imported passphrase from md5";

fn scratch() -> TempDir {
    let dir = TempDir(std::env::temp_dir().join(format!("latchkey-import-{}", latchkey_domain::secret::okta_style_id(""))));
    std::fs::create_dir_all(&dir.0).expect("dir");
    dir
}

fn user_line(login: &str, password: serde_json::Value) -> String {
    json!({"id": "00uexported", "status": "ACTIVE", "profile": {"login": login, "email": login, "firstName": "Imported", "mobilePhone": "555"}, "credentials": {"password": password}})
        .to_string()
}

async fn stored_hash(app: &TestApp, login: &str) -> String {
    let record = app.state.store.user_for_identifier(login).await.expect("look-up").expect("imported");
    record.password_hash.expect("a hash")
}

async fn imported_users_sign_in_with_their_old_passwords_and_are_rehashed(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let dir = scratch();
    let salt = b"per-user salt";
    let sha = Sha256::digest([salt.as_slice(), SHA_PASSWORD.as_bytes()].concat());
    let bcrypt_full = bcrypt::hash(BCRYPT_PASSWORD, 4).expect("bcrypt");
    let bcrypt_salt = bcrypt_full.parse::<bcrypt::HashParts>().expect("parts").get_salt();
    let lines = [
        user_line(
            "sha@example.com",
            json!({"hash": {"algorithm": "SHA-256", "salt": STANDARD.encode(salt), "saltOrder": "PREFIX", "value": STANDARD.encode(sha)}}),
        ),
        user_line(
            "bcrypt@example.com",
            json!({"hash": {"algorithm": "BCRYPT", "workFactor": 4, "salt": bcrypt_salt, "value": &bcrypt_full[bcrypt_full.len() - 31..]}}),
        ),
        "{not json".to_owned(),
        user_line("plain@example.com", json!({"value": PLAIN_PASSWORD})),
    ];
    let file = dir.0.join("users.jsonl");
    std::fs::write(&file, lines.join("\n")).expect("write");
    let path = file.to_str().expect("utf-8 path");

    let (ok, out, err) = latchkey(&app, &["users", "import", path, "--batch-size", "2"], None).await;
    assert!(!ok, "a refused record fails the command");
    assert!(out.contains("imported 3 users (0 already present, 1 refused)"), "{out}");
    assert!(err.contains("record 3:"), "the refused record is named: {err}");
    let (_, out, _) = latchkey(&app, &["users", "import", path], None).await;
    assert!(out.contains("imported 0 users (3 already present, 1 refused)"), "idempotent: {out}");

    assert!(stored_hash(&app, "sha@example.com").await.starts_with("$okta-sha256$prefix$"));
    assert_eq!(app.sign_in("sha@example.com", "not the imported passphrase").await.0, 401);
    assert_eq!(app.sign_in("bcrypt@example.com", "not the imported passphrase").await.0, 401);
    for (login, password) in
        [("sha@example.com", SHA_PASSWORD), ("bcrypt@example.com", BCRYPT_PASSWORD), ("plain@example.com", PLAIN_PASSWORD)]
    {
        assert_eq!(app.sign_in(login, password).await.0, 200, "{login}");
        assert!(stored_hash(&app, login).await.starts_with("$argon2id$"), "{login} is rehashed at sign-in");
        assert_eq!(app.sign_in(login, password).await.0, 200, "{login} after the rehash");
    }

    // CSV, resumed after its first two records: only the third is read.
    let md5 = md5_hex_b64(MD5_PASSWORD);
    let csv = format!(
        "login,email,firstName,password,hash.algorithm,hash.value\nskipped1@example.com,,,,MD5,{md5}\nskipped2@example.com,,,,MD5,{md5}\nmd5@example.com,,Csv,,MD5,{md5}\n"
    );
    let file = dir.0.join("users.csv");
    std::fs::write(&file, csv).expect("write");
    std::fs::write(dir.0.join("users.csv.progress"), "2").expect("progress");
    let (ok, out, err) = latchkey(&app, &["users", "import", file.to_str().expect("path")], None).await;
    assert!(ok, "{out} {err}");
    assert!(out.contains("imported 1 users"), "{out}");
    assert!(app.state.store.user_for_identifier("skipped1@example.com").await.expect("look-up").is_none());
    assert!(!dir.0.join("users.csv.progress").exists(), "a finished import forgets its progress");
    assert_eq!(app.sign_in("md5@example.com", MD5_PASSWORD).await.0, 200);
}

fn md5_hex_b64(password: &str) -> String {
    use md5::Digest as _;
    STANDARD.encode(md5::Md5::digest(password.as_bytes()))
}

async fn the_admin_commands_manage_a_user(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let (ok, out, err) =
        latchkey(&app, &["users", "create", "--login", "cli@example.com", "--first-name", "Cli", "--password-stdin"], Some(PLAIN_PASSWORD))
            .await;
    assert!(ok, "{err}");
    assert!(out.contains("\"ACTIVE\""), "{out}");
    assert_eq!(app.sign_in("cli@example.com", PLAIN_PASSWORD).await.0, 200);

    let (ok, out, _) = latchkey(&app, &["users", "list", "--query", "cli"], None).await;
    assert!(ok && out.contains("cli@example.com"), "{out}");
    let (ok, out, _) = latchkey(&app, &["users", "get", "cli@example.com"], None).await;
    assert!(ok && out.contains("\"firstName\": \"Cli\""), "{out}");

    assert!(latchkey(&app, &["users", "suspend", "cli@example.com"], None).await.0);
    assert_eq!(app.sign_in("cli@example.com", PLAIN_PASSWORD).await.0, 401, "suspended");
    assert!(latchkey(&app, &["users", "unsuspend", "cli@example.com"], None).await.0);
    assert_eq!(app.sign_in("cli@example.com", PLAIN_PASSWORD).await.0, 200, "unsuspended");

    let (ok, out, err) = latchkey(&app, &["users", "reset-password", "cli@example.com", "--no-email"], None).await;
    assert!(ok, "{err}");
    assert!(out.trim().starts_with(&format!("{}/signin/set-password?token=", app.base)), "{out}");

    assert!(latchkey(&app, &["users", "delete", "cli@example.com"], None).await.0);
    let (ok, _, err) = latchkey(&app, &["users", "get", "cli@example.com"], None).await;
    assert!(!ok && err.contains("404"), "{err}");
}
