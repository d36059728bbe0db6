//! CORS for IDX, interact, token, discovery and keys (idx-protocol §2.3, security-checklist
//! WEB-6): the exact requesting origin is echoed, with credentials, only when it belongs to a
//! registered client's web origins. Everything else gets no CORS headers, so the browser blocks
//! the response. Preflights are answered here and never reach a handler.
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

const ALLOWED_HEADERS: &str =
    "content-type, accept, accept-language, authorization, x-okta-user-agent-extended, x-device-fingerprint, dpop, x-requested-with";

pub async fn cors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let origin = request.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let allowed = match &origin {
        Some(o) => state.allowed_origins().await.contains(o),
        None => false,
    };
    if request.method() == Method::OPTIONS {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        if allowed {
            let requested = request
                .headers()
                .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                .and_then(|v| v.to_str().ok())
                .filter(|v| v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ',' | ' ' | '_')))
                .unwrap_or(ALLOWED_HEADERS)
                .to_owned();
            let headers = response.headers_mut();
            decorate(headers, origin.as_deref());
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
            if let Ok(value) = HeaderValue::from_str(&requested) {
                headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, value);
            }
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
        response.headers_mut().insert(header::VARY, HeaderValue::from_static("Origin"));
        return response;
    }
    let mut response = next.run(request).await;
    if allowed {
        decorate(response.headers_mut(), origin.as_deref());
    }
    response.headers_mut().append(header::VARY, HeaderValue::from_static("Origin"));
    response
}

fn decorate(headers: &mut axum::http::HeaderMap, origin: Option<&str>) {
    if let Some(value) = origin.and_then(|o| HeaderValue::from_str(o).ok()) {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(header::ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        // A widget on another origin needs Retry-After to show when a throttled step may be
        // tried again.
        headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("Retry-After"));
    }
}
