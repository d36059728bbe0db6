//! `/metrics`: a real recovery through `spawn_app` moves every step of the funnel, and the
//! requests are counted by matched route on the metrics listener, never on the public port.
//!
//! A test binary of its own: the Prometheus recorder is one per process (as it is for a
//! server in production), so exact counts need a process where nothing else runs recoveries.
//! The two backends run one after the other for the same reason.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

use std::collections::BTreeMap;

use latchkey_store::testing::Backend;
use serde_json::json;

use helpers::{interaction_code, spawn_app_with, TestApp};

const USER: &str = "funnel@example.com";
const NEW_PASSWORD: &str = "a brand new passphrase for the funnel";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_recovery_moves_the_funnel_and_requests_are_counted_by_route() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        recovery_moves_the_funnel(backend).await;
        limits_act_before_hashing(backend).await;
    }
}

/// INP-4: an over-long identifier or password is refused before any Argon2 work, which the
/// Argon2 counter shows; a wrong password of ordinary length costs exactly one verification.
async fn limits_act_before_hashing(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    app.create_user("limits@example.com").await;
    let argon2 = |scrape: &Scrape| {
        scrape.value("latchkey_password_argon2_total", &[("operation", "hash")])
            + scrape.value("latchkey_password_argon2_total", &[("operation", "verify")])
    };
    let before = scrape(&app).await;
    let flow = app.interact("limits-state").await;
    for (identifier, password) in [
        ("a".repeat(300), "a wrong passphrase of ordinary length".to_owned()),
        ("limits@example.com".to_owned(), "p".repeat(600)),
        ("nobody@example.com".to_owned(), "p".repeat(600)),
    ] {
        let body = json!({"identifier": identifier, "credentials": {"passcode": password}});
        assert_eq!(app.step(&flow, "identify", body).await.0, 400);
    }
    let refused = scrape(&app).await;
    assert_eq!(argon2(&refused) - argon2(&before), 0.0, "{backend:?}: an over-long input reached Argon2");
    let body = json!({"identifier": "limits@example.com", "credentials": {"passcode": "a wrong passphrase of ordinary length"}});
    assert_eq!(app.step(&flow, "identify", body).await.0, 401);
    let after = scrape(&app).await;
    let verified = |s: &Scrape| s.value("latchkey_password_argon2_total", &[("operation", "verify")]);
    assert_eq!(verified(&after) - verified(&refused), 1.0, "{backend:?}: a wrong password costs one verification");
}

async fn recovery_moves_the_funnel(backend: Backend) {
    // Two recovery starts per address, so the third is throttled.
    let app = spawn_app_with(backend, |s| s.recovery.per_ip_per_hour = 2).await;
    let user = app.create_user(USER).await;
    let before = scrape(&app).await;

    let (flow, _) = app.start_recovery(USER, "funnel-state").await;
    // Inside the mail gap: no second email.
    assert_eq!(app.step(&flow, "challenge/resend", json!({})).await.0, 200);
    let code = app.code_from_mail(USER, 1).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": wrong}})).await.0, 401);
    assert_eq!(app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await.0, 200);
    assert_eq!(app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": "passwordpassword1"}})).await.0, 400);
    let (status, done) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": NEW_PASSWORD}})).await;
    assert_eq!(status, 200, "{done}");
    let (status, tokens) = app.exchange(&interaction_code(&done)).await;
    assert_eq!(status, 200, "{tokens}");
    app.drain_outbox().await;
    // An identifier that names no account: started, but no email.
    app.start_recovery("nobody@example.com", "unknown-state").await;
    // The address's third start this hour.
    let flow = app.interact("throttled-state").await;
    assert_eq!(app.step(&flow, "recover", json!({})).await.0, 200);
    assert_eq!(app.step(&flow, "identify", json!({"identifier": USER})).await.0, 429);
    let user_id = user["id"].as_str().expect("user id");
    assert_eq!(app.admin_get(&format!("/api/v1/users/{user_id}")).await.status(), 200);

    let after = scrape(&app).await;
    let moved = |step: &str, outcome: &str| {
        let labels = [("step", step), ("outcome", outcome)];
        after.value("latchkey_recovery_funnel_total", &labels) - before.value("latchkey_recovery_funnel_total", &labels)
    };
    for (step, outcome, expected) in [
        ("started", "ok", 2.0),
        ("started", "throttled", 1.0),
        ("email_queued", "ok", 1.0),
        ("email_queued", "throttled", 1.0),
        ("email_queued", "failed", 1.0),
        ("delivered", "ok", 1.0),
        ("delivered", "failed", 0.0),
        ("code_verified", "ok", 1.0),
        ("code_verified", "failed", 1.0),
        ("password_reset", "ok", 1.0),
        ("password_reset", "failed", 1.0),
        ("signed_in", "ok", 1.0),
    ] {
        assert_eq!(moved(step, outcome), expected, "{backend:?}: {step} {outcome}");
    }
    assert_eq!(
        after.value("latchkey_email_deliveries_total", &[("kind", "PasswordChanged"), ("outcome", "sent")])
            - before.value("latchkey_email_deliveries_total", &[("kind", "PasswordChanged"), ("outcome", "sent")]),
        1.0,
        "{backend:?}: the notice after the reset"
    );

    // Requests by matched route: the user id is a parameter, not a series of its own.
    let answers = [("method", "POST"), ("route", "/idp/idx/challenge/answer"), ("status", "200")];
    assert_eq!(after.value("latchkey_http_requests_total", &answers) - before.value("latchkey_http_requests_total", &answers), 2.0);
    let by_id = [("method", "GET"), ("route", "/api/v1/users/{id}"), ("status", "200")];
    assert!(after.value("latchkey_http_requests_total", &by_id) >= 1.0, "{}", after.text);
    assert!(!after.text.contains(user_id), "no raw path in a label");
    assert!(after.value("latchkey_http_request_duration_seconds_count", &[("route", "/idp/idx/identify")]) >= 3.0);
    assert!(after.value("latchkey_db_pool_max_connections", &[]) >= 1.0);
    assert_eq!(after.value("latchkey_outbox_pending", &[("status", "queued")]), 0.0, "drained");
    assert_eq!(after.value("latchkey_database_up", &[]), 1.0);
    assert!(after.text.contains("latchkey_password_hashing_waiting"), "the hashing queue's depth is exported");

    // Never on the public port.
    let public = app.http.get(format!("{}/metrics", app.base)).send().await.expect("public /metrics");
    assert_eq!(public.status(), 404);
}

/// One scrape, parsed into samples.
struct Scrape {
    text: String,
    samples: Vec<(String, BTreeMap<String, String>, f64)>,
}

impl Scrape {
    /// The sample named `name` whose labels include `labels` (0 when there is none).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let matching: Vec<f64> = self
            .samples
            .iter()
            .filter(|(n, l, _)| n == name && labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
            .map(|(_, _, value)| *value)
            .collect();
        assert!(matching.len() <= 1, "{name} {labels:?} names {} series", matching.len());
        matching.first().copied().unwrap_or(0.0)
    }
}

async fn scrape(app: &TestApp) -> Scrape {
    let addr = app.metrics.expect("the metrics listener is on");
    let response = app.http.get(format!("http://{addr}/metrics")).send().await.expect("scrape");
    assert_eq!(response.status(), 200);
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = response.text().await.expect("body");
    let samples = text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()).map(parse_sample).collect();
    Scrape { text, samples }
}

/// `name{a="x",b="y"} 1.5` (our label values hold no quotes or commas).
fn parse_sample(line: &str) -> (String, BTreeMap<String, String>, f64) {
    let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("a sample line: {line}"));
    let value = value.parse().unwrap_or_else(|_| panic!("a number: {line}"));
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (name, rest.trim_end_matches('}')),
        None => (series, ""),
    };
    let labels = labels
        .split(',')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect();
    (name.to_owned(), labels, value)
}
