//! `POST /idp/idx/recover`: "Forgot password?" on the sign-in form → ask for the identifier.
use axum::extract::State;
use axum::response::Response;
use latchkey_domain::interaction::Step;

use latchkey_proto::idx::RecoverRequest;

use super::{IdxError, IdxJson};
use crate::state::AppState;

#[tracing::instrument(name = "idx.recover", skip_all)]
pub async fn handle(State(state): State<AppState>, IdxJson(body): IdxJson<RecoverRequest>) -> Result<Response, IdxError> {
    super::steps::simple_move(&state, &body, Step::recover).await
}
