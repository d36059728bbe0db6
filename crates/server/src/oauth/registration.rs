//! `POST /oauth2/v1/clients`: RFC 7591 dynamic registration, restricted to administrators
//! (SSWS). Confidential clients get a 256-bit secret, shown once and stored as a digest.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_domain::audit::EventType;
use latchkey_domain::oauth::{origin_of, RedirectUri};
use latchkey_domain::BearerToken;
use latchkey_proto::oauth::ClientMetadata;
use latchkey_store::{ClientRecord, ClientSource};

use crate::admin::{AdminAuth, AdminError};
use crate::state::AppState;

const GRANTS: &[&str] = &["authorization_code", "interaction_code", "refresh_token"];
const AUTH_METHODS: &[&str] = &["none", "client_secret_basic", "client_secret_post"];

/// Validates metadata into a record (without id or secret). Shared with client updates.
pub fn validate(meta: &ClientMetadata) -> Result<ClientRecord, AdminError> {
    let mut causes = Vec::new();
    if meta.redirect_uris.is_empty() {
        causes.push("redirect_uris: at least one redirect URI is required".to_owned());
    }
    for uri in meta.redirect_uris.iter().chain(&meta.post_logout_redirect_uris) {
        if let Err(e) = RedirectUri::parse(uri) {
            causes.push(format!("redirect_uris: {uri}: {e}"));
        }
    }
    for origin in &meta.trusted_origins {
        if origin_of(origin).as_deref() != Some(origin.as_str()) {
            causes.push(format!("trusted_origins: {origin} must be an origin such as https://app.example (no path)"));
        }
    }
    let auth_method = meta.token_endpoint_auth_method.clone().unwrap_or_else(|| "client_secret_basic".to_owned());
    if !AUTH_METHODS.contains(&auth_method.as_str()) {
        causes.push(format!("token_endpoint_auth_method: must be one of {}", AUTH_METHODS.join(", ")));
    }
    let grant_types = if meta.grant_types.is_empty() {
        vec!["authorization_code".to_owned(), "interaction_code".to_owned()]
    } else {
        meta.grant_types.clone()
    };
    if let Some(bad) = grant_types.iter().find(|g| !GRANTS.contains(&g.as_str())) {
        causes.push(format!("grant_types: {bad} is not supported (only {})", GRANTS.join(", ")));
    }
    if let Some(bad) = meta.response_types.iter().find(|r| r.as_str() != "code") {
        causes.push(format!("response_types: {bad} is not supported (only code)"));
    }
    if meta.client_name.chars().count() > 100 || meta.client_name.chars().any(char::is_control) {
        causes.push("client_name: at most 100 characters without control characters".to_owned());
    }
    if !causes.is_empty() {
        return Err(AdminError::Validation(causes));
    }
    Ok(ClientRecord {
        client_id: String::new(),
        client_name: if meta.client_name.is_empty() { "Client".to_owned() } else { meta.client_name.clone() },
        secret_digest: None,
        auth_method,
        redirect_uris: meta.redirect_uris.clone(),
        trusted_origins: meta.trusted_origins.clone(),
        post_logout_redirect_uris: meta.post_logout_redirect_uris.clone(),
        grant_types,
        created_at: 0,
    })
}

pub fn metadata(record: &ClientRecord, secret: Option<&str>) -> ClientMetadata {
    ClientMetadata {
        client_id: Some(record.client_id.clone()),
        client_secret: secret.map(str::to_owned),
        client_id_issued_at: Some(record.created_at / 1000),
        client_secret_expires_at: record.secret_digest.as_ref().map(|_| 0),
        client_name: record.client_name.clone(),
        redirect_uris: record.redirect_uris.clone(),
        post_logout_redirect_uris: record.post_logout_redirect_uris.clone(),
        grant_types: record.grant_types.clone(),
        response_types: vec!["code".to_owned()],
        token_endpoint_auth_method: Some(record.auth_method.clone()),
        application_type: Some("web".to_owned()),
        trusted_origins: record.trusted_origins.clone(),
    }
}

#[tracing::instrument(name = "oauth.register", skip_all)]
pub async fn register(auth: AdminAuth, State(state): State<AppState>, body: Bytes) -> Result<Response, AdminError> {
    let meta: ClientMetadata = crate::http::json::parse_into(&body)?;
    if meta.client_id.is_some() || meta.client_secret.is_some() {
        return Err(AdminError::Validation(vec!["client_id: assigned by the server".to_owned()]));
    }
    let mut record = validate(&meta)?;
    let now = state.store.now().await?;
    record.client_id = latchkey_domain::secret::okta_style_id("0oa");
    record.created_at = now;
    let secret = (record.auth_method != "none").then(BearerToken::generate);
    record.secret_digest = secret.as_ref().map(BearerToken::digest);
    state.store.insert_client(&record, ClientSource::Api, Some((EventType::AppCreate, &auth.audit())), now).await?;
    state.invalidate_origins().await;
    tracing::info!(event = "admin.client_registered", client_id = %record.client_id, "client registered");
    Ok((StatusCode::CREATED, Json(metadata(&record, secret.as_ref().map(BearerToken::expose)))).into_response())
}
