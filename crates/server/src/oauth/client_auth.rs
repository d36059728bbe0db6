//! Client authentication at the token endpoint (RFC 6749 §2.3.1): HTTP Basic or
//! `client_secret` in the body for confidential clients, `client_id` alone for public ones.
//! Secrets are compared as SHA-256 digests in constant time (security-checklist OA-6).
use std::collections::HashMap;

use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use latchkey_domain::secret::{constant_time_eq, sha256_hex};
use latchkey_store::ClientRecord;

use super::OAuthError;
use crate::state::AppState;

pub async fn authenticate(state: &AppState, headers: &HeaderMap, params: &HashMap<String, String>) -> Result<ClientRecord, OAuthError> {
    let basic = basic_credentials(headers)?;
    let (client_id, secret) = match (basic, params.get("client_secret")) {
        (Some(_), Some(_)) => return Err(OAuthError::InvalidRequest("use one client authentication method".to_owned())),
        (Some((id, secret)), None) => (id, Some(secret)),
        (None, secret) => (params.get("client_id").cloned().unwrap_or_default(), secret.cloned()),
    };
    if let Some(body_id) = params.get("client_id") {
        if body_id != &client_id {
            return Err(OAuthError::InvalidClient);
        }
    }
    // Not a client id at all (a NUL byte, which PostgreSQL refuses in text, was a 500 under
    // schemathesis): no such client, without asking the database.
    latchkey_domain::oauth::ClientId::parse(&client_id).map_err(|_| OAuthError::InvalidClient)?;
    let client = state.store.client(&client_id).await?.ok_or(OAuthError::InvalidClient)?;
    match (&client.secret_digest, secret) {
        (Some(digest), Some(secret)) if constant_time_eq(digest, &sha256_hex(&secret)) => Ok(client),
        (None, None) => Ok(client),
        _ => Err(OAuthError::InvalidClient),
    }
}

/// The body of a revocation or introspection request (RFC 7009 §2.1, RFC 7662 §2.1): the
/// authenticated client and the `token` it asks about.
pub async fn token_request(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(ClientRecord, String), OAuthError> {
    let params = crate::http::form::parse(body).map_err(OAuthError::InvalidRequest)?;
    let client = authenticate(state, headers, &params).await?;
    let token = params
        .get("token")
        .filter(|t| !t.is_empty() && t.len() <= 4096)
        .ok_or_else(|| OAuthError::InvalidRequest("token is required".to_owned()))?;
    Ok((client, token.clone()))
}

fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(encoded) = value.strip_prefix("Basic ") else {
        return Ok(None);
    };
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| OAuthError::InvalidClient)?;
    let decoded = String::from_utf8(decoded).map_err(|_| OAuthError::InvalidClient)?;
    let (id, secret) = decoded.split_once(':').ok_or(OAuthError::InvalidClient)?;
    let decode = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    Ok(Some((decode(id), decode(secret))))
}
