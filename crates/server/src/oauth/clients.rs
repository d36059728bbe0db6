//! Client management (RFC 7592 shapes, admin SSWS auth like registration):
//! `GET /oauth2/v1/clients` (list), `GET/PUT/DELETE /oauth2/v1/clients/{clientId}`, and
//! `POST /oauth2/v1/clients/{clientId}/lifecycle/newSecret` (Okta's secret rotation), which
//! returns the new 256-bit secret once; only its digest is kept.
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_domain::audit::EventType;
use latchkey_domain::BearerToken;
use latchkey_proto::oauth::ClientMetadata;
use latchkey_store::ClientRecord;

use super::registration::{metadata, validate};
use crate::admin::{AdminAuth, AdminError};
use crate::state::AppState;

async fn existing(state: &AppState, client_id: &str) -> Result<ClientRecord, AdminError> {
    state.store.client(client_id).await?.ok_or_else(|| AdminError::NotFound(format!("Resource not found: {client_id} (OAuth2Client)")))
}

#[tracing::instrument(name = "oauth.clients.list", skip_all)]
pub async fn list(_: AdminAuth, State(state): State<AppState>) -> Result<Response, AdminError> {
    let clients = state.store.clients().await?;
    Ok(Json(clients.iter().map(|c| metadata(c, None)).collect::<Vec<_>>()).into_response())
}

#[tracing::instrument(name = "oauth.clients.get", skip_all)]
pub async fn get(_: AdminAuth, State(state): State<AppState>, Path(client_id): Path<String>) -> Result<Response, AdminError> {
    Ok(Json(metadata(&existing(&state, &client_id).await?, None)).into_response())
}

/// RFC 7592 §2.2: the body replaces the client's metadata. `client_id` may be repeated but
/// not changed; a secret cannot be set here (use `newSecret`). Turning a public client into a
/// confidential one issues its first secret, returned once in this response.
#[tracing::instrument(name = "oauth.clients.update", skip_all)]
pub async fn update(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(client_id): Path<String>,
    body: Bytes,
) -> Result<Response, AdminError> {
    let current = existing(&state, &client_id).await?;
    let meta: ClientMetadata = crate::http::json::parse_into(&body)?;
    if meta.client_id.as_deref().is_some_and(|id| id != client_id) {
        return Err(AdminError::Validation(vec!["client_id: cannot be changed".to_owned()]));
    }
    if meta.client_secret.is_some() {
        return Err(AdminError::Validation(vec!["client_secret: rotate it with lifecycle/newSecret".to_owned()]));
    }
    let mut record = validate(&meta)?;
    record.client_id = current.client_id.clone();
    record.created_at = current.created_at;
    let secret = match (record.auth_method.as_str(), &current.secret_digest) {
        ("none", _) => None,
        (_, Some(digest)) => {
            record.secret_digest = Some(digest.clone());
            None
        }
        (_, None) => Some(BearerToken::generate()),
    };
    if let Some(secret) = &secret {
        record.secret_digest = Some(secret.digest());
    }
    let now = state.store.now().await?;
    state.store.update_client(&record, Some((EventType::AppUpdate, &auth.audit())), now).await?;
    state.invalidate_origins().await;
    tracing::info!(event = "admin.client_updated", client_id = %record.client_id, "client updated");
    Ok(Json(metadata(&record, secret.as_ref().map(BearerToken::expose))).into_response())
}

#[tracing::instrument(name = "oauth.clients.delete", skip_all)]
pub async fn delete(auth: AdminAuth, State(state): State<AppState>, Path(client_id): Path<String>) -> Result<Response, AdminError> {
    let now = state.store.now().await?;
    if !state.store.delete_client(&client_id, &auth.audit(), now).await? {
        return Err(AdminError::NotFound(format!("Resource not found: {client_id} (OAuth2Client)")));
    }
    state.invalidate_origins().await;
    tracing::info!(event = "admin.client_deleted", client_id = %client_id, "client deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// A new secret replaces the old one at once; the old secret stops working immediately.
#[tracing::instrument(name = "oauth.clients.new_secret", skip_all)]
pub async fn new_secret(auth: AdminAuth, State(state): State<AppState>, Path(client_id): Path<String>) -> Result<Response, AdminError> {
    let mut record = existing(&state, &client_id).await?;
    if record.auth_method == "none" {
        return Err(AdminError::Validation(vec!["token_endpoint_auth_method: a public client has no secret".to_owned()]));
    }
    let secret = BearerToken::generate();
    record.secret_digest = Some(secret.digest());
    let now = state.store.now().await?;
    state.store.update_client(&record, Some((EventType::AppSecretRotate, &auth.audit())), now).await?;
    tracing::info!(event = "admin.client_secret_rotated", client_id = %client_id, "client secret rotated");
    Ok(Json(metadata(&record, Some(secret.expose()))).into_response())
}
