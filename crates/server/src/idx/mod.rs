//! The IDX adapter (`/idp/idx/*`): parses each request into a domain move, lets the domain and
//! the store decide, and renders the transaction's state through the one renderer in
//! `render.rs`. One file per step, as mini-redis keeps one file per command.
//!
//! Discretion lives here, not in the domain: unknown, suspended and throttled identifiers get
//! exactly the responses a real one gets (security-checklist REC-1), and every answer on a
//! known transaction carries the full current state, errors included (idx-protocol §4.7).
mod answer;
mod cancel;
mod challenge;
mod code;
mod error;
mod identify;
mod introspect;
mod recover;
pub mod render;
mod request;
mod resend;
mod steps;

pub use error::IdxError;
pub use request::{IdxJson, NamesTransaction, Transaction};

use axum::routing::post;
use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/idp/idx/introspect", post(introspect::handle))
        .route("/idp/idx/identify", post(identify::handle))
        .route("/idp/idx/recover", post(recover::handle))
        .route("/idp/idx/challenge", post(challenge::handle))
        // Okta posts `select-authenticator-enroll` here; the step decides what a choice means.
        .route("/idp/idx/credential/enroll", post(challenge::handle))
        .route("/idp/idx/challenge/answer", post(answer::handle))
        .route("/idp/idx/challenge/resend", post(resend::handle))
        .route("/idp/idx/cancel", post(cancel::handle))
}
