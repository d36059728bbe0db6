//! `GET /metrics`: reads the figures that are states (pool, outbox backlog), then renders.
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::state::AppState;

const POOL_CONNECTIONS: &str = "latchkey_db_pool_connections";
const POOL_MAX: &str = "latchkey_db_pool_max_connections";
const OUTBOX_PENDING: &str = "latchkey_outbox_pending";
const OUTBOX_OLDEST_AGE: &str = "latchkey_outbox_oldest_pending_age_seconds";
const DATABASE_UP: &str = "latchkey_database_up";

/// Prometheus' text exposition format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn handle(State((state, handle)): State<(AppState, PrometheusHandle)>) -> impl IntoResponse {
    let pool = state.store.pool_stats();
    metrics::gauge!(POOL_CONNECTIONS, "state" => "open").set(f64::from(pool.open));
    metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!(POOL_MAX).set(f64::from(pool.max));
    let backlog = async { Ok::<_, latchkey_store::StoreError>((state.store.outbox_backlog().await?, state.store.now().await?)) }.await;
    match backlog {
        Ok((backlog, now)) => {
            metrics::gauge!(DATABASE_UP).set(1.0);
            metrics::gauge!(OUTBOX_PENDING, "status" => "queued").set(backlog.queued as f64);
            metrics::gauge!(OUTBOX_PENDING, "status" => "deferred").set(backlog.deferred as f64);
            let age_ms = backlog.oldest_created_at.map_or(0, |created| now.saturating_sub(created).max(0));
            metrics::gauge!(OUTBOX_OLDEST_AGE).set(age_ms as f64 / 1000.0);
        }
        Err(error) => {
            // The scrape still answers: the counters are in memory, and `database_up` says why
            // the outbox figures are stale.
            tracing::warn!(%error, "metrics: the outbox backlog could not be read");
            metrics::gauge!(DATABASE_UP).set(0.0);
        }
    }
    handle.run_upkeep();
    ([(CONTENT_TYPE, TEXT_FORMAT)], handle.render())
}

pub(super) fn describe() {
    metrics::describe_gauge!(POOL_CONNECTIONS, "Database connections in the pool, open and idle.");
    metrics::describe_gauge!(POOL_MAX, "The most connections the database pool opens.");
    metrics::describe_gauge!(OUTBOX_PENDING, "Emails not yet accepted by the relay, queued or deferred.");
    metrics::describe_gauge!(
        OUTBOX_OLDEST_AGE,
        metrics::Unit::Seconds,
        "Age of the oldest email not yet accepted by the relay (0 when none is pending)."
    );
    metrics::describe_gauge!(DATABASE_UP, "1 when the last scrape could read the database, else 0.");
}
