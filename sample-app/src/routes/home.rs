//! `GET /`: who is signed in, or a link to sign in.
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::views;

pub async fn show(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let session = app.sessions.current(&headers).map(|(_, session)| session);
    let user = session.as_ref().and_then(|s| s.user.as_ref().map(|user| (user, s.csrf_token.as_str())));
    views::home(user).into_response()
}
