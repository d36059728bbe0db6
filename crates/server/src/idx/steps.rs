//! Helpers every step handler shares: building the view, answering, refusing a stale step.
use axum::http::header::{HeaderValue, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use latchkey_proto::idx::{IdxResponse, Message};

use super::error::Problem;
use super::render::View;
use super::{IdxError, Transaction};
use crate::state::AppState;

pub fn view<'a>(state: &'a AppState, tx: &'a Transaction) -> View<'a> {
    let server = tx.record.auth_server;
    View {
        public_url: &state.public_url,
        state_handle: &tx.state_handle,
        record: &tx.record,
        policy: &state.policies.password,
        token_url: format!("{}/v1/token", state.oauth_base(server)),
        setup: tx.setup.as_deref(),
        passkey: tx.passkey.as_deref(),
        choices: tx.choices,
    }
}

/// 200 with `Content-Type: application/json` (idx-protocol §2.2: auth-js only parses error
/// bodies with that type).
pub fn respond(body: IdxResponse) -> Response {
    let mut response = (StatusCode::OK, axum::Json(body)).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A step that does not fit the transaction's current state (another tab moved it, a replay):
/// 400 with the current state, nothing changed.
pub fn stale(state: &AppState, tx: &Transaction) -> IdxError {
    refuse(
        state,
        tx,
        StatusCode::BAD_REQUEST,
        Problem::Global(Message::error(
            "api.idx.step.unavailable",
            "This step is no longer available. Continue from the current step.",
            vec![],
        )),
    )
}

pub fn refuse(state: &AppState, tx: &Transaction, status: StatusCode, problem: Problem) -> IdxError {
    IdxError::Step { status, state: Box::new(view(state, tx).render()), problem }
}

pub fn field(path: &'static str, key: &str, message: &str) -> Problem {
    Problem::Field { path, message: Message::error(key, message, vec![]) }
}

pub fn too_many(state: &AppState, tx: &Transaction, retry_after_ms: i64) -> IdxError {
    IdxError::TooManyRequests { retry_after_secs: (retry_after_ms + 999) / 1000, state: Some(Box::new(view(state, tx).render())) }
}

/// A move that needs no outside facts (recover, cancel): apply it, persist it, render.
pub async fn simple_move(
    state: &AppState,
    body: &impl super::NamesTransaction,
    mv: fn(&latchkey_domain::interaction::Step) -> Result<latchkey_domain::interaction::Step, latchkey_domain::interaction::StepError>,
) -> Result<Response, IdxError> {
    let now = state.store.now().await?;
    let mut tx = Transaction::from_body(state, body, now).await?;
    let next = mv(&tx.record.step).map_err(|_| stale(state, &tx))?;
    if next != tx.record.step {
        tx.record = state.store.advance_interaction(&tx.record.id, tx.record.version, &next).await?.ok_or_else(|| stale(state, &tx))?;
    }
    Ok(respond(view(state, &tx).render()))
}
