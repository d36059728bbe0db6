//! `POST /api/v1/users/{id}/lifecycle/{activate|deactivate|suspend|unsuspend|unlock|reset_password}`.
//!
//! `activate` of a user without a password and `reset_password` hand out a set-password link:
//! emailed by default (`sendEmail=true`, Okta's default), or returned in the response with
//! `sendEmail=false` (Okta's `activationUrl` / `resetPasswordUrl` shapes; logged in `links`).
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_domain::user::Lifecycle;
use latchkey_domain::UserStatus;
use serde_json::json;

use super::links::{self, Issue, LinkPurpose};
use super::{AdminAuth, AdminError};
use crate::state::AppState;

/// `sendEmail` as Okta reads it: anything but `false` sends.
pub fn send_email(query: &HashMap<String, String>) -> bool {
    query.get("sendEmail").map(String::as_str) != Some("false")
}

#[tracing::instrument(name = "admin.users.lifecycle", skip_all, fields(action = %action))]
pub async fn handle(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AdminError> {
    let record =
        state.store.user_by_id_or_login(&id).await?.ok_or_else(|| AdminError::NotFound(format!("Resource not found: {id} (User)")))?;
    if action == "reset_password" {
        return reset_password((&state, &auth), &record, send_email(&query)).await;
    }
    let lifecycle = Lifecycle::parse(&action).ok_or_else(|| AdminError::NotFound(format!("Resource not found: lifecycle/{action}")))?;
    let next =
        lifecycle.apply(record.user.status, record.user.has_password).map_err(|e| AdminError::Validation(vec![format!("status: {e}")]))?;
    if lifecycle == Lifecycle::Activate && next == UserStatus::Provisioned {
        // Activated without a password: the status moves with the link, in its transaction
        // and its one `user.lifecycle.activate` event.
        let issue = Issue { send_email: send_email(&query), activate: true };
        let link = links::issue((&state, &auth), &record, LinkPurpose::Activation, issue).await?;
        tracing::info!(event = "admin.user_lifecycle", user_id = %record.user.id.as_str(), status = next.as_str(), "user status changed");
        if let Some(link) = link {
            return Ok(Json(json!({"activationUrl": link.url, "activationToken": link.token})).into_response());
        }
        return Ok(Json(json!({})).into_response());
    }
    let now = state.store.now().await?;
    // Unlocking and reactivating give the account a clean slate of failure counters.
    let clear_counters = matches!(lifecycle, Lifecycle::Unlock | Lifecycle::Activate | Lifecycle::Unsuspend);
    state.store.set_status(&record.user.id, next, clear_counters, (lifecycle.into(), &auth.audit()), now).await?;
    tracing::info!(event = "admin.user_lifecycle", user_id = %record.user.id.as_str(), status = next.as_str(), "user status changed");
    Ok(Json(json!({})).into_response())
}

/// Starts an administrator's password reset: the user keeps their password until they use
/// the link, which an administrator can never see unless they asked for it (ADM-3).
async fn reset_password(
    (state, auth): (&AppState, &AdminAuth),
    record: &latchkey_store::UserRecord,
    send_email: bool,
) -> Result<Response, AdminError> {
    if !matches!(record.user.status, UserStatus::Active | UserStatus::LockedOut) {
        return Err(AdminError::Validation(vec![format!(
            "status: cannot reset the password of a user whose status is {}",
            record.user.status.as_str()
        )]));
    }
    match links::issue((state, auth), record, LinkPurpose::AdminReset, Issue { send_email, activate: false }).await? {
        Some(link) => Ok(Json(json!({"summary": "Reset password without sending email", "resetPasswordUrl": link.url})).into_response()),
        None => Ok(Json(json!({})).into_response()),
    }
}
