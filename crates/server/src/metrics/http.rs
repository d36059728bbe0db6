//! Requests and their latency by route: the route as matched (`/api/v1/users/{id}`), never the
//! raw path, so a scan of random paths or user ids cannot grow the series without bound.
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

pub const REQUESTS: &str = "latchkey_http_requests_total";
pub const DURATION: &str = "latchkey_http_request_duration_seconds";

/// Seconds; from a cached read (about 1 ms) to the request timeout.
pub const DURATION_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

pub async fn track(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!(REQUESTS, "method" => method, "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!(DURATION, "method" => method, "route" => route).record(started.elapsed().as_secs_f64());
    response
}

/// The methods we route; anything else is one label, not one per invented verb.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

pub(super) fn describe() {
    metrics::describe_counter!(REQUESTS, "HTTP requests by method, matched route and status code.");
    metrics::describe_histogram!(DURATION, metrics::Unit::Seconds, "HTTP request latency by method and matched route.");
}
