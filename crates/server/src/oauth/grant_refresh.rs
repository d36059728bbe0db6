//! The `refresh_token` grant (RFC 6749 §6): the presented token is rotated (the rules are
//! `latchkey_domain::refresh`); a rotated token presented again revokes its whole family
//! (security-checklist OA-7). `scope` may narrow, never widen, the family's scopes.
use std::collections::HashMap;

use axum::response::Response;
use latchkey_domain::oauth::Scopes;
use latchkey_domain::secret::sha256_hex;
use latchkey_domain::BearerToken;
use latchkey_store::{ClientRecord, RotateOutcome};

use super::issue::{issue, Grant};
use super::OAuthError;
use crate::state::{AppState, AuthServer};

const REFUSED: OAuthError = OAuthError::InvalidGrant("The refresh token is invalid, expired or revoked.");

pub async fn redeem(
    state: &AppState,
    server: AuthServer,
    client: &ClientRecord,
    params: &HashMap<String, String>,
    context: &latchkey_store::EventContext,
) -> Result<Response, OAuthError> {
    let presented = params
        .get("refresh_token")
        .filter(|t| !t.is_empty() && t.len() <= 512)
        .ok_or_else(|| OAuthError::InvalidRequest("refresh_token is required".to_owned()))?;
    let digest = sha256_hex(presented);
    // The scope is checked before the token is spent, so a refused request changes nothing.
    let family_scopes = state.store.refresh_token(&digest).await?.map(|r| r.scopes).ok_or(REFUSED)?;
    let granted = Scopes::parse(&family_scopes).map_err(|e| OAuthError::Internal(anyhow::anyhow!(e.0)))?;
    let scopes = match params.get("scope").filter(|s| !s.is_empty()) {
        Some(requested) => {
            let requested = Scopes::parse(requested).map_err(|_| OAuthError::InvalidScope)?;
            if !requested.joined().split(' ').all(|s| granted.contains(s)) {
                return Err(OAuthError::InvalidScope);
            }
            requested
        }
        None => granted,
    };
    let now = state.store.now().await?;
    let successor = BearerToken::generate();
    let outcome = state
        .store
        .rotate_refresh_token(&digest, (&client.client_id, server.as_str()), &successor.digest(), &state.refresh, context, now)
        .await?;
    let previous = match outcome {
        RotateOutcome::Rotated(previous) => previous,
        RotateOutcome::FamilyRevoked | RotateOutcome::Refused => return Err(REFUSED),
    };
    let account = state.store.user_by_id(&previous.user_id).await?.ok_or(REFUSED)?;
    if !account.user.status.can_sign_in() {
        return Err(REFUSED);
    }
    issue(
        state,
        server,
        client,
        &account.user,
        &scopes,
        Grant::Refresh { successor: &successor, auth_time: previous.auth_time, methods: previous.methods },
        now,
    )
    .await
}
