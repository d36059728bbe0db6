//! `GET {baseUrl}/v1/logout`: OpenID Connect RP-Initiated Logout 1.0. The client proves who it
//! is with `id_token_hint` (an ID token we signed, expired or not); `post_logout_redirect_uri`
//! must equal one of that client's registered URIs exactly, and `state` is echoed.
//!
//! Anything not proven gets a page and no redirect, and ends nothing (security-checklist
//! WEB-5): a forged link can neither bounce the user elsewhere nor sign them out. The session
//! ends only when the hint names the session's own user, so an attacker's ID token cannot sign
//! a victim out either.
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::page::message_page;
use crate::http::event_context::RequestContext;
use crate::oauth::OAuthError;
use crate::session::{presented_digest, SESSION_COOKIE};
use crate::state::{AppState, AuthServer};

#[tracing::instrument(name = "hosted.logout", skip_all, fields(server = server.as_str()))]
pub async fn handle(
    State(state): State<AppState>,
    server: AuthServer,
    RequestContext(context): RequestContext,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    match logout(&state, server, (&headers, &context), query.as_deref().unwrap_or_default()).await {
        Ok(response) => response,
        Err(Refusal::Page(reason)) => message_page(StatusCode::BAD_REQUEST, "Sign-out request not valid", reason),
        Err(Refusal::Internal(error)) => error.into_response(),
    }
}

enum Refusal {
    Page(&'static str),
    Internal(OAuthError),
}

impl From<latchkey_store::StoreError> for Refusal {
    fn from(e: latchkey_store::StoreError) -> Self {
        Self::Internal(e.into())
    }
}

async fn logout(
    state: &AppState,
    server: AuthServer,
    (headers, context): (&HeaderMap, &latchkey_store::EventContext),
    query: &str,
) -> Result<Response, Refusal> {
    let params = crate::http::form::parse(query.as_bytes()).map_err(|_| Refusal::Page("The sign-out request is malformed."))?;
    let hint = params.get("id_token_hint").ok_or(Refusal::Page("The application did not identify itself (id_token_hint is required)."))?;
    let now = state.store.now().await?;
    let keys = state.keys().await;
    let claims = crate::crypto::verify::id_token_hint(&keys, hint, &state.issuer(server), now)
        .ok_or(Refusal::Page("The application's id_token_hint is not valid."))?;
    let client = state.store.client(&claims.aud).await?.ok_or(Refusal::Page("The application is not registered."))?;
    let target = match params.get("post_logout_redirect_uri") {
        // Exact string comparison, as for redirect_uri (OA-1, WEB-5).
        Some(uri) if client.post_logout_redirect_uris.iter().any(|registered| registered == uri) => Some(uri),
        Some(_) => return Err(Refusal::Page("post_logout_redirect_uri is not registered for this application.")),
        None => None,
    };
    let mut response = match target {
        Some(uri) => {
            let mut url = url::Url::parse(uri).map_err(|_| Refusal::Page("post_logout_redirect_uri is not a URL."))?;
            if let Some(s) = params.get("state").filter(|s| !s.is_empty()) {
                url.query_pairs_mut().append_pair("state", s);
            }
            Redirect::to(url.as_str()).into_response()
        }
        None => message_page(StatusCode::OK, "Signed out", "You have been signed out."),
    };
    if let Some(session) = crate::session::current(state, headers, now).await? {
        if session.user_id.as_str() == claims.sub {
            if let Some(digest) = presented_digest(headers) {
                state.store.end_session(&digest, context, now).await?;
            }
            crate::session::set_cookie(state, &mut response, SESSION_COOKIE, "", 0);
            tracing::info!(event = "session.ended", user_id = %claims.sub, "signed out");
        }
    }
    Ok(response)
}
