//! `POST {baseUrl}/v1/interact` (idx-protocol §3): starts a transaction bound to the client,
//! redirect URI, scopes, `state`, nonce and PKCE challenge, and returns its interaction handle.
//! No client authentication here; confidential clients authenticate at the token endpoint.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{HeaderValue, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use latchkey_proto::oauth::InteractResponse;

use super::transaction::{client_and_redirect, start, Params};
use super::OAuthError;
use crate::state::{AppState, AuthServer};

#[tracing::instrument(name = "oauth.interact", skip_all, fields(server = server.as_str()))]
pub async fn handle(State(state): State<AppState>, server: AuthServer, body: Bytes) -> Result<Response, OAuthError> {
    let params = crate::http::form::parse(&body).map_err(OAuthError::InvalidRequest)?;
    let get = |name: &str| params.get(name).map(String::as_str);
    let redirect_uri = get("redirect_uri").unwrap_or_default();
    let client = client_and_redirect(&state, get("client_id").unwrap_or_default(), redirect_uri).await?;
    // The emailed link carries the interact `state` back to the app, so it is required here.
    if get("state").unwrap_or_default().is_empty() {
        return Err(OAuthError::InvalidRequest("state is required".to_owned()));
    }
    let (handle, _) =
        start(&state, server, latchkey_domain::interaction::Flow::Idx, &client, &Params::from_request(&client, &params)).await?;
    let mut response = axum::Json(InteractResponse { interaction_handle: handle.expose().to_owned() }).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}
