//! Delivery visibility: the outbox through the admin API, and resend of unsent messages.
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app, ADMIN_TOKEN};

both_backends!(messages_are_listed_without_payload_and_failed_ones_can_be_resent);

async fn messages_are_listed_without_payload_and_failed_ones_can_be_resent(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.sink.set_behavior(latchkey_mail_sink::Behavior { reject_recipients_matching: Some("bounce".to_owned()), ..Default::default() });
    app.create_user_with(json!({"profile": {"login": "bounce@example.com", "email": "bounce@example.com"}})).await;
    app.create_user_with(json!({"profile": {"login": "fine@example.com", "email": "fine@example.com"}})).await;
    app.wait_for_mail("fine@example.com", 1).await;

    // Generous: under a loaded machine the worker's round may come late.
    let mut failed: Vec<Value> = Vec::new();
    for _ in 0..300 {
        failed = app.admin_get("/api/v1/mail/messages?status=failed").await.json().await.expect("json");
        if !failed.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let all: Value = app.admin_get("/api/v1/mail/messages").await.json().await.expect("json");
    assert_eq!(failed.len(), 1, "the permanent rejection is recorded: {all}");
    let message = &failed[0];
    assert_eq!(message["kind"], "UserActivation");
    assert_eq!(message["recipient"], "b***@example.com", "masked");
    assert!(message["lastError"].as_str().expect("lastError").contains("550"));
    assert!(message.get("payload").is_none() && !message.to_string().contains("token="), "never the payload");
    let sent: Vec<Value> = app.admin_get("/api/v1/mail/messages?status=sent&limit=10").await.json().await.expect("json");
    assert_eq!(sent.len(), 1);
    assert!(sent[0]["sent"].is_string());
    assert_eq!(app.admin_get("/api/v1/mail/messages?status=lost").await.status(), 400);

    let resend = |id: String| {
        let app = &app;
        async move {
            app.http
                .post(format!("{}/api/v1/mail/messages/{id}/resend", app.base))
                .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
                .send()
                .await
                .expect("request")
                .status()
                .as_u16()
        }
    };
    assert_eq!(resend(sent[0]["id"].as_str().expect("id").to_owned()).await, 409, "a sent message is not resent");
    assert_eq!(resend("obxNoSuchMessage0000".to_owned()).await, 404);
    app.sink.set_behavior(latchkey_mail_sink::Behavior::default());
    assert_eq!(resend(message["id"].as_str().expect("id").to_owned()).await, 200);
    let mail = app.wait_for_mail("bounce@example.com", 1).await;
    assert_eq!(mail.len(), 1, "delivered after the resend");
}

/// The end-of-test check of `both_backends!` can fail a test whose own assertions all passed:
/// an email that failed for good and that the test never declared (`expect_mail_failures`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[should_panic(expected = "an email was failed that the test did not expect to fail: UserActivation")]
async fn the_end_of_test_check_fails_a_test_that_left_an_undeclared_failed_email() {
    latchkey_store::testing::with_end_check(async {
        let app = spawn_app(latchkey_store::testing::Backend::Sqlite).await;
        app.sink.set_behavior(latchkey_mail_sink::Behavior { reject_recipients_matching: Some("bounce".to_owned()), ..Default::default() });
        app.create_user_with(json!({"profile": {"login": "bounce@example.com", "email": "bounce@example.com"}})).await;
        app.drain_outbox().await;
    })
    .await;
}

/// The same test passes once it says it breaks delivery on purpose.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_declared_mail_failure_passes_the_end_of_test_check() {
    latchkey_store::testing::with_end_check(async {
        let app = spawn_app(latchkey_store::testing::Backend::Sqlite).await;
        app.expect_mail_failures();
        app.sink.set_behavior(latchkey_mail_sink::Behavior { reject_recipients_matching: Some("bounce".to_owned()), ..Default::default() });
        app.create_user_with(json!({"profile": {"login": "bounce@example.com", "email": "bounce@example.com"}})).await;
        app.drain_outbox().await;
    })
    .await;
}

mod dkim {
    use crate::both_backends;
    use crate::helpers::spawn_app_with;

    both_backends!(messages_are_dkim_signed_when_a_key_is_configured);

    async fn messages_are_dkim_signed_when_a_key_is_configured(backend: latchkey_store::testing::Backend) {
        let key_file = std::env::temp_dir().join(format!("latchkey-dkim-{}.key", latchkey_domain::secret::okta_style_id("")));
        // An Ed25519 seed (RFC 8463), base64.
        std::fs::write(&key_file, "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=").expect("key");
        let file = key_file.clone();
        let app = spawn_app_with(backend, move |s| {
            s.smtp.dkim_key_file = Some(file);
            s.smtp.dkim_selector = Some("lk2026".to_owned());
            s.smtp.dkim_domain = Some("latchkey.test".to_owned());
        })
        .await;
        app.create_user_with(serde_json::json!({"profile": {"login": "signed@example.com", "email": "signed@example.com"}})).await;
        let mail = app.wait_for_mail("signed@example.com", 1).await.remove(0);
        let _ = std::fs::remove_file(&key_file);
        let header = mail.raw.lines().find(|l| l.starts_with("DKIM-Signature:")).expect("a DKIM-Signature header");
        assert!(mail.raw.contains("d=latchkey.test") && mail.raw.contains("s=lk2026"), "{header}");
        assert!(mail.raw.contains("a=ed25519-sha256"), "{header}");
    }
}
