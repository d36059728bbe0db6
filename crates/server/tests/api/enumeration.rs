//! An unknown identifier must be indistinguishable from a real one (security-checklist REC-1,
//! REC-7) and get no email; the mail limit counts it too.
use serde_json::json;

use crate::both_backends;
use crate::helpers::{email_authenticator_id, normalize, spawn_app, spawn_app_with, PASSWORD};

both_backends!(
    unknown_and_suspended_identifiers_get_identical_bodies_and_no_email,
    the_mail_limit_applies_to_real_and_unknown_identifiers_alike,
    codes_for_unknown_identifiers_are_always_refused,
    locked_out_and_staged_identifiers_answer_like_unknown_ones_headers_and_cookies_too,
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

/// recover → identify → challenge from a browser on our own origin, as the hosted widget
/// calls it: each step's status, headers (those that legitimately vary removed) and
/// normalised body.
async fn recovery_exchanges(app: &crate::helpers::TestApp, identifier: &str) -> Vec<String> {
    let flow = app.interact("same-state").await;
    let mut seen = Vec::new();
    let mut authenticator = String::new();
    for (path, body) in [("recover", json!({})), ("identify", json!({"identifier": identifier})), ("challenge", json!({}))] {
        let mut body = if path == "challenge" { json!({"authenticator": {"id": authenticator, "methodType": "email"}}) } else { body };
        body["stateHandle"] = json!(flow.state_handle);
        let response = app
            .http
            .post(format!("{}/idp/idx/{path}", app.base))
            .header("Content-Type", "application/ion+json; okta-version=1.0.0")
            .header("Origin", &app.base)
            .json(&body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let mut headers: Vec<String> = response
            .headers()
            .iter()
            .filter(|(name, _)| !["date", "x-request-id"].contains(&name.as_str()))
            .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap_or("<binary>").replace(&flow.state_handle, "<SH>")))
            .collect();
        headers.sort();
        let body: serde_json::Value = response.json().await.expect("json");
        if path == "identify" {
            authenticator = email_authenticator_id(&body);
        }
        seen.push(format!("{path} {status}\n{}\n{}", headers.join("\n"), normalize(&body, &flow)));
    }
    seen
}

/// REC-1 for the remaining states: a LOCKED_OUT account (which may still recover) and a
/// not-yet-activated one get exactly the unknown identifier's statuses, headers (cookies
/// included) and bodies at recover, identify and challenge. Only the real and the locked
/// account are mailed.
async fn locked_out_and_staged_identifiers_answer_like_unknown_ones_headers_and_cookies_too(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| s.signin.lockout_after = 3).await;
    app.create_user("active@example.com").await;
    let locked = app.create_user("locked@example.com").await;
    for _ in 0..3 {
        assert_eq!(app.sign_in("locked@example.com", "not the password at all, no").await.0, 401);
    }
    let response = app.admin_get(&format!("/api/v1/users/{}", locked["id"].as_str().expect("id"))).await;
    assert_eq!(response.json::<serde_json::Value>().await.expect("json")["status"], "LOCKED_OUT");
    let response = app
        .admin_post(
            "/api/v1/users?activate=false",
            json!({"profile": {"login": "staged@example.com", "email": "staged@example.com", "firstName": "S", "lastName": "T"},
                   "credentials": {"password": {"value": PASSWORD}}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.expect("json")["status"], "STAGED");

    let unknown = recovery_exchanges(&app, "nobody-at-all@example.com").await;
    assert!(!unknown.concat().to_lowercase().contains("set-cookie"), "no cookie for anybody: {unknown:#?}");
    for identifier in ["active@example.com", "locked@example.com", "staged@example.com"] {
        let seen = recovery_exchanges(&app, identifier).await;
        assert_eq!(seen, unknown, "{identifier} answers like an unknown identifier");
    }
    app.drain_outbox().await;
    let mut recipients: Vec<String> = app.sink.messages().into_iter().flat_map(|m| m.rcpt_to).collect();
    recipients.sort();
    assert_eq!(recipients, ["active@example.com", "locked@example.com"], "a locked account recovers; a staged one is not mailed");
}
