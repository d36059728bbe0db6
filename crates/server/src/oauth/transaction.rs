//! Starting an interaction: shared by `interact` (the client drives IDX) and `authorize` (the
//! hosted page drives IDX for the client). Validates the client, the exact redirect URI, the
//! scopes, `state`, nonce and the S256 PKCE challenge, and stores only digests of the handles.
use latchkey_domain::interaction::Flow;
use latchkey_domain::oauth::{ClientId, CodeChallenge, Nonce, OAuthState, OAuthValueError, Scopes};
use latchkey_domain::secret::sha256_hex;
use latchkey_domain::BearerToken;
use latchkey_store::{ClientRecord, InteractionRecord, NewInteraction};

use super::OAuthError;
use crate::state::{AppState, AuthServer};

/// The OAuth parameters of a request, as received.
pub struct Params<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scope: Option<&'a str>,
    pub state: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub code_challenge: &'a str,
    pub code_challenge_method: &'a str,
}

impl<'a> Params<'a> {
    /// The parameters of an `interact` body or an `authorize` query, for a verified client.
    pub fn from_request(client: &'a ClientRecord, params: &'a std::collections::HashMap<String, String>) -> Self {
        let get = |name: &str| params.get(name).map(String::as_str);
        Self {
            client_id: &client.client_id,
            redirect_uri: get("redirect_uri").unwrap_or_default(),
            scope: get("scope"),
            state: get("state"),
            nonce: get("nonce"),
            code_challenge: get("code_challenge").unwrap_or_default(),
            code_challenge_method: get("code_challenge_method").unwrap_or_default(),
        }
    }
}

/// The client and redirect URI, checked before anything else: until both are known to be
/// right, errors must not be sent to the redirect URI (security-checklist OA-1).
pub async fn client_and_redirect(state: &AppState, client_id: &str, redirect_uri: &str) -> Result<ClientRecord, OAuthError> {
    let client_id = ClientId::parse(client_id).map_err(invalid)?;
    let client = state.store.client(client_id.as_str()).await?.ok_or(OAuthError::InvalidClient)?;
    // Exact string comparison, no normalisation.
    if !client.redirect_uris.iter().any(|registered| registered == redirect_uri) {
        return Err(OAuthError::InvalidRequest("redirect_uri is not registered for this client".to_owned()));
    }
    Ok(client)
}

pub fn invalid(e: OAuthValueError) -> OAuthError {
    OAuthError::InvalidRequest(e.0)
}

/// Validates the rest and stores the transaction. Returns the new interaction handle and record.
pub async fn start(
    state: &AppState,
    server: AuthServer,
    flow: Flow,
    client: &ClientRecord,
    p: &Params<'_>,
) -> Result<(BearerToken, InteractionRecord), OAuthError> {
    if !client.grant_types.iter().any(|g| g == flow.grant()) {
        return Err(OAuthError::UnauthorizedClient("The client is not allowed this grant type."));
    }
    let scopes = Scopes::parse(p.scope.unwrap_or("openid email")).map_err(invalid)?;
    let oauth_state = p.state.map(OAuthState::parse).transpose().map_err(invalid)?;
    let nonce = p.nonce.map(Nonce::parse).transpose().map_err(invalid)?;
    let challenge = CodeChallenge::parse(p.code_challenge, p.code_challenge_method).map_err(invalid)?;
    let handle = BearerToken::generate();
    let state_handle = state.keys().await.state_handle_for(handle.expose());
    let record = state
        .store
        .insert_interaction(&NewInteraction {
            handle_digest: &handle.digest(),
            state_handle_digest: &sha256_hex(&state_handle),
            auth_server: server,
            flow,
            client_id: &client.client_id,
            redirect_uri: p.redirect_uri,
            scopes: &scopes.joined(),
            oauth_state: oauth_state.as_ref().map(OAuthState::as_str).unwrap_or_default(),
            nonce: nonce.as_ref().map(Nonce::as_str),
            code_challenge: challenge.as_str(),
            lifetime: crate::config::ms(state.settings.recovery.transaction_lifetime_secs),
        })
        .await?;
    Ok((handle, record))
}
