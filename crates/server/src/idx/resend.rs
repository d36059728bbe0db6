//! `POST /idp/idx/challenge/resend`: a new code supersedes the old one and is mailed, within the
//! mail limits; over them nothing is sent and the live code stays. The answer is the same.
use axum::extract::State;
use axum::response::Response;

use super::steps::{respond, stale, view};
use super::{IdxBody, IdxError, Transaction};
use crate::state::AppState;

#[tracing::instrument(name = "idx.resend", skip_all)]
pub async fn handle(State(state): State<AppState>, body: IdxBody) -> Result<Response, IdxError> {
    let now = state.store.now().await?;
    let tx = Transaction::from_body(&state, &body, now).await?;
    let subject = tx.record.step.challenged_subject().map_err(|_| stale(&state, &tx))?.clone();
    super::code::issue(&state, &tx, &subject, None, now).await?;
    Ok(respond(view(&state, &tx).render()))
}
