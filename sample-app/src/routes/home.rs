//! `GET /`: who is signed in, or a link to sign in (and, right after `/logout`, that the
//! sign-out happened).
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::AppState;
use crate::views;

#[derive(Deserialize)]
pub struct HomeParams {
    signed_out: Option<String>,
}

pub async fn show(State(app): State<AppState>, headers: HeaderMap, Query(params): Query<HomeParams>) -> Response {
    let session = app.sessions.current(&headers).map(|(_, session)| session);
    let user = session.as_ref().and_then(|s| s.user.as_ref().map(|user| (user, s.csrf_token.as_str())));
    views::home(user, params.signed_out.is_some()).into_response()
}
