//! `POST /idp/idx/challenge`: the Email authenticator was chosen → a code is issued and, for a
//! real account within its limits, mailed; the answer is the same in every case (REC-1, REC-7).
//! At a recovery's step-up the second factor is chosen here too (→ its challenge).
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_proto::idx::ChallengeRequest;

use latchkey_domain::interaction::{Step, StepError};

use super::render::{EMAIL_AUTHENTICATOR_ID, GOOGLE_OTP_AUTHENTICATOR_ID};
use super::steps::{field, refuse, respond, stale, view};
use super::{IdxError, IdxJson, Transaction};
use crate::state::AppState;

#[tracing::instrument(name = "idx.challenge", skip_all)]
pub async fn handle(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    IdxJson(body): IdxJson<ChallengeRequest>,
) -> Result<Response, IdxError> {
    let now = state.store.now().await?;
    let mut tx = Transaction::from_body(&state, &body, now).await?;
    // auth-js sends {"authenticator":{"id":…}}, the widget adds "methodType" (idx-protocol §6.3).
    let chosen = body.authenticator.as_ref().and_then(|a| a.id.as_deref());
    if let Step::RecoveryFactorSelect { .. } = tx.record.step {
        let next = tx.record.step.select_factor(now).map_err(|e| match e {
            StepError::GrantExpired => IdxError::SessionExpired,
            StepError::NotAvailable => stale(&state, &tx),
        })?;
        if chosen != Some(GOOGLE_OTP_AUTHENTICATOR_ID) {
            return Err(refuse(
                &state,
                &tx,
                StatusCode::BAD_REQUEST,
                field("authenticator", "E0000001", "Choose one of your authenticators."),
            ));
        }
        tx.record = state.store.advance_interaction(&tx.record.id, tx.record.version, &next).await?.ok_or_else(|| stale(&state, &tx))?;
        return Ok(respond(view(&state, &tx).render()));
    }
    let (next, subject) = tx.record.step.select_email().map_err(|_| stale(&state, &tx))?;
    if chosen != Some(EMAIL_AUTHENTICATOR_ID) {
        return Err(refuse(&state, &tx, StatusCode::BAD_REQUEST, field("authenticator", "E0000001", "Choose the Email authenticator.")));
    }
    let request = crate::mail::RequestInfo::from_request(&state, peer, &headers);
    let context = crate::http::event_context::of(&state, peer, &headers);
    let issued =
        super::code::issue(&state, &tx, &subject, (&next, true), (&request, &context), now).await?.ok_or_else(|| stale(&state, &tx))?;
    tx.record = issued.record;
    Ok(respond(view(&state, &tx).render()))
}
