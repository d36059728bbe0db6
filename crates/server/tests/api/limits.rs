//! Limits that must hold under parallel load and must not tell identifiers apart
//! (security-checklist RL-1, RL-3, REC-7; findings 6 and 7).
use std::sync::Arc;

use serde_json::json;

use crate::both_backends;
use crate::helpers::{spawn_app_with, ADMIN_TOKEN, PASSWORD, PUBLIC_CLIENT, REDIRECT_URI, VERIFIER};

both_backends!(
    two_identifiers_of_one_account_throttle_like_two_unknown_ones,
    parallel_wrong_sign_ins_from_one_address_are_evaluated_at_most_the_limit,
    the_token_endpoint_limits_failures_per_address,
    the_admin_api_limits_wrong_tokens_per_address,
    recovery_starts_from_one_address_stop_at_the_hourly_budget_with_429,
);

/// Finding 6: five wrong passwords through the login, then one through the email. A real
/// account whose login and email differ answers exactly as a pair of unknown identifiers does.
async fn two_identifiers_of_one_account_throttle_like_two_unknown_ones(backend: latchkey_store::testing::Backend) {
    // A long first delay, so the back-off is still on when the last attempt arrives.
    let app = spawn_app_with(backend, |s| s.signin.first_delay_secs = 600).await;
    app.create_user_with(json!({
        "profile": {"login": "kim.login@example.com", "email": "kim.mail@example.com", "firstName": "Kim", "lastName": "Doe"},
        "credentials": {"password": {"value": PASSWORD}}
    }))
    .await;
    let mut outcomes = Vec::new();
    for (first, second) in [("kim.login@example.com", "kim.mail@example.com"), ("ghost.login@example.com", "ghost.mail@example.com")] {
        let mut statuses = Vec::new();
        for _ in 0..5 {
            statuses.push(app.sign_in(first, "a wrong passphrase for this account").await.0);
        }
        statuses.push(app.sign_in(second, "a wrong passphrase for this account").await.0);
        statuses.push(app.sign_in(first, "a wrong passphrase for this account").await.0);
        outcomes.push(statuses);
    }
    assert_eq!(outcomes[0], outcomes[1], "a real account's two identifiers look like two unknown ones");
    assert_eq!(outcomes[0], [401, 401, 401, 401, 401, 401, 429], "the second identifier has its own counter; the first backs off");
}

/// Finding 7: 60 parallel wrong sign-ins from one address against a limit of 20: exactly 20 are
/// evaluated (401), every other one is refused before any password work (429).
async fn parallel_wrong_sign_ins_from_one_address_are_evaluated_at_most_the_limit(backend: latchkey_store::testing::Backend) {
    let app = Arc::new(spawn_app_with(backend, |s| s.signin.per_ip_failures_per_hour = 20).await);
    let mut flows = Vec::new();
    for i in 0..60 {
        flows.push(app.interact(&format!("burst-{i}")).await);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(flows.len()));
    let tasks = flows.into_iter().enumerate().map(|(i, flow)| {
        let (app, barrier) = (app.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            let body = json!({"identifier": format!("burst{i}@example.com"), "credentials": {"passcode": "not the password at all"}});
            app.step(&flow, "identify", body).await.0
        })
    });
    let statuses: Vec<u16> = futures::future::join_all(tasks).await.into_iter().map(|r| r.expect("join")).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 20, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 40, "{statuses:?}");
}

/// RL-3 on the token endpoint: refused token requests from one address stop at the limit, with
/// 429 and Retry-After in OAuth's error shape.
async fn the_token_endpoint_limits_failures_per_address(backend: latchkey_store::testing::Backend) {
    let app = Arc::new(spawn_app_with(backend, |s| s.tokens.per_ip_failures_per_hour = 10).await);
    let barrier = Arc::new(tokio::sync::Barrier::new(25));
    let tasks = (0..25).map(|i| {
        let (app, barrier) = (app.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            let code = format!("guessed-interaction-code-{i}");
            let response = app
                .http
                .post(format!("{}/v1/token", app.issuer()))
                .form(&[
                    ("grant_type", "interaction_code"),
                    ("client_id", PUBLIC_CLIENT),
                    ("interaction_code", &code),
                    ("code_verifier", VERIFIER),
                    ("redirect_uri", REDIRECT_URI),
                ])
                .send()
                .await
                .expect("request");
            let retry_after = response.headers().get("retry-after").is_some();
            let body: serde_json::Value = response.json().await.expect("json");
            (body["error"].as_str().unwrap_or_default().to_owned(), retry_after)
        })
    });
    let outcomes: Vec<(String, bool)> = futures::future::join_all(tasks).await.into_iter().map(|r| r.expect("join")).collect();
    assert_eq!(outcomes.iter().filter(|(e, _)| e == "invalid_grant").count(), 10, "{outcomes:?}");
    assert!(outcomes.iter().filter(|(e, _)| e == "temporarily_unavailable").all(|(_, retry)| *retry), "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|(e, _)| e == "temporarily_unavailable").count(), 15, "{outcomes:?}");
}

/// RL-3 on the admin API: wrong tokens from one address stop at the limit with Okta's 429.
async fn the_admin_api_limits_wrong_tokens_per_address(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| s.admin.per_ip_failures_per_hour = 5).await;
    // The right token costs nothing from the budget.
    for _ in 0..10 {
        assert_eq!(app.admin_get("/api/v1/users").await.status(), 200);
    }
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let response = app.http.get(format!("{}/api/v1/users", app.base)).header("Authorization", "SSWS a-wrong-token").send().await;
        statuses.push(response.expect("request").status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429]);
    let response = app.http.get(format!("{}/api/v1/users", app.base)).header("Authorization", format!("SSWS {ADMIN_TOKEN}x")).send().await;
    let response = response.expect("request");
    assert_eq!(response.status(), 429);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["errorCode"], "E0000047");
}

/// REC-7 / RL-1: recovery starts from one address stop at `recovery.per_ip_per_hour` with IDX's
/// 429 and Retry-After, whatever the identifier (real and unknown alternate), and the refused
/// start queues no email.
async fn recovery_starts_from_one_address_stop_at_the_hourly_budget_with_429(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| s.recovery.per_ip_per_hour = 4).await;
    app.create_user("budget@example.com").await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let identifier = if i % 2 == 0 { "budget@example.com" } else { "nobody-budget@example.com" };
        let flow = app.interact("s").await;
        let (status, body) = app.step(&flow, "recover", json!({})).await;
        assert_eq!(status, 200, "recover: {body}");
        let response = app
            .http
            .post(format!("{}/idp/idx/identify", app.base))
            .header("Content-Type", "application/ion+json; okta-version=1.0.0")
            .json(&json!({"identifier": identifier, "stateHandle": flow.state_handle}))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").is_some();
        let body: serde_json::Value = response.json().await.expect("json");
        if status == 429 {
            assert!(retry_after, "429 says when to come back");
            assert!(body["messages"]["value"][0]["message"].is_string(), "IDX's error shape: {body}");
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429, 429]);
    app.drain_outbox().await;
    let queued = app.state.store.outbox_messages(None, 20).await.expect("outbox");
    assert!(queued.is_empty(), "identifying alone queues nothing; a refused start never reaches the challenge: {queued:?}");
}
