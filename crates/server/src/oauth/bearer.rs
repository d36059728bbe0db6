//! Whether an access token is live: ours (RS256, our `kid`, `at+jwt`), this server's issuer and
//! audience, unexpired, not revoked by `jti`, its user still able to sign in, and issued after
//! the user's last password change (a reset ends every earlier token: security-checklist SES-1)
//! and after the last time an administrator revoked all of the user's tokens.
use latchkey_proto::oauth::AccessTokenClaims;
use latchkey_store::UserRecord;

use super::OAuthError;
use crate::crypto::verify::access_token;
use crate::state::{AppState, AuthServer};

pub async fn live_access_token(
    state: &AppState,
    server: AuthServer,
    token: &str,
    now: i64,
) -> Result<Option<(AccessTokenClaims, UserRecord)>, OAuthError> {
    let keys = state.keys().await;
    let Some(claims) = access_token(&keys, token, &state.issuer(server), &state.audience(server), now) else {
        return Ok(None);
    };
    if state.store.is_jti_revoked(&claims.jti).await? {
        return Ok(None);
    }
    let user_id = latchkey_domain::UserId::from_trusted(claims.uid.clone());
    let Some(account) = state.store.user_by_id(&user_id).await? else {
        return Ok(None);
    };
    if !account.user.status.can_sign_in() {
        return Ok(None);
    }
    let cutoff = state.store.token_cutoff(&user_id).await?;
    if !latchkey_domain::session::access_token_is_live(claims.iat, claims.auth_time, account.user.password_changed_at, cutoff) {
        return Ok(None);
    }
    Ok(Some((claims, account)))
}

/// `Authorization: Bearer <token>` (RFC 6750 §2.1).
pub fn from_header(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}
