//! `GET /signin/callback?interaction_code=…`: where the hosted page's widget lands on success.
//! Looks up the hosted (`authorize`) transaction the code belongs to and redirects to its
//! registered redirect URI with the code as the authorization code, the client's `state` from
//! the transaction (never from this URL) and `iss`. Nothing is redeemed here.
//!
//! The browser that started the transaction (its `latchkey_tx` cookie names it) also gets a new
//! identity-provider session here, so later `/v1/authorize` requests skip the page. A browser
//! that merely holds the code gets the redirect but no session: a leaked or injected code
//! never signs a browser in (login CSRF), and any session id planted earlier is ended, not
//! adopted (security-checklist SES-3).
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use latchkey_domain::interaction::Step;
use latchkey_domain::secret::sha256_hex;
use latchkey_store::InteractionRecord;

use super::authorize::transaction_cookie;
use super::error::HostedError;
use crate::state::AppState;

#[tracing::instrument(name = "hosted.callback", skip_all)]
pub async fn handle(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, HostedError> {
    let expired = HostedError::Expired {
        title: "Sign-in expired",
        message: "This sign-in has expired or was already used. Return to the application and sign in again.",
    };
    let Some(code) = query.get("interaction_code").filter(|c| !c.is_empty() && c.len() <= 512) else {
        return Err(expired);
    };
    let now = state.store.now().await?;
    let record = match state.store.interaction_by_code(&sha256_hex(code), now).await? {
        Some(record) if record.flow == latchkey_domain::interaction::Flow::Authorize => record,
        _ => return Err(expired),
    };
    let server = record.auth_server;
    let mut response = super::redirect::with_code(&record.redirect_uri, code, &record.oauth_state, &state.issuer(server));
    sign_in_this_browser(&state, &headers, &record, now, &mut response).await?;
    Ok(response)
}

async fn sign_in_this_browser(
    state: &AppState,
    headers: &HeaderMap,
    record: &InteractionRecord,
    now: i64,
    response: &mut Response,
) -> Result<(), HostedError> {
    let Step::Success { user_id } = &record.step else {
        return Ok(());
    };
    let Some(handle) = transaction_cookie(headers) else {
        return Ok(());
    };
    let started_here = state.store.interaction_by_handle(&sha256_hex(&handle), now).await?.is_some_and(|r| r.id == record.id);
    if !started_here {
        return Ok(());
    }
    crate::session::start(state, headers, user_id, (record.auth_time.unwrap_or(now), record.methods), now, response).await?;
    // The transaction is over; the emailed link must not find it through this browser again.
    crate::session::set_cookie(state, response, super::TRANSACTION_COOKIE, "", 0);
    Ok(())
}
