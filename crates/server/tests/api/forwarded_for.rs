//! Behind a trusted proxy the client address comes from the proxy's own `X-Forwarded-For` hop,
//! whatever form the proxy writes it in (security-checklist RL-4, finding 8).
use serde_json::json;

use crate::both_backends;
use crate::helpers::{spawn_app_with, TestApp};

both_backends!(a_spoofed_left_most_forwarded_for_does_not_escape_the_per_ip_limit);

/// A failed sign-in sent through the "proxy" (the test client, on loopback) with `forwarded`.
async fn failed_sign_in_via_proxy(app: &TestApp, identifier: &str, forwarded: &str) -> u16 {
    let flow = app.interact("forwarded-state").await;
    let body =
        json!({"stateHandle": flow.state_handle, "identifier": identifier, "credentials": {"passcode": "wrong password for this test"}});
    app.http
        .post(format!("{}/idp/idx/identify", app.base))
        .header("Content-Type", "application/ion+json; okta-version=1.0.0")
        .header("X-Forwarded-For", forwarded)
        .json(&body)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

async fn a_spoofed_left_most_forwarded_for_does_not_escape_the_per_ip_limit(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| {
        s.server.trusted_proxies = vec!["127.0.0.0/8".to_owned()];
        s.signin.per_ip_failures_per_hour = 2;
    })
    .await;
    let mut statuses = Vec::new();
    // The client writes a fresh left-most value each time; the proxy appends the real address
    // with its port, and in both shapes proxies use.
    for (i, hop) in ["203.0.113.9:4711", "203.0.113.9:4712", "203.0.113.9"].iter().enumerate() {
        let forwarded = format!("10.66.{i}.1, {hop}");
        statuses.push(failed_sign_in_via_proxy(&app, &format!("nobody{i}@example.com"), &forwarded).await);
    }
    assert_eq!(statuses, [401, 401, 429], "every request counted against 203.0.113.9");
    let other = failed_sign_in_via_proxy(&app, "nobody-else@example.com", "10.66.0.1, [2001:db8::7]:4711").await;
    assert_eq!(other, 401, "another client behind the same proxy has its own bucket");
}
