//! `POST /api/v1/users/{id}/lifecycle/{activate|deactivate|suspend|unsuspend|unlock}`.
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_domain::user::Lifecycle;

use super::{AdminAuth, AdminError};
use crate::state::AppState;

#[tracing::instrument(name = "admin.users.lifecycle", skip_all, fields(action = %action))]
pub async fn handle(_: AdminAuth, State(state): State<AppState>, Path((id, action)): Path<(String, String)>) -> Result<Response, AdminError> {
    let lifecycle = Lifecycle::parse(&action).ok_or_else(|| AdminError::NotFound(format!("Resource not found: lifecycle/{action}")))?;
    let record = state.store.user_by_id_or_login(&id).await?.ok_or_else(|| AdminError::NotFound(format!("Resource not found: {id} (User)")))?;
    let next = lifecycle
        .apply(record.user.status, record.user.has_password)
        .map_err(|e| AdminError::Validation(vec![format!("status: {e}")]))?;
    let now = state.store.now().await?;
    // Unlocking and reactivating give the account a clean slate of failure counters.
    let clear_counters = matches!(lifecycle, Lifecycle::Unlock | Lifecycle::Activate | Lifecycle::Unsuspend);
    state.store.set_status(&record.user.id, next, clear_counters, now).await?;
    tracing::info!(event = "admin.user_lifecycle", user_id = %record.user.id.as_str(), status = next.as_str(), "user status changed");
    Ok(Json(serde_json::json!({})).into_response())
}
