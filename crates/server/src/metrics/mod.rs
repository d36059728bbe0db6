//! Prometheus metrics at `GET /metrics`, served on a listener of its own (`metrics.listen`,
//! never the public port).
//!
//! Code anywhere in the process counts through the `metrics` facade (the email crate too,
//! without knowing the server); this module installs the one Prometheus recorder the process
//! has and renders it. Figures that are a state rather than an event (the database pool, the
//! outbox backlog) are read at each scrape. The recorder is process-wide, like the process
//! that serves it: several servers in one process (tests) share one set of counters.
pub mod funnel;
pub mod hashing;
pub mod http;
mod scrape;

use std::sync::OnceLock;

use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

pub const RATE_LIMITED: &str = "latchkey_rate_limited_total";

static RECORDER: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();

/// The process's Prometheus recorder, installed by the first call.
pub fn recorder() -> Result<PrometheusHandle, String> {
    RECORDER
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(http::DURATION.to_owned()), http::DURATION_BUCKETS)
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| format!("cannot install the Prometheus recorder: {e}"))?;
            describe();
            Ok(handle)
        })
        .clone()
}

fn describe() {
    http::describe();
    funnel::register();
    hashing::describe();
    scrape::describe();
    latchkey_email::metrics::describe();
    metrics::describe_counter!(RATE_LIMITED, "Requests refused because a client address spent an hourly budget, by budget.");
}

/// The metrics listener's one route.
pub fn router(state: AppState, handle: PrometheusHandle) -> Router {
    Router::new().route("/metrics", get(scrape::handle)).with_state((state, handle))
}
