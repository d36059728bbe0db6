//! `POST {baseUrl}/v1/introspect` (RFC 7662), client-authenticated. A client learns about its
//! own tokens only: anything else, like anything dead, is just `{"active": false}`.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use latchkey_domain::refresh::RefreshDecision;
use latchkey_domain::secret::sha256_hex;
use serde_json::{json, Value};

use super::bearer::live_access_token;
use super::OAuthError;
use crate::state::{AppState, AuthServer};

#[tracing::instrument(name = "oauth.introspect", skip_all, fields(server = server.as_str()))]
pub async fn handle(State(state): State<AppState>, server: AuthServer, headers: HeaderMap, body: Bytes) -> Result<Response, OAuthError> {
    let (client, token) = super::client_auth::token_request(&state, &headers, &body).await?;
    let token = token.as_str();
    let now = state.store.now().await?;
    let inactive = || json!({"active": false});
    let answer: Value = if token.contains('.') {
        match live_access_token(&state, server, token, now).await? {
            Some((claims, account)) if claims.cid == client.client_id => json!({
                "active": true,
                "token_type": "Bearer",
                "scope": claims.scp.join(" "),
                "client_id": claims.cid,
                "username": account.user.profile.login.as_str(),
                "sub": claims.sub,
                "uid": claims.uid,
                "iss": claims.iss,
                "aud": state.audience(server),
                "iat": claims.iat,
                "exp": claims.exp,
                "jti": claims.jti,
            }),
            _ => inactive(),
        }
    } else {
        match state.store.refresh_token(&sha256_hex(token)).await? {
            Some(r)
                if r.client_id == client.client_id
                    && r.auth_server == server.as_str()
                    && matches!(state.refresh.decide(r.state(), now), RefreshDecision::Rotate { .. }) =>
            {
                let username = state.store.user_by_id(&r.user_id).await?.map(|a| a.user.profile.login.as_str().to_owned());
                json!({
                    "active": true,
                    "token_type": "refresh_token",
                    "scope": r.scopes,
                    "client_id": r.client_id,
                    "username": username,
                    "uid": r.user_id.as_str(),
                    "iss": state.issuer(server),
                    "iat": r.created_at / 1000,
                    "exp": r.idle_expires_at.min(r.family_expires_at) / 1000,
                })
            }
            _ => inactive(),
        }
    };
    Ok(axum::Json(answer).into_response())
}
