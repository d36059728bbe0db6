//! `GET /login`: starts the interaction server-side and renders the widget (recipe step 1).
//! The PKCE verifier, `state` and nonce are generated here and never leave the session; the
//! page gets only the interaction handle and the challenge.
//!
//! A browser that already has an unfinished sign-in resumes it instead of starting another
//! (issue 13, item 6): the recovery email it asked for belongs to that transaction, and its code
//! and link work only there. A second transaction started inside the mail gap would get no
//! email of its own, so the person could never finish it. The widget shows the transaction at
//! the step it reached; *Back to sign in* there starts over within it.
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;

use super::AppState;
use crate::oidc::code_challenge;
use crate::session::{random_token, PendingLogin, Session, WidgetConfig};
use crate::views;

#[tracing::instrument(name = "login", skip_all)]
pub async fn start(State(app): State<AppState>, headers: HeaderMap) -> Response {
    let config = &app.provider.config;
    if let Some((id, session)) = app.sessions.current(&headers) {
        if let Some(pending) = &session.pending {
            let mut page = super::widget_page(&app, &pending.widget, None).await;
            page.set_cookie = Some(app.sessions.cookie(&id));
            return page.into_response();
        }
    }
    let verifier = random_token();
    let state = random_token();
    let nonce = random_token();
    let challenge = code_challenge(&verifier);
    let started = async {
        let handle = app.provider.interact(&challenge, &state, &nonce).await?;
        let assets = app.provider.widget_assets().await?;
        Ok::<_, crate::oidc::OidcError>((handle, assets))
    };
    let (interaction_handle, assets) = match started.await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(%error, "the sign-in could not start");
            return views::problem(StatusCode::BAD_GATEWAY, &format!("The sign-in could not start: {error}")).into_response();
        }
    };
    let widget = WidgetConfig {
        issuer: config.issuer_str().to_owned(),
        client_id: config.client_id.clone(),
        redirect_uri: config.redirect_uri(),
        scopes: config.scopes.clone(),
        interaction_handle,
        state,
        code_challenge: challenge,
        code_challenge_method: "S256",
    };
    let pending = PendingLogin { widget: widget.clone(), code_verifier: SecretString::from(verifier), nonce, magic_link: None };
    // One sign-in per browser (an unfinished one was resumed above).
    let id = match app.sessions.current(&headers) {
        Some((id, mut session)) => {
            session.pending = Some(pending);
            app.sessions.save(&id, session);
            id
        }
        None => app.sessions.create(Session { pending: Some(pending), ..Session::default() }),
    };
    let mut page = views::widget(&widget, None, &assets, config.issuer_origin());
    page.set_cookie = Some(app.sessions.cookie(&id));
    page.into_response()
}
