//! HTTP plumbing shared by every adapter: the router, request ids and tracing, limits, CORS,
//! security headers, client IP resolution and strict JSON.
pub mod client_ip;
pub mod cookies;
pub mod cors;
pub mod event_context;
pub mod form;
pub mod headers;
pub mod health;
pub mod json;
pub mod serve;
pub mod trace;
pub mod unavailable;
pub mod widget;

use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;

use crate::state::AppState;

/// Public endpoints take at most 16 KiB (security-checklist INP-1); the admin API 1 MiB.
pub const PUBLIC_BODY_LIMIT: usize = 16 * 1024;
pub const ADMIN_BODY_LIMIT: usize = 1024 * 1024;

/// Every route and layer. `dev_pages`: route the development pages (the caller decides, as it
/// alone knows the bound address: see `hosted::dev_pages_served_on`).
pub fn router(state: AppState, dev_pages: bool) -> Router {
    let timeout = Duration::from_secs(state.settings.server.request_timeout_secs);
    let public = Router::new()
        .merge(crate::oauth::router())
        .merge(crate::idx::router())
        .layer(axum::middleware::from_fn_with_state(state.clone(), cors::cors))
        .layer(DefaultBodyLimit::max(PUBLIC_BODY_LIMIT));
    let admin = crate::admin::router().merge(crate::oauth::management_router()).layer(DefaultBodyLimit::max(ADMIN_BODY_LIMIT));
    // Development pages exist only in dev mode on loopback: otherwise they are not routed at all.
    let dev = if dev_pages { crate::hosted::dev_router() } else { Router::new() };
    // The hosted pages' forms are a few hundred bytes; they get the public limit too instead of
    // axum's 2 MB default (finding 4, INP-1).
    let pages = Router::new()
        .merge(dev)
        .merge(health::router())
        .merge(crate::openapi::router())
        .merge(widget::router())
        .merge(crate::strength::router())
        .merge(crate::hosted::router(dev_pages))
        .layer(DefaultBodyLimit::max(PUBLIC_BODY_LIMIT));
    Router::new()
        .merge(pages)
        .merge(public)
        .merge(admin)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), cookies::keep_own_cookies))
        .layer(axum::middleware::from_fn_with_state(state.clone(), trace::record_client_ip))
        .layer(axum::middleware::from_fn_with_state(state.clone(), headers::security_headers))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, timeout))
        // Outside the timeout, so a request cut off by it is counted (408) with its time.
        .layer(axum::middleware::from_fn(crate::metrics::http::track))
        .layer(trace::layer())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

pub(crate) async fn not_found() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({
            "errorCode": "E0000022",
            "errorSummary": "The endpoint does not exist.",
            "errorLink": "E0000022",
            "errorId": "not-found",
            "errorCauses": []
        })),
    )
        .into_response()
}
