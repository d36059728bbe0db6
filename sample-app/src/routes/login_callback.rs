//! `GET /login/callback`: the end of every sign-in (recipe step 4). The widget arrives with
//! `interaction_code` and `state`; the hosted `/v1/authorize` flow with `code` and `state`.
//! The code is exchanged only when `state` matches the sign-in this browser started (CSRF on
//! the redirect, RFC 9700 §4.7), with this session's PKCE verifier and the client secret.
use axum::extract::{Query, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{same, AppState};
use crate::oidc::Grant;
use crate::session::Session;
use crate::views;

#[derive(Deserialize)]
pub struct CallbackParams {
    interaction_code: Option<String>,
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[tracing::instrument(name = "login.callback", skip_all)]
pub async fn finish(State(app): State<AppState>, headers: HeaderMap, Query(params): Query<CallbackParams>) -> Response {
    if let Some(error) = &params.error {
        return views::oauth_error(error, params.error_description.as_deref().unwrap_or_default()).into_response();
    }
    let Some((id, mut session)) = app.sessions.current(&headers) else {
        return refuse("This browser has no sign-in in progress (it may have expired). Nothing was exchanged.");
    };
    let Some(pending) = session.pending.take() else {
        return refuse("This browser has no sign-in in progress (it may have expired). Nothing was exchanged.");
    };
    if !same(&pending.widget.state, params.state.as_deref().unwrap_or_default()) {
        tracing::warn!(event = "login.state_mismatch", "callback state does not match the session");
        // Keep the pending sign-in: a forged link must not cancel the user's real one.
        session.pending = Some(pending);
        app.sessions.save(&id, session);
        return refuse("The state of this callback does not match the sign-in started in this browser, so its code was not used.");
    }
    let grant = match (params.interaction_code.as_deref(), params.code.as_deref()) {
        (Some(code), None) => Grant::InteractionCode(code),
        (None, Some(code)) => Grant::AuthorizationCode(code),
        _ => return refuse("The callback needs exactly one of interaction_code or code."),
    };
    // Single use: the pending sign-in is gone before the exchange, whatever its outcome.
    app.sessions.save(&id, session.clone());
    let outcome = async {
        let tokens = app.provider.exchange(grant, &pending.code_verifier).await?;
        let id_token =
            tokens.id_token.ok_or_else(|| crate::oidc::OidcError::InvalidIdToken("the token response has no id_token".into()))?;
        app.provider.validate_id_token(&id_token, &pending.nonce).await
    };
    let user = match outcome.await {
        Ok(user) => user,
        Err(error) => {
            tracing::warn!(%error, "the sign-in could not be completed");
            return views::problem(StatusCode::BAD_GATEWAY, &format!("The sign-in could not be completed: {error}")).into_response();
        }
    };
    tracing::info!(event = "login.signed_in", subject = %user.subject, "signed in");
    // A new session id at sign-in (security-checklist SES-2): the old one is discarded.
    app.sessions.remove(&id);
    let new_id = app.sessions.create(Session { user: Some(user), ..Session::default() });
    // Post/Redirect/Get: the code leaves the address bar and history.
    let mut response = (StatusCode::SEE_OTHER, [(LOCATION, "/")]).into_response();
    response.headers_mut().insert(SET_COOKIE, app.sessions.cookie(&new_id));
    response
}

fn refuse(message: &str) -> Response {
    views::problem(StatusCode::BAD_REQUEST, message).into_response()
}
