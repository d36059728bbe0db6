//! Liveness and readiness.
use axum::extract::State;
use std::time::Duration;

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// A probe must answer within its own timeout (commonly 1–5 s), well before the pool's
/// ten-second acquire timeout: a database that takes longer counts as unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Ready when the database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    let outcome = match tokio::time::timeout(PING_TIMEOUT, state.store.ping()).await {
        Ok(outcome) => outcome.map_err(|e| e.to_string()),
        Err(_) => Err(format!("no answer within {PING_TIMEOUT:?}")),
    };
    match outcome {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready"}))).into_response(),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            let retry_after = [(RETRY_AFTER, HeaderValue::from(crate::http::unavailable::RETRY_AFTER_SECS))];
            (StatusCode::SERVICE_UNAVAILABLE, retry_after, Json(json!({"status": "database unreachable"}))).into_response()
        }
    }
}
