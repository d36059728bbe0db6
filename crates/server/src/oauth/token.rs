//! `POST {baseUrl}/v1/token`: authenticates the client, checks it is registered for the grant
//! (security-checklist OA-4, OA-6), and hands over to the grant. Grants: `interaction_code`
//! (a client that drove IDX itself, idx-protocol §8), `authorization_code` (the hosted page drove
//! IDX; RFC 6749 §4.1.3) and `refresh_token` (RFC 6749 §6, rotated on every use).
use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::OAuthError;
use crate::limits::Budget;
use crate::state::{AppState, AuthServer};

#[tracing::instrument(name = "oauth.token", skip_all, fields(server = server.as_str()))]
pub async fn handle(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    server: AuthServer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    // Every token request takes a unit of the address's failure budget up front and gives it
    // back when tokens are issued, so guessing codes, refresh tokens or client secrets from
    // one address stops at the limit however many requests run in parallel (RL-3, finding 7).
    let now = state.store.now().await?;
    let client_key = crate::limits::client_key(&state, peer, &headers);
    let ticket = crate::limits::take(&state, Budget::TokenFailures, &client_key, now)
        .await?
        .map_err(|wait| OAuthError::TooManyRequests { retry_after_secs: (wait + 999) / 1000 })?;
    let context = crate::http::event_context::of(&state, peer, &headers);
    let tokens = issue(&state, server, (&headers, &context), &body).await?;
    state.store.refund_rate(ticket).await?;
    Ok(tokens)
}

async fn issue(
    state: &AppState,
    server: AuthServer,
    (headers, context): (&HeaderMap, &latchkey_store::EventContext),
    body: &Bytes,
) -> Result<Response, OAuthError> {
    let params = crate::http::form::parse(body).map_err(OAuthError::InvalidRequest)?;
    let grant = match params.get("grant_type").map(String::as_str) {
        Some(grant @ ("interaction_code" | "authorization_code" | "refresh_token")) => grant,
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
        None => return Err(OAuthError::InvalidRequest("grant_type is required".to_owned())),
    };
    let client = super::client_auth::authenticate(state, headers, &params).await?;
    if !client.grant_types.iter().any(|g| g == grant) {
        return Err(OAuthError::UnauthorizedClient("The client is not allowed this grant type."));
    }
    let tokens = match grant {
        "refresh_token" => super::grant_refresh::redeem(state, server, &client, &params, context).await?,
        _ => super::grant_code::redeem(state, server, &client, (grant, &params), context).await?,
    };
    tracing::info!(event = "token.issued", grant, client_id = %client.client_id, "tokens issued");
    Ok(tokens)
}
