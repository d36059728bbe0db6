//! The System Log (`GET /api/v1/logs`): every step of a recovery is recorded with its outcome,
//! in order, in Okta's LogEvent shape, filtered and paged the way Okta's clients ask; secrets
//! never appear in it.
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{interaction_code, remediation_names, spawn_app, spawn_app_with, TestApp, PASSWORD};

const NEW_PASSWORD: &str = "a brand new passphrase for winter";

both_backends!(
    a_recovery_is_logged_step_by_step_and_secrets_stay_out,
    failures_locks_and_unknown_identifiers_are_logged_for_the_administrator,
    pages_follow_the_next_link_without_gaps_or_repeats,
    unsupported_queries_are_refused_in_oktas_error_shape,
);

async fn logs(app: &TestApp, query: &str) -> (Vec<Value>, Vec<String>) {
    let response = app.admin_get(&format!("/api/v1/logs{query}")).await;
    assert_eq!(response.status(), 200, "GET /api/v1/logs{query}");
    let links = response.headers().get_all("link").iter().map(|v| v.to_str().expect("ascii").to_owned()).collect();
    (response.json().await.expect("json"), links)
}

fn types_and_outcomes(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| (e["eventType"].as_str().unwrap_or_default().to_owned(), e["outcome"]["result"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

fn pair(event_type: &str, result: &str) -> (String, String) {
    (event_type.to_owned(), result.to_owned())
}

async fn a_recovery_is_logged_step_by_step_and_secrets_stay_out(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("logged@example.com").await;
    let user_id = user["id"].as_str().expect("id").to_owned();
    let (flow, _) = app.start_recovery("logged@example.com", "log-state").await;
    let code = app.code_from_mail("logged@example.com", 1).await;
    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    let wrong = &wrong[..code.len()];
    let (status, _) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": wrong}})).await;
    assert_eq!(status, 401);
    let (status, reset) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(remediation_names(&reset), ["reset-authenticator"], "{status} {reset}");
    let (status, done) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": NEW_PASSWORD}})).await;
    assert_eq!(status, 200, "{done}");
    let (status, tokens) = app.exchange(&interaction_code(&done)).await;
    assert_eq!(status, 200, "{tokens}");
    app.drain_outbox().await;

    let (events, _) = logs(&app, &format!("?filter={}", urlencode(&format!("target.id eq \"{user_id}\"")))).await;
    let seen = types_and_outcomes(&events);
    assert_eq!(
        seen,
        [
            pair("user.lifecycle.create", "SUCCESS"),
            pair("user.account.reset_password", "SUCCESS"),
            pair("app.oauth2.as.token.grant", "SUCCESS")
        ],
        "events about the account, in order"
    );
    let (events, _) = logs(&app, &format!("?filter={}", urlencode(r#"actor.id eq "latchkey""#))).await;
    assert!(
        types_and_outcomes(&events).iter().filter(|p| **p == pair("system.email.delivery", "SUCCESS")).count() >= 2,
        "the code email and the PasswordChanged notice were delivered: {events:#?}"
    );

    let (all, _) = logs(&app, &format!("?q={}", urlencode("logged@example.com"))).await;
    let recovery: Vec<_> = types_and_outcomes(&all)
        .into_iter()
        .filter(|(t, _)| t.starts_with("system.email.password_reset") || t.starts_with("user.authentication"))
        .collect();
    assert_eq!(
        recovery,
        [
            pair("system.email.password_reset.sent_message", "SUCCESS"),
            pair("user.authentication.auth_via_mfa", "FAILURE"),
            pair("user.authentication.auth_via_mfa", "SUCCESS"),
        ]
    );
    let request = all.iter().find(|e| e["eventType"] == "system.email.password_reset.sent_message").expect("the request");
    assert_eq!(request["actor"]["id"], user_id.as_str());
    assert_eq!(request["actor"]["alternateId"], "logged@example.com");
    assert_eq!(request["client"]["ipAddress"], "127.0.0.1");
    assert!(request["transaction"]["id"].as_str().is_some_and(|id| !id.is_empty()), "the request id: {request}");
    assert_eq!(request["debugContext"]["debugData"]["factor"], "EMAIL");
    assert!(request["published"].as_str().is_some_and(|p| p.ends_with('Z') && p.contains('T')));

    let everything = app.admin_get("/api/v1/logs?limit=1000").await.text().await.expect("body");
    for secret in [code.as_str(), NEW_PASSWORD, PASSWORD, tokens["access_token"].as_str().expect("token")] {
        assert!(!everything.contains(secret), "a secret is in the System Log");
    }
}

async fn failures_locks_and_unknown_identifiers_are_logged_for_the_administrator(backend: latchkey_store::testing::Backend) {
    let lockout_after = 3;
    let app = spawn_app_with(backend, |s| s.signin.lockout_after = lockout_after).await;
    let user = app.create_user("locked@example.com").await;
    for _ in 0..lockout_after {
        let (status, _) = app.sign_in("locked@example.com", "not the password at all").await;
        assert!(status == 401 || status == 429, "{status}");
        app.advance_clock(std::time::Duration::from_secs(3600)).await;
    }
    app.start_recovery("nobody@example.com", "unknown-state").await;

    let (events, _) = logs(&app, &format!("?filter={}", urlencode(r#"eventType eq "user.account.lock""#))).await;
    assert_eq!(events.len(), 1, "one lock: {events:#?}");
    assert_eq!(events[0]["target"][0]["id"], user["id"]);
    assert_eq!(events[0]["severity"], "WARN");
    let (events, _) = logs(&app, &format!("?filter={}", urlencode(r#"eventType eq "user.session.start""#))).await;
    assert!(events.iter().all(|e| e["outcome"]["result"] == "FAILURE" && e["outcome"]["reason"] == "INVALID_CREDENTIALS"));
    assert!(!events.is_empty());

    let (events, _) = logs(&app, &format!("?q={}", urlencode("nobody@example.com"))).await;
    let request = events.iter().find(|e| e["eventType"] == "system.email.password_reset.sent_message").expect("logged");
    assert_eq!(request["actor"]["id"], Value::Null, "no account behind it");
    assert_eq!(request["outcome"]["result"], "FAILURE");
    assert_eq!(request["outcome"]["reason"], "NO_RECOVERABLE_ACCOUNT");
}

async fn pages_follow_the_next_link_without_gaps_or_repeats(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    for i in 0..5 {
        app.create_user(&format!("page{i}@example.com")).await;
    }
    let filter = urlencode(r#"eventType eq "user.lifecycle.create""#);
    let (all, _) = logs(&app, &format!("?filter={filter}")).await;
    assert_eq!(all.len(), 5);
    for order in ["ASCENDING", "DESCENDING"] {
        let mut collected = vec![];
        let mut next = Some(format!("{}/api/v1/logs?filter={filter}&limit=2&sortOrder={order}", app.base));
        let mut pages = 0;
        while let Some(url) = next.take() {
            let path = url.strip_prefix(&app.base).expect("the server's own origin").to_owned();
            let (events, links) = logs(&app, path.strip_prefix("/api/v1/logs").expect("the logs path")).await;
            assert!(links.iter().any(|l| l.ends_with("rel=\"self\"")));
            collected.extend(events.iter().map(|e| e["uuid"].as_str().expect("uuid").to_owned()));
            next = links
                .iter()
                .find(|l| l.ends_with("rel=\"next\""))
                .map(|l| l.trim_start_matches('<').split('>').next().expect("url").to_owned());
            pages += 1;
            assert!(pages < 10, "paging ends");
        }
        let mut expected: Vec<String> = all.iter().map(|e| e["uuid"].as_str().expect("uuid").to_owned()).collect();
        if order == "DESCENDING" {
            expected.reverse();
        }
        assert_eq!(collected, expected, "{order}: every event once, in order");
    }
}

async fn unsupported_queries_are_refused_in_oktas_error_shape(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    for query in [
        format!("?filter={}", urlencode(r#"eventType co "user""#)),
        "?limit=0".to_owned(),
        "?limit=1001".to_owned(),
        "?since=yesterday".to_owned(),
        "?sortOrder=sideways".to_owned(),
        "?after=garbage".to_owned(),
    ] {
        let response = app.admin_get(&format!("/api/v1/logs{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["errorCode"], "E0000001", "{query}: {body}");
    }
    let response = app.http.get(format!("{}/api/v1/logs", app.base)).send().await.expect("request");
    assert_eq!(response.status(), 401, "the log is for administrators");
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
