//! Delivery visibility: `GET /api/v1/mail/messages?status=&limit=` lists outbox rows (never
//! their payload, which holds codes and links; recipients masked) and
//! `POST /api/v1/mail/messages/{id}/resend` requeues an unsent, unexpired one.
use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_email::mask_address;
use latchkey_store::{OutboxMessage, OutboxStatus};
use serde_json::{json, Value};

use super::render::iso;
use super::{AdminAuth, AdminError};
use crate::state::AppState;

fn message_json(m: &OutboxMessage) -> Value {
    json!({
        "id": m.id,
        "kind": m.kind,
        "recipient": mask_address(&m.recipient),
        "status": m.status.as_str(),
        "attempts": m.attempts,
        "lastError": m.last_error,
        "created": iso(m.created_at),
        "sent": m.sent_at.map(iso),
        "expires": m.expires_at.map(iso),
    })
}

#[tracing::instrument(name = "admin.mail.list", skip_all)]
pub async fn list(
    _: AdminAuth,
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AdminError> {
    let status =
        match query.get("status") {
            Some(s) => Some(OutboxStatus::parse(s).ok_or_else(|| {
                AdminError::Validation(vec![format!("status: {s:?} is not one of queued, deferred, sent, failed, expired")])
            })?),
            None => None,
        };
    let limit = match query.get("limit") {
        Some(l) => l.parse::<i64>().map_err(|_| AdminError::Validation(vec![format!("limit: {l:?} is not a number")]))?.clamp(1, 200),
        None => 50,
    };
    let messages = state.store.outbox_messages(status, limit).await?;
    Ok(Json(messages.iter().map(message_json).collect::<Vec<_>>()).into_response())
}

#[tracing::instrument(name = "admin.mail.resend", skip_all)]
pub async fn resend(auth: AdminAuth, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AdminError> {
    if state.store.outbox_message(&id).await?.is_none() {
        return Err(AdminError::NotFound(format!("Resource not found: {id} (MailMessage)")));
    }
    let now = state.store.now().await?;
    if !state.store.requeue_outbox(&id, &auth.audit(), now).await? {
        return Err(AdminError::Conflict { code: "E0000185", summary: "Only an unsent, unexpired message can be resent.".to_owned() });
    }
    state.outbox_wake.notify_one();
    tracing::info!(event = "admin.mail_resend", outbox_id = %id, "message requeued");
    let message = state.store.outbox_message(&id).await?.ok_or_else(|| AdminError::NotFound(id.clone()))?;
    Ok(Json(message_json(&message)).into_response())
}
