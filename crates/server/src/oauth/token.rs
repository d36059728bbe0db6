//! `POST {baseUrl}/v1/token`. Grants: `interaction_code` (a client that drove IDX itself,
//! idx-protocol §8) and `authorization_code` (the hosted page drove IDX; RFC 6749 §4.1.3). Both
//! redeem the transaction's single-use code, each only for its own kind of transaction. The code
//! is redeemed atomically first, so a replay fails even when it races the first use; then the
//! client, the redirect URI and the PKCE verifier must all match the transaction.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{HeaderValue, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use latchkey_domain::interaction::Step;
use latchkey_domain::oauth::{CodeChallenge, CodeVerifier, Scopes};
use latchkey_domain::secret::sha256_hex;
use latchkey_proto::oauth::TokenResponse;

use super::OAuthError;
use crate::crypto::tokens::{issue, TokenRequest};
use crate::state::{AppState, AuthServer};

#[tracing::instrument(name = "oauth.token", skip_all, fields(server = server.as_str()))]
pub async fn handle(State(state): State<AppState>, server: AuthServer, headers: HeaderMap, body: Bytes) -> Result<Response, OAuthError> {
    let params = crate::http::form::parse(&body).map_err(OAuthError::InvalidRequest)?;
    let (code_param, flow) = match params.get("grant_type").map(String::as_str) {
        Some("interaction_code") => ("interaction_code", "idx"),
        Some("authorization_code") => ("code", "authorize"),
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
        None => return Err(OAuthError::InvalidRequest("grant_type is required".to_owned())),
    };
    let client = super::client_auth::authenticate(&state, &headers, &params).await?;
    let grant = params.get("grant_type").map(String::as_str).unwrap_or_default();
    if !client.grant_types.iter().any(|g| g == grant) {
        return Err(OAuthError::UnauthorizedClient("The client is not allowed this grant type."));
    }
    let code = params.get(code_param).filter(|c| !c.is_empty() && c.len() <= 512).ok_or_else(|| OAuthError::InvalidRequest(format!("{code_param} is required")))?;
    let verifier = CodeVerifier::parse(params.get("code_verifier").map(String::as_str).unwrap_or_default()).map_err(|e| OAuthError::InvalidRequest(e.0))?;
    let now = state.store.now().await?;
    let record = state
        .store
        .redeem_interaction_code(&sha256_hex(code), flow, now)
        .await?
        .ok_or(OAuthError::InvalidGrant("The code is invalid, expired or already used."))?;
    if record.client_id != client.client_id || record.auth_server != server.as_str() {
        return Err(OAuthError::InvalidGrant("The interaction code was not issued to this client."));
    }
    if params.get("redirect_uri") != Some(&record.redirect_uri) {
        return Err(OAuthError::InvalidGrant("The redirect_uri does not match the one used to start the transaction."));
    }
    let challenge = CodeChallenge::parse(&record.code_challenge, "S256").map_err(|_| OAuthError::InvalidGrant("PKCE verification failed."))?;
    if !challenge.is_satisfied_by(&verifier) {
        return Err(OAuthError::InvalidGrant("PKCE verification failed."));
    }
    let Step::Success { user_id } = &record.step else {
        return Err(OAuthError::InvalidGrant("The transaction is not complete."));
    };
    let account = state.store.user_by_id(user_id).await?.ok_or(OAuthError::InvalidGrant("The user no longer exists."))?;
    if !account.user.status.can_sign_in() {
        return Err(OAuthError::InvalidGrant("The user cannot sign in."));
    }
    let scopes = Scopes::parse(&record.scopes).map_err(|e| OAuthError::Internal(anyhow::anyhow!(e.0)))?;
    let issuer = state.issuer(server);
    let audience = match server {
        AuthServer::Default => "api://default".to_owned(),
        AuthServer::Org => state.public_url.clone(),
    };
    let lifetime = i64::try_from(state.settings.tokens.access_token_secs).unwrap_or(600);
    let keys = state.keys().await;
    let tokens = issue(
        &keys,
        &TokenRequest {
            issuer: &issuer,
            audience: &audience,
            client_id: &client.client_id,
            user: &account.user,
            scopes: &scopes,
            nonce: record.nonce.as_deref(),
            auth_time: account.user.last_login_at.unwrap_or(now),
            now,
            lifetime_secs: lifetime,
        },
    )
    .map_err(|e| OAuthError::Internal(e.into()))?;
    tracing::info!(event = "token.issued", grant, client_id = %client.client_id, "tokens issued");
    let body = TokenResponse {
        token_type: "Bearer".to_owned(),
        expires_in: lifetime,
        access_token: tokens.access_token,
        scope: scopes.joined(),
        id_token: tokens.id_token,
        refresh_token: None,
    };
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}
