//! How many SQL statements each recovery request costs, counted from sqlx's own statement
//! events inside the request's span (PostgreSQL, where the statement is logged on the request's
//! task). It prints the figures and checks only that each request is counted at all: the
//! numbers are a measurement for the flow-core issue's note, not a budget to assert.
//!
//!     cargo test -p latchkey-server --test statements -- --nocapture
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::json;
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

#[path = "api/helpers.rs"]
#[allow(dead_code)]
mod helpers;

use helpers::{email_authenticator_id, spawn_app_with, Flow, TestApp};

/// Counts `sqlx::query` events that happen inside a span named `request`.
struct StatementCounter(Arc<AtomicUsize>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for StatementCounter {
    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if !event.metadata().target().starts_with("sqlx::query") {
            return;
        }
        if ctx.event_scope(event).is_some_and(|mut scope| scope.any(|span| span.name() == "request")) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

async fn counted(count: &AtomicUsize, app: &TestApp, flow: &Flow, path: &str, body: serde_json::Value) -> (usize, u16) {
    count.store(0, Ordering::SeqCst);
    let (status, _) = app.step(flow, path, body).await;
    (count.load(Ordering::SeqCst), status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_per_recovery_request() {
    let count = Arc::new(AtomicUsize::new(0));
    let filter =
        tracing_subscriber::filter::Targets::new().with_target("sqlx::query", tracing::Level::TRACE).with_default(tracing::Level::INFO);
    let subscriber = tracing_subscriber::registry().with(StatementCounter(count.clone()).with_filter(filter));
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test binary");

    let app = spawn_app_with(latchkey_store::testing::Backend::Postgres, |s| s.recovery.mail_min_gap_secs = 0).await;
    app.create_user("counted@example.com").await;
    let mut rows = Vec::new();
    for (who, label) in [("counted@example.com", "existing"), ("nobody@example.com", "unknown")] {
        let flow = app.interact(&format!("count-{label}")).await;
        app.step(&flow, "recover", json!({})).await;
        let (identify, _) = counted(&count, &app, &flow, "identify", json!({"identifier": who})).await;
        let (_, body) = app.introspect(&flow.interaction_handle).await;
        let challenge_body = json!({"authenticator": {"id": email_authenticator_id(&body)}});
        let (challenge, _) = counted(&count, &app, &flow, "challenge", challenge_body).await;
        let (wrong, status) = counted(&count, &app, &flow, "challenge/answer", json!({"credentials": {"passcode": "000000"}})).await;
        assert_eq!(status, 401);
        rows.push((label, identify, challenge, wrong));
    }
    // A right answer and the reset, for the existing account.
    let flow = app.interact("count-reset").await;
    app.step(&flow, "recover", json!({})).await;
    app.step(&flow, "identify", json!({"identifier": "counted@example.com"})).await;
    let (_, body) = app.introspect(&flow.interaction_handle).await;
    app.step(&flow, "challenge", json!({"authenticator": {"id": email_authenticator_id(&body)}})).await;
    let code = app.code_from_mail("counted@example.com", 2).await;
    let (right, status) = counted(&count, &app, &flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(status, 200);
    let new_password = json!({"credentials": {"passcode": "a counted new passphrase for this test"}});
    let (reset, status) = counted(&count, &app, &flow, "challenge/answer", new_password).await;
    assert_eq!(status, 200);

    println!("statements per request (PostgreSQL, inside the request span):");
    for (label, identify, challenge, wrong) in &rows {
        println!("  {label:8}  identify-recovery {identify:2}  challenge {challenge:2}  wrong answer {wrong:2}");
        assert!(*identify > 0 && *challenge > 0 && *wrong > 0, "statements are counted");
    }
    println!("  existing  right answer {right:2}  reset {reset:2}");
    assert!(right > 0 && reset > 0);
}
