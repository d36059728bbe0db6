//! `POST /logout`: ends the app session. A POST with the session's CSRF token, so another
//! site cannot sign the user out (and `SameSite=Lax` already withholds the cookie from
//! cross-site POSTs). The identity server's own session is untouched in this sample.
use axum::extract::State;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use super::{same, AppState};
use crate::views;

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf_token: String,
}

pub async fn submit(State(app): State<AppState>, headers: HeaderMap, Form(form): Form<LogoutForm>) -> Response {
    match app.sessions.current(&headers) {
        Some((id, session)) if same(&session.csrf_token, &form.csrf_token) => {
            app.sessions.remove(&id);
            // The home page confirms the sign-out (a flag in the URL: nothing secret, nothing stored).
            let mut response = (StatusCode::SEE_OTHER, [(LOCATION, "/?signed_out=1")]).into_response();
            response.headers_mut().insert(SET_COOKIE, app.sessions.clear_cookie());
            response
        }
        _ => views::problem(StatusCode::FORBIDDEN, "This sign-out request did not come from this app's page.").into_response(),
    }
}
