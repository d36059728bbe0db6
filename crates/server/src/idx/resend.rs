//! `POST /idp/idx/challenge/resend`: a new code supersedes the old one and is mailed, within the
//! mail limits; over them nothing is sent and the live code stays. The answer is the same.
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;
use latchkey_proto::idx::ResendRequest;

use super::steps::{respond, stale, view};
use super::{IdxError, IdxJson, Transaction};
use crate::state::AppState;

#[tracing::instrument(name = "idx.resend", skip_all)]
pub async fn handle(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    IdxJson(body): IdxJson<ResendRequest>,
) -> Result<Response, IdxError> {
    let now = state.store.now().await?;
    let mut tx = Transaction::from_body(&state, &body, now).await?;
    let subject = tx.record.step.challenged_subject().map_err(|_| stale(&state, &tx))?.clone();
    let current = tx.record.step.clone();
    // The resend re-writes the challenge step by compare-and-set, so it cannot slip a code in
    // after a concurrent cancel or re-identify moved the transaction.
    let request = crate::mail::RequestInfo::from_request(&state, peer, &headers);
    let context = crate::http::event_context::of(&state, peer, &headers);
    let issued =
        super::code::issue(&state, &tx, &subject, (&current, false), (&request, &context), now).await?.ok_or_else(|| stale(&state, &tx))?;
    tx.record = issued.record;
    Ok(respond(view(&state, &tx).render()))
}
