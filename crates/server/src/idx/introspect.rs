//! `POST /idp/idx/introspect`: the current state of a transaction, by interaction handle (a new
//! tab, the magic-link tab: idx-protocol §7.4) or by state handle. Never changes anything.
use axum::extract::State;
use axum::response::Response;
use latchkey_domain::interaction::Step;
use latchkey_domain::secret::sha256_hex;
use latchkey_proto::idx::IntrospectRequest;

use super::steps::{respond, view};
use super::{IdxError, IdxJson, Transaction};
use crate::state::AppState;

#[tracing::instrument(name = "idx.introspect", skip_all)]
pub async fn handle(State(state): State<AppState>, IdxJson(body): IdxJson<IntrospectRequest>) -> Result<Response, IdxError> {
    // Expiry is the only decision here, taken by the database clock inside the look-up: one
    // round trip, not a clock read and then the look-up.
    let tx = match body.interaction_handle.as_deref() {
        Some(handle) if !handle.is_empty() && handle.len() <= 512 => {
            let record = state.store.live_interaction_by_handle(&sha256_hex(handle)).await?.ok_or(IdxError::SessionExpired)?;
            let state_handle = state.keys().await.state_handle_for(handle);
            Transaction::load(&state, record, state_handle).await?
        }
        Some(_) => return Err(IdxError::SessionExpired),
        None => Transaction::live_from_body(&state, &body).await?,
    };
    // A finished transaction's code was handed out once, in the response that issued it.
    if matches!(tx.record.step, Step::Success { .. }) {
        return Err(IdxError::SessionExpired);
    }
    Ok(respond(view(&state, &tx).render()))
}
