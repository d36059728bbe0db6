//! Request spans: method, path and request id. Never the query string (the emailed link carries
//! the code there) and never bodies or credentials headers (security-checklist LOG-1).
use axum::http::Request;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

pub type Layer = TraceLayer<SharedClassifier<ServerErrorsAsFailures>, fn(&Request<axum::body::Body>) -> tracing::Span>;

pub fn layer() -> Layer {
    TraceLayer::new_for_http()
        .make_span_with(make_span as fn(&Request<axum::body::Body>) -> tracing::Span)
        .on_response(DefaultOnResponse::new().level(Level::INFO))
}

fn make_span(request: &Request<axum::body::Body>) -> tracing::Span {
    let request_id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %request_id)
}
