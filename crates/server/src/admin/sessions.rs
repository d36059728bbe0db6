//! `DELETE /api/v1/users/{id}/sessions[?oauthTokens=true]`: Okta's "clear user sessions".
//!
//! Ends every identity-provider session of the user, so the next authorize request asks them to
//! sign in again. With `oauthTokens=true` it also revokes the user's refresh tokens and every
//! access token issued so far (Okta's default is `false`: the applications' tokens live on).
//! Okta's `forgetDevices` is accepted and has nothing to act on: Latchkey remembers no devices.
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use super::{AdminAuth, AdminError};
use crate::state::AppState;

/// `oauthTokens`: absent is `false` (Okta's default). The spellings Okta's Java stack takes
/// for a boolean are taken, case-insensitively; anything else is refused rather than guessed,
/// since reading a typo as `false` would silently leave the tokens alive.
fn revoke_tokens(query: &HashMap<String, String>) -> Result<bool, AdminError> {
    let Some(raw) = query.get("oauthTokens") else {
        return Ok(false);
    };
    match raw.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "1" => Ok(true),
        "false" | "no" | "off" | "0" => Ok(false),
        _ => Err(AdminError::Validation(vec!["oauthTokens: must be true or false".to_owned()])),
    }
}

#[tracing::instrument(name = "admin.users.clear_sessions", skip_all)]
pub async fn clear(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<StatusCode, AdminError> {
    let revoke_tokens = revoke_tokens(&query)?;
    let record =
        state.store.user_by_id_or_login(&id).await?.ok_or_else(|| AdminError::NotFound(format!("Resource not found: {id} (User)")))?;
    let now = state.store.now().await?;
    let ended = state.store.clear_user_sessions(&record.user.id, revoke_tokens, &auth.audit(), now).await?;
    tracing::info!(
        event = "admin.user_sessions_cleared",
        user_id = %record.user.id.as_str(),
        sessions = ended,
        oauth_tokens = revoke_tokens,
        "user sessions cleared"
    );
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oauth_tokens_defaults_to_false_and_refuses_typos() {
        let q = |v: &str| HashMap::from([("oauthTokens".to_owned(), v.to_owned())]);
        assert!(!revoke_tokens(&HashMap::new()).expect("absent"));
        assert!(!revoke_tokens(&q("false")).expect("false"));
        assert!(revoke_tokens(&q("true")).expect("true"));
        assert!(revoke_tokens(&q("TRUE")).expect("case-insensitive"));
        assert!(revoke_tokens(&q("ture")).is_err());
        assert!(revoke_tokens(&q("")).is_err());
    }
}
