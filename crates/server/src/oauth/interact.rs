//! `POST {baseUrl}/v1/interact` (idx-protocol §3): starts a transaction bound to the client,
//! redirect URI, scopes, `state`, nonce and PKCE challenge, and returns its interaction handle.
//! No client authentication here; confidential clients authenticate at the token endpoint.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{HeaderValue, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use latchkey_domain::oauth::{ClientId, CodeChallenge, Nonce, OAuthState, Scopes};
use latchkey_domain::secret::sha256_hex;
use latchkey_domain::BearerToken;
use latchkey_proto::oauth::InteractResponse;
use latchkey_store::NewInteraction;

use super::OAuthError;
use crate::state::{AppState, AuthServer};

#[tracing::instrument(name = "oauth.interact", skip_all, fields(server = server.as_str()))]
pub async fn handle(State(state): State<AppState>, server: AuthServer, body: Bytes) -> Result<Response, OAuthError> {
    let params = crate::http::form::parse(&body).map_err(OAuthError::InvalidRequest)?;
    let get = |name: &str| params.get(name).map(String::as_str);
    let invalid = |e: latchkey_domain::oauth::OAuthValueError| OAuthError::InvalidRequest(e.0);
    let client_id = ClientId::parse(get("client_id").unwrap_or_default()).map_err(invalid)?;
    let client = state.store.client(client_id.as_str()).await?.ok_or(OAuthError::InvalidClient)?;
    if !client.grant_types.iter().any(|g| g == "interaction_code") {
        return Err(OAuthError::UnauthorizedClient("The client is not allowed the interaction_code grant."));
    }
    let redirect_uri = get("redirect_uri").unwrap_or_default();
    // Exact string comparison, no normalisation (security-checklist OA-1).
    if !client.redirect_uris.iter().any(|registered| registered == redirect_uri) {
        return Err(OAuthError::InvalidRequest("redirect_uri is not registered for this client".to_owned()));
    }
    let scopes = Scopes::parse(get("scope").unwrap_or("openid email")).map_err(invalid)?;
    let oauth_state = OAuthState::parse(get("state").unwrap_or_default()).map_err(invalid)?;
    let nonce = get("nonce").map(Nonce::parse).transpose().map_err(invalid)?;
    let challenge = CodeChallenge::parse(
        get("code_challenge").unwrap_or_default(),
        get("code_challenge_method").unwrap_or_default(),
    )
    .map_err(invalid)?;
    let now = state.store.now().await?;
    let handle = BearerToken::generate();
    let state_handle = state.keys().await.state_handle_for(handle.expose());
    state
        .store
        .insert_interaction(
            &NewInteraction {
                handle_digest: &handle.digest(),
                state_handle_digest: &sha256_hex(&state_handle),
                auth_server: server.as_str(),
                client_id: client_id.as_str(),
                redirect_uri,
                scopes: &scopes.joined(),
                oauth_state: oauth_state.as_str(),
                nonce: nonce.as_ref().map(Nonce::as_str),
                code_challenge: challenge.as_str(),
                lifetime: crate::config::ms(state.settings.recovery.transaction_lifetime_secs),
            },
            now,
        )
        .await?;
    let mut response = axum::Json(InteractResponse { interaction_handle: handle.expose().to_owned() }).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}
