//! `POST /idp/idx/cancel`: back to the sign-in form on the same transaction, so the app's
//! `state` and PKCE pair stay valid (the Gen3 widget cancels before recovering, §6.1).
use axum::extract::State;
use axum::response::Response;
use latchkey_domain::interaction::Step;

use latchkey_proto::idx::CancelRequest;

use super::{IdxError, IdxJson};
use crate::state::AppState;

#[tracing::instrument(name = "idx.cancel", skip_all)]
pub async fn handle(State(state): State<AppState>, IdxJson(body): IdxJson<CancelRequest>) -> Result<Response, IdxError> {
    super::steps::simple_move(&state, &body, Step::cancel).await
}
