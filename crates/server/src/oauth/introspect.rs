//! `POST {baseUrl}/v1/introspect` (RFC 7662), client-authenticated. A client learns about its
//! own tokens only: anything else, like anything dead, is just `{"active": false}`.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use latchkey_domain::refresh::RefreshDecision;
use latchkey_domain::secret::sha256_hex;
use latchkey_proto::oauth::IntrospectionResponse;

use super::bearer::live_access_token;
use super::OAuthError;
use crate::state::{AppState, AuthServer};

#[tracing::instrument(name = "oauth.introspect", skip_all, fields(server = server.as_str()))]
pub async fn handle(State(state): State<AppState>, server: AuthServer, headers: HeaderMap, body: Bytes) -> Result<Response, OAuthError> {
    let (client, token) = super::client_auth::token_request(&state, &headers, &body).await?;
    let token = token.as_str();
    let now = state.store.now().await?;
    let answer = if token.contains('.') {
        match live_access_token(&state, server, token, now).await? {
            Some((claims, account)) if claims.cid == client.client_id => IntrospectionResponse {
                active: true,
                token_type: Some("Bearer".to_owned()),
                scope: Some(claims.scp.join(" ")),
                client_id: Some(claims.cid),
                username: Some(Some(account.user.profile.login.as_str().to_owned())),
                sub: Some(claims.sub),
                uid: Some(claims.uid),
                iss: Some(claims.iss),
                aud: Some(state.audience(server)),
                iat: Some(claims.iat),
                exp: Some(claims.exp),
                jti: Some(claims.jti),
            },
            _ => IntrospectionResponse::inactive(),
        }
    } else {
        match state.store.refresh_token(&sha256_hex(token)).await? {
            Some(r)
                if r.client_id == client.client_id
                    && r.auth_server == server.as_str()
                    && matches!(state.refresh.decide(r.state(), now), RefreshDecision::Rotate { .. }) =>
            {
                let username = state.store.user_by_id(&r.user_id).await?.map(|a| a.user.profile.login.as_str().to_owned());
                IntrospectionResponse {
                    active: true,
                    token_type: Some("refresh_token".to_owned()),
                    scope: Some(r.scopes.clone()),
                    client_id: Some(r.client_id.clone()),
                    username: Some(username),
                    uid: Some(r.user_id.as_str().to_owned()),
                    iss: Some(state.issuer(server)),
                    iat: Some(r.created_at / 1000),
                    exp: Some(r.idle_expires_at.min(r.family_expires_at) / 1000),
                    ..IntrospectionResponse::default()
                }
            }
            _ => IntrospectionResponse::inactive(),
        }
    };
    Ok(axum::Json(answer).into_response())
}
