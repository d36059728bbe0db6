//! The JSON API that lets tests outside the process (Node, Playwright) read
//! what the sink received and change its failure simulation.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use crate::store::{Behavior, Store};

/// Long polls are capped so a forgotten `timeout_ms` cannot pin a connection.
const MAX_WAIT: Duration = Duration::from_secs(300);
const DEFAULT_WAIT: Duration = Duration::from_secs(10);

#[derive(Clone)]
struct AppState {
    store: Arc<Store>,
    /// Lets a long poll end at shutdown instead of holding graceful shutdown up.
    shutdown: watch::Receiver<bool>,
}

pub(crate) fn router(store: Arc<Store>, shutdown: watch::Receiver<bool>) -> Router {
    Router::new()
        .route("/messages", get(list).delete(clear))
        .route("/messages/{id}", get(one))
        .route("/messages/{id}/raw", get(raw))
        .route("/wait", get(wait))
        .route("/behavior", get(get_behavior).put(put_behavior))
        .with_state(AppState { store, shutdown })
}

#[derive(Deserialize)]
struct ToQuery {
    to: Option<String>,
}

async fn list(State(app): State<AppState>, Query(q): Query<ToQuery>) -> Response {
    Json(app.store.list(q.to.as_deref())).into_response()
}

async fn clear(State(app): State<AppState>) -> StatusCode {
    app.store.clear();
    StatusCode::NO_CONTENT
}

fn not_found(id: u64) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({ "error": format!("no message with id {id}") }))).into_response()
}

async fn one(State(app): State<AppState>, Path(id): Path<u64>) -> Response {
    match app.store.get(id) {
        Some(message) => Json(message).into_response(),
        None => not_found(id),
    }
}

async fn raw(State(app): State<AppState>, Path(id): Path<u64>) -> Response {
    match app.store.get(id) {
        // text/plain rather than message/rfc822 so a browser shows it instead of downloading it.
        Some(message) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message.raw).into_response(),
        None => not_found(id),
    }
}

#[derive(Deserialize)]
struct WaitQuery {
    to: Option<String>,
    count: Option<usize>,
    timeout_ms: Option<u64>,
}

async fn wait(State(mut app): State<AppState>, Query(q): Query<WaitQuery>) -> Response {
    let count = q.count.unwrap_or(1);
    let timeout = q.timeout_ms.map_or(DEFAULT_WAIT, Duration::from_millis).min(MAX_WAIT);
    let waited = tokio::select! {
        waited = app.store.wait_for_count(q.to.as_deref(), count, timeout) => waited,
        _ = app.shutdown.changed() => {
            return (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "error": "mail sink is shutting down" }))).into_response();
        }
    };
    match waited {
        Ok(messages) => Json(messages).into_response(),
        // What did arrive is included: "expected 1, got 0 for x@y" is the usual
        // failure and the near-misses (another recipient) explain it.
        Err(messages) => (
            StatusCode::REQUEST_TIMEOUT,
            Json(json!({
                "error": format!("timed out after {} ms waiting for {count} message(s)", timeout.as_millis()),
                "to": q.to,
                "found": messages.len(),
                "all_recipients": app.store.list(None).iter().flat_map(|m| m.rcpt_to.clone()).collect::<std::collections::BTreeSet<_>>(),
            })),
        )
            .into_response(),
    }
}

async fn get_behavior(State(app): State<AppState>) -> Json<Behavior> {
    Json(app.store.behavior())
}

async fn put_behavior(State(app): State<AppState>, Json(behavior): Json<Behavior>) -> Json<Behavior> {
    app.store.set_behavior(behavior.clone());
    Json(behavior)
}
