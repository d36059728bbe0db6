//! The code grants. Both redeem the transaction's single-use code, each only for its own kind of
//! transaction. The code is redeemed atomically first, so a replay fails even when it races the
//! first use; then the client, the redirect URI and the PKCE verifier must all match. A code
//! presented again revokes what its first redemption produced (security-checklist OA-2).
use std::collections::HashMap;

use axum::response::Response;
use latchkey_domain::interaction::{Flow, Step};
use latchkey_domain::oauth::{CodeChallenge, CodeVerifier, Scopes};
use latchkey_domain::secret::sha256_hex;
use latchkey_store::ClientRecord;

use super::issue::{issue, Grant};
use super::OAuthError;
use crate::state::{AppState, AuthServer};

pub async fn redeem(
    state: &AppState,
    server: AuthServer,
    client: &ClientRecord,
    (grant, params): (&str, &HashMap<String, String>),
    context: &latchkey_store::EventContext,
) -> Result<Response, OAuthError> {
    let (code_param, flow) = if grant == Flow::Idx.grant() { ("interaction_code", Flow::Idx) } else { ("code", Flow::Authorize) };
    let code = params
        .get(code_param)
        .filter(|c| !c.is_empty() && c.len() <= 512)
        .ok_or_else(|| OAuthError::InvalidRequest(format!("{code_param} is required")))?;
    let verifier = CodeVerifier::parse(params.get("code_verifier").map(String::as_str).unwrap_or_default())
        .map_err(|e| OAuthError::InvalidRequest(e.0))?;
    let now = state.store.now().await?;
    let digest = sha256_hex(code);
    let Some(record) = state.store.redeem_interaction_code(&digest, flow, now).await? else {
        state.store.replay_code(&digest, now).await?;
        return Err(OAuthError::InvalidGrant("The code is invalid, expired or already used."));
    };
    if record.client_id != client.client_id || record.auth_server != server {
        return Err(OAuthError::InvalidGrant("The interaction code was not issued to this client."));
    }
    if params.get("redirect_uri") != Some(&record.redirect_uri) {
        return Err(OAuthError::InvalidGrant("The redirect_uri does not match the one used to start the transaction."));
    }
    let challenge =
        CodeChallenge::parse(&record.code_challenge, "S256").map_err(|_| OAuthError::InvalidGrant("PKCE verification failed."))?;
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
    let auth_time = record.auth_time.or(account.user.last_login_at).unwrap_or(now);
    // A code from a sign-in that a password change overtook redeems nothing: its tokens would
    // carry a fresh `iat` past the bearer check's cutoff.
    if !latchkey_domain::session::proof_is_current(record.credential_at, auth_time, account.user.password_changed_at) {
        return Err(OAuthError::InvalidGrant("The password changed after this sign-in."));
    }
    let response = issue(
        state,
        server,
        client,
        &account.user,
        &scopes,
        Grant::Code {
            interaction_id: &record.id,
            nonce: record.nonce.as_deref(),
            auth_time,
            context,
            credential_at: record.credential_at,
            methods: record.methods,
        },
        now,
    )
    .await?;
    if flow == Flow::Idx {
        crate::metrics::funnel::tokens_issued(&account.user, record.created_at);
    }
    Ok(response)
}
