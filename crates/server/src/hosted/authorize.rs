//! `GET {baseUrl}/v1/authorize`: the authorization code flow with PKCE (S256) on a hosted
//! sign-in page. The server starts the IDX transaction itself and hands the widget its
//! interaction handle; the widget's success lands on `/signin/callback`, which redirects to the
//! client with `code`, `state` and `iss` (RFC 9207).
//!
//! Until the client and redirect URI are verified, errors are shown on a page and never
//! redirected (security-checklist OA-1); after that they go to the client as RFC 6749 errors.
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::json;

use super::page::{message_page, widget_page};
use crate::oauth::transaction::{client_and_redirect, start, Params};
use crate::oauth::OAuthError;
use crate::state::{AppState, AuthServer};

#[tracing::instrument(name = "hosted.authorize", skip_all, fields(server = server.as_str()))]
pub async fn handle(State(state): State<AppState>, server: AuthServer, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let params = match crate::http::form::parse(query.unwrap_or_default().as_bytes()) {
        Ok(params) => params,
        Err(reason) => return message_page(StatusCode::BAD_REQUEST, "Sign-in request not valid", &reason),
    };
    let get = |name: &str| params.get(name).map(String::as_str);
    let redirect_uri = get("redirect_uri").unwrap_or_default();
    let client = match client_and_redirect(&state, get("client_id").unwrap_or_default(), redirect_uri).await {
        Ok(client) => client,
        Err(OAuthError::Internal(e)) => return OAuthError::Internal(e).into_response(),
        Err(_) => {
            return message_page(
                StatusCode::BAD_REQUEST,
                "Sign-in request not valid",
                "The application's client_id or redirect_uri is not registered. Nothing was sent back to the application.",
            )
        }
    };
    let issuer = state.issuer(server);
    let fail = |code: &str, description: &str| error_redirect(redirect_uri, code, description, get("state"), &issuer);
    if get("response_type") != Some("code") {
        return fail("unsupported_response_type", "Only response_type=code is supported.");
    }
    if get("prompt") == Some("none") {
        // No identity-provider session exists yet, so a silent sign-in cannot succeed.
        return fail("login_required", "The user must sign in.");
    }
    let handle = match start(
        &state,
        server,
        "authorize",
        &client,
        &Params {
            client_id: &client.client_id,
            redirect_uri,
            scope: get("scope"),
            state: get("state"),
            nonce: get("nonce"),
            code_challenge: get("code_challenge").unwrap_or_default(),
            code_challenge_method: get("code_challenge_method").unwrap_or_default(),
        },
    )
    .await
    {
        Ok(handle) => handle,
        Err(OAuthError::Internal(e)) => return OAuthError::Internal(e).into_response(),
        Err(error) => {
            let (_, code, description) = error.parts();
            return fail(code, &description);
        }
    };
    let lang = super::language::from_headers(&headers);
    let config = json!({
        "issuer": issuer,
        "clientId": client.client_id,
        "redirectUri": format!("{}/signin/callback", state.public_url),
        "interactionHandle": handle.expose(),
        "state": get("state").unwrap_or_default(),
        "scopes": get("scope").unwrap_or("openid email").split(' ').collect::<Vec<_>>(),
        "language": lang,
        "brandName": state.settings.org.name,
        "username": get("login_hint").unwrap_or_default(),
    });
    let mut response = widget_page(lang, &format!("Sign in – {}", state.settings.org.name), &config);
    set_transaction_cookie(&state, &mut response, handle.expose());
    response
}

fn error_redirect(redirect_uri: &str, code: &str, description: &str, oauth_state: Option<&str>, issuer: &str) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return message_page(StatusCode::BAD_REQUEST, "Sign-in request not valid", description);
    };
    {
        let mut query = url.query_pairs_mut();
        query.append_pair("error", code).append_pair("error_description", description);
        if let Some(s) = oauth_state.filter(|s| !s.is_empty()) {
            query.append_pair("state", s);
        }
        query.append_pair("iss", issuer);
    }
    Redirect::to(url.as_str()).into_response()
}

/// `latchkey_tx` (or `__Host-latchkey_tx` over https): HttpOnly, SameSite=Lax so a link opened
/// from webmail still carries it, scoped to the transaction's lifetime.
fn set_transaction_cookie(state: &AppState, response: &mut Response, handle: &str) {
    let secure = state.public_url.starts_with("https://");
    super::cookies::set(response, secure, super::TRANSACTION_COOKIE, handle, state.settings.recovery.transaction_lifetime_secs, "Lax");
}

/// The transaction handle this browser holds, if any.
pub fn transaction_cookie(headers: &HeaderMap) -> Option<String> {
    super::cookies::read(headers, super::TRANSACTION_COOKIE)
}
