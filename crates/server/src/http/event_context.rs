//! Where a request came from, as the System Log records it: the resolved client address (the
//! same one the limits count), the User-Agent and the request id of the request's log lines.
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use latchkey_store::EventContext;

use crate::state::AppState;

const REQUEST_ID_LIMIT: usize = 128;

pub fn of(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> EventContext {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    EventContext {
        client_ip: Some(super::client_ip::resolve(peer, headers, &state.trusted_proxies).to_string()),
        user_agent: header(axum::http::header::USER_AGENT.as_str()),
        // The id is the client's to choose when it sends one: keep it short.
        request_id: header("x-request-id").map(|id| id.chars().take(REQUEST_ID_LIMIT).collect()),
    }
}

/// The extractor form of `of`, for handlers that need nothing else of the connection.
pub struct RequestContext(pub EventContext);

impl FromRequestParts<AppState> for RequestContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(match parts.extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(peer)) => of(state, *peer, &parts.headers),
            // Only tests drive the router without a connection; their events carry no address.
            None => EventContext::system(),
        }))
    }
}
