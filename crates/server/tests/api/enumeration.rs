//! An unknown identifier must be indistinguishable from a real one (security-checklist REC-1,
//! REC-7) and get no email; the mail limit counts it too.
use serde_json::json;

use crate::both_backends;
use crate::helpers::{email_authenticator_id, normalize, spawn_app, spawn_app_with};

both_backends!(
    unknown_and_suspended_identifiers_get_identical_bodies_and_no_email,
    the_mail_limit_applies_to_real_and_unknown_identifiers_alike,
    codes_for_unknown_identifiers_are_always_refused,
);

/// Runs recover → identify → challenge and returns the three normalised bodies.
async fn recovery_bodies(app: &crate::helpers::TestApp, identifier: &str) -> Vec<String> {
    let flow = app.interact("same-state").await;
    let mut bodies = Vec::new();
    let (_, body) = app.step(&flow, "recover", json!({})).await;
    bodies.push(normalize(&body, &flow));
    let (_, body) = app.step(&flow, "identify", json!({"identifier": identifier})).await;
    bodies.push(normalize(&body, &flow));
    let (status, body) =
        app.step(&flow, "challenge", json!({"authenticator": {"id": email_authenticator_id(&body), "methodType": "email"}})).await;
    bodies.push(format!("{status} {}", normalize(&body, &flow)));
    bodies
}

async fn unknown_and_suspended_identifiers_get_identical_bodies_and_no_email(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("real@example.com").await;
    let suspended = app.create_user("suspended@example.com").await;
    let id = suspended["id"].as_str().expect("id");
    app.admin_post(&format!("/api/v1/users/{id}/lifecycle/suspend"), json!({})).await;

    let real = recovery_bodies(&app, "real@example.com").await;
    let unknown = recovery_bodies(&app, "unknown@example.com").await;
    let susp = recovery_bodies(&app, "suspended@example.com").await;
    assert_eq!(real, unknown);
    assert_eq!(real, susp);
    assert!(!real.concat().contains("real@"), "no identifier or masked email in recovery bodies");

    app.drain_outbox().await;
    let recipients: Vec<String> = app.sink.messages().into_iter().flat_map(|m| m.rcpt_to).collect();
    assert_eq!(recipients, ["real@example.com"], "mail only to the real, active account");
}

async fn the_mail_limit_applies_to_real_and_unknown_identifiers_alike(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| {
        s.recovery.mail_min_gap_secs = 0;
        s.recovery.mail_per_hour = 3;
    })
    .await;
    app.create_user("limited@example.com").await;
    let mut real = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..5 {
        real.push(recovery_bodies(&app, "limited@example.com").await);
        unknown.push(recovery_bodies(&app, "nobody-here@example.com").await);
    }
    assert_eq!(real, unknown, "throttled or not, the answers are identical");
    app.drain_outbox().await;
    assert_eq!(app.sink.messages_to("limited@example.com").len(), 3, "exactly the hourly budget is mailed");
}

async fn codes_for_unknown_identifiers_are_always_refused(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let (flow, _) = app.start_recovery("ghost@example.com", "s").await;
    // The same writes as for a real account: one outbox row, suppressed, without payload.
    let rows = app.state.store.outbox_messages(None, 10).await.expect("outbox");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, latchkey_store::OutboxStatus::Suppressed);
    assert!(rows[0].payload.is_none());
    for code in ["000000", "123456", "999999"] {
        let (status, _) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
        assert_eq!(status, 401);
    }
}
