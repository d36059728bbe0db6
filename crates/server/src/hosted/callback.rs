//! `GET /signin/callback?interaction_code=…`: where the hosted page's widget lands on success.
//! Looks up the hosted (`authorize`) transaction the code belongs to and redirects to its
//! registered redirect URI with the code as the authorization code, the client's `state` from
//! the transaction (never from this URL) and `iss`. Nothing is redeemed here.
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use latchkey_domain::secret::sha256_hex;

use super::page::message_page;
use crate::state::{AppState, AuthServer};

#[tracing::instrument(name = "hosted.callback", skip_all)]
pub async fn handle(State(state): State<AppState>, Query(query): Query<HashMap<String, String>>) -> Response {
    let expired = || message_page(StatusCode::BAD_REQUEST, "Sign-in expired", "This sign-in has expired or was already used. Return to the application and sign in again.");
    let Some(code) = query.get("interaction_code").filter(|c| !c.is_empty() && c.len() <= 512) else {
        return expired();
    };
    let now = match state.store.now().await {
        Ok(now) => now,
        Err(e) => return crate::oauth::OAuthError::Internal(e.into()).into_response(),
    };
    let record = match state.store.interaction_by_code(&sha256_hex(code), now).await {
        Ok(Some(record)) if record.flow == "authorize" => record,
        Ok(_) => return expired(),
        Err(e) => return crate::oauth::OAuthError::Internal(e.into()).into_response(),
    };
    let server = AuthServer::parse(&record.auth_server).unwrap_or(AuthServer::Default);
    let Ok(mut url) = url::Url::parse(&record.redirect_uri) else {
        return expired();
    };
    {
        let mut pairs = url.query_pairs_mut();
        pairs.append_pair("code", code);
        if !record.oauth_state.is_empty() {
            pairs.append_pair("state", &record.oauth_state);
        }
        pairs.append_pair("iss", &state.issuer(server));
    }
    Redirect::to(url.as_str()).into_response()
}
