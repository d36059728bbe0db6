//! `POST /idp/idx/recover`: "Forgot password?" on the sign-in form → ask for the identifier.
use axum::extract::State;
use axum::response::Response;
use latchkey_domain::interaction::Step;

use super::{IdxBody, IdxError};
use crate::state::AppState;

#[tracing::instrument(name = "idx.recover", skip_all)]
pub async fn handle(State(state): State<AppState>, body: IdxBody) -> Result<Response, IdxError> {
    super::steps::simple_move(&state, &body, Step::recover).await
}
