//! Security headers on every response (security-checklist WEB-4): nosniff, no referrer, no
//! framing, HSTS when the public URL is https, and `Cache-Control: no-store` on everything but
//! the immutable widget assets.
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

pub async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let cacheable = request.uri().path().starts_with("/widget/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("no-referrer"));
    headers.entry(header::X_FRAME_OPTIONS).or_insert(HeaderValue::from_static("DENY"));
    if let Some(hsts) = hsts(state.secure_cookies(), state.settings.server.hsts_include_subdomains) {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, hsts);
    }
    if !cacheable {
        headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
        headers.entry(header::PRAGMA).or_insert(HeaderValue::from_static("no-cache"));
    }
    response
}

/// One year, as WEB-4 asks: once a browser has seen the https origin it never again sends a
/// cookie or follows a link to it over plain http, where a network attacker could plant
/// unprefixed cookies or strip TLS (finding 3). Never sent on a plain-http public URL, where
/// it would be meaningless (browsers ignore HSTS over http) and a trap on loopback.
fn hsts(https: bool, include_subdomains: bool) -> Option<HeaderValue> {
    match (https, include_subdomains) {
        (false, _) => None,
        (true, true) => Some(HeaderValue::from_static("max-age=31536000; includeSubDomains")),
        (true, false) => Some(HeaderValue::from_static("max-age=31536000")),
    }
}
