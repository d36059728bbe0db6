//! `GET /signin/reset-password?otp=…&state=…`: the default `${resetPasswordLink}`. It does for
//! hosted flows what the recipe's app callback does for apps: in the browser that started the
//! transaction (its `latchkey_tx` cookie names a live transaction with this `state`) the widget
//! continues it with the code; anywhere else the widget only shows the code to type in the
//! original tab. This GET changes nothing (mail scanners open links: PRE-1), and the page is
//! the same whether the code is right, wrong or expired (PRE-2).
use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use latchkey_domain::secret::sha256_hex;
use serde_json::json;

use super::authorize::transaction_cookie;
use super::error::HostedError;
use super::page::widget_page;
use crate::state::{AppState, AuthServer};

#[tracing::instrument(name = "hosted.reset_password", skip_all)]
pub async fn handle(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, HostedError> {
    let otp = query.get("otp").map(String::as_str).unwrap_or_default();
    let oauth_state = query.get("state").map(String::as_str).unwrap_or_default();
    let lang = super::language::from_headers(&headers);
    let mut config = json!({
        "issuer": state.issuer(AuthServer::Default),
        "otp": otp.chars().take(16).collect::<String>(),
        "state": oauth_state.chars().take(512).collect::<String>(),
        "language": lang,
        "brandName": state.settings.org.name,
    });
    // A database error is not "no transaction": that would tell a user in the right browser to
    // go back to a tab that is right here. The error page says the server is unwell.
    if let Some(record) = this_browsers_transaction(&state, &headers, oauth_state).await? {
        let server = record.0.auth_server;
        config["issuer"] = json!(state.issuer(server));
        config["clientId"] = json!(record.0.client_id);
        config["redirectUri"] = json!(format!("{}/signin/callback", state.public_url));
        config["interactionHandle"] = json!(record.1);
        config["scopes"] = json!(record.0.scopes.split(' ').collect::<Vec<_>>());
    }
    Ok(widget_page(lang, &format!("Reset your password – {}", state.settings.org.name), &config))
}

/// The live hosted transaction this browser's cookie names, if its `state` is the link's.
async fn this_browsers_transaction(
    state: &AppState,
    headers: &HeaderMap,
    oauth_state: &str,
) -> Result<Option<(latchkey_store::InteractionRecord, String)>, latchkey_store::StoreError> {
    let Some(handle) = transaction_cookie(headers) else { return Ok(None) };
    let now = state.store.now().await?;
    let Some(record) = state.store.interaction_by_handle(&sha256_hex(&handle), now).await? else { return Ok(None) };
    Ok((record.flow == latchkey_domain::interaction::Flow::Authorize && !oauth_state.is_empty() && record.oauth_state == oauth_state)
        .then_some((record, handle)))
}
