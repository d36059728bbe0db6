//! Request spans: method, path and request id. Never the query string (the emailed link carries
//! the code there) and never bodies or credentials headers (security-checklist LOG-1).
use std::borrow::Cow;

use axum::http::Request;
use percent_encoding::percent_decode_str;
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
    let path = loggable_path(request.uri().path());
    tracing::info_span!("request", method = %request.method(), path = %path, request_id = %request_id, client_ip = tracing::field::Empty)
}

/// Records the client address (resolved through the trusted proxies) on the request span, so
/// every security event logged while handling the request says where it came from (LOG-2).
pub async fn record_client_ip(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if let Some(peer) = request.extensions().get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
        let ip = crate::http::client_ip::resolve(peer.0, request.headers(), &state.trusted_proxies);
        tracing::Span::current().record("client_ip", tracing::field::display(ip));
    }
    next.run(request).await
}

/// The admin API addresses users by id or by login (Okta's `/api/v1/users/{idOrLogin}`), and a
/// login is usually an email address: logged as sent, every admin call would write one to the
/// logs (finding 11, LOG-1). That segment is masked like addresses elsewhere (`j***@example.com`)
/// when, percent-decoded, it holds an `@`; user ids and every other path stay as they are.
fn loggable_path(path: &str) -> Cow<'_, str> {
    const USERS: &str = "/api/v1/users/";
    let Some(rest) = path.strip_prefix(USERS) else { return Cow::Borrowed(path) };
    let (segment, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let login = percent_decode_str(segment).decode_utf8_lossy();
    if !login.contains('@') {
        return Cow::Borrowed(path);
    }
    Cow::Owned(format!("{USERS}{}{tail}", latchkey_domain::email::mask(&login)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logins_in_admin_user_paths_are_masked() {
        assert_eq!(loggable_path("/api/v1/users/jane@example.com"), "/api/v1/users/j***@example.com");
        assert_eq!(
            loggable_path("/api/v1/users/jane%40example.com/lifecycle/activate"),
            "/api/v1/users/j***@example.com/lifecycle/activate"
        );
        assert_eq!(
            loggable_path("/api/v1/users/jane%2540example.com"),
            "/api/v1/users/jane%2540example.com",
            "decoded once, as the router does"
        );
    }

    #[test]
    fn other_paths_are_logged_as_sent() {
        for path in [
            "/api/v1/users",
            "/api/v1/users/",
            "/api/v1/users/00u1a2b3c4d5e6f7g8h9/lifecycle/activate",
            "/idp/idx/identify",
            "/users/a@b.c",
        ] {
            assert_eq!(loggable_path(path), path);
        }
    }
}
