//! `POST {baseUrl}/v1/revoke` (RFC 7009), client-authenticated. A refresh token revokes its
//! whole family; an access token (a JWT) is remembered by `jti` until it expires, so userinfo
//! and introspection refuse it. Unknown, foreign or already dead tokens get the same 200
//! (RFC 7009 §2.2), so the endpoint reveals nothing about them.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_domain::secret::sha256_hex;

use super::OAuthError;
use crate::http::event_context::RequestContext;
use crate::state::{AppState, AuthServer};

#[tracing::instrument(name = "oauth.revoke", skip_all, fields(server = server.as_str()))]
pub async fn handle(
    State(state): State<AppState>,
    server: AuthServer,
    RequestContext(context): RequestContext,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, OAuthError> {
    let (client, token) = super::client_auth::token_request(&state, &headers, &body).await?;
    let token = token.as_str();
    let now = state.store.now().await?;
    if token.contains('.') {
        let keys = state.keys().await;
        if let Some(claims) = crate::crypto::verify::access_token(&keys, token, &state.issuer(server), &state.audience(server), now) {
            if claims.cid == client.client_id {
                state.store.revoke_jti(&claims.jti, claims.exp.saturating_mul(1000), &client.client_id, &context, now).await?;
                tracing::info!(event = "token.revoked", kind = "access", client_id = %client.client_id, "access token revoked");
            }
        }
    } else if let Some(record) = state.store.refresh_token(&sha256_hex(token)).await? {
        if record.client_id == client.client_id && record.auth_server == server.as_str() {
            state.store.revoke_refresh_family(&record.family_id, &client.client_id, &context, now).await?;
            tracing::info!(event = "token.revoked", kind = "refresh", client_id = %client.client_id, "refresh token family revoked");
        }
    }
    Ok(StatusCode::OK.into_response())
}
