//! `GET /magic-link/callback?otp=…&state=…`: where the customized ForgotPassword email points
//! (recipe step 3, idx-protocol §7.2).
//!
//! This handler never verifies or redeems the code: a GET must be safe, because mail scanners
//! and link previews open links too (security-checklist PRE-1). It only decides which page to
//! show. In the browser that started the sign-in, the widget gets the code and submits it
//! itself; anywhere else the page shows the code to type in the original tab, and nothing
//! else, so a link opened elsewhere can never sign anyone in (LNK-3). The page is the same
//! whether the code is valid or not (PRE-2).
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{same, AppState};
use crate::views;

#[derive(Deserialize)]
pub struct LinkParams {
    otp: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Longer values are not from our email: Latchkey codes are at most 10 digits and `state` at
/// most 512 characters.
const MAX_OTP: usize = 32;
const MAX_STATE: usize = 512;

#[tracing::instrument(name = "magic_link.callback", skip_all)]
pub async fn open(State(app): State<AppState>, headers: HeaderMap, Query(link): Query<LinkParams>) -> Response {
    if let Some(error) = &link.error {
        return views::oauth_error(error, link.error_description.as_deref().unwrap_or_default()).into_response();
    }
    let session = app.sessions.current(&headers);
    let saved = session.as_ref().and_then(|(_, s)| s.pending.as_ref()).and_then(|p| p.magic_link.clone());
    let (otp, state) = match (link.otp.zip(link.state), saved) {
        (Some(from_link), _) => from_link,
        // A reload: the page already removed otp and state from the address bar.
        (None, Some(saved)) => saved,
        (None, None) => return views::incomplete_link().into_response(),
    };
    if otp.is_empty() || otp.len() > MAX_OTP || state.len() > MAX_STATE {
        return views::problem(StatusCode::BAD_REQUEST, "This link is malformed.").into_response();
    }
    // Same browser: the session that started this sign-in is here and the state matches.
    if let Some((id, mut session)) = session {
        if let Some(pending) = session.pending.as_mut().filter(|p| same(&p.widget.state, &state)) {
            pending.magic_link = Some((otp.clone(), state));
            let widget = pending.widget.clone();
            app.sessions.save(&id, session);
            return super::widget_page(&app, &widget, Some(&otp)).await.into_response();
        }
    }
    // Any other browser: show the code, set no cookie, change nothing.
    views::enter_otp_in_original_tab(&otp).into_response()
}
