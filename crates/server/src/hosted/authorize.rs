//! `GET {baseUrl}/v1/authorize`: the authorization code flow with PKCE (S256). A browser with a
//! live identity-provider session gets a fresh code at once (bound to this request's PKCE
//! challenge, nonce and redirect URI); otherwise the hosted sign-in page starts an IDX
//! transaction and hands the widget its interaction handle, and the widget's success lands on
//! `/signin/callback`. `prompt=none|login`, `max_age` and `login_hint` follow OIDC Core
//! §3.1.2.1; the decision itself is `latchkey_domain::session::decide_authorize`.
//!
//! Until the client and redirect URI are verified, errors are shown on a page and never
//! redirected (security-checklist OA-1); after that they go to the client as RFC 6749 errors.
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_domain::session::{decide_authorize, parse_max_age, AuthorizeDecision, Prompt};
use latchkey_domain::BearerToken;
use latchkey_store::{ClientRecord, SessionRecord};
use serde_json::json;

use super::error::HostedError;
use super::page::{message_page, widget_page};
use super::redirect;
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
        Err(OAuthError::Internal(e)) => return HostedError::Internal(e).into_response(),
        Err(_) => {
            return message_page(
                StatusCode::BAD_REQUEST,
                "Sign-in request not valid",
                "The application's client_id or redirect_uri is not registered. Nothing was sent back to the application.",
            )
        }
    };
    let issuer = state.issuer(server);
    let fail = |code: &str, description: &str| redirect::with_error(redirect_uri, code, description, get("state"), &issuer);
    if get("response_type") != Some("code") {
        return fail("unsupported_response_type", "Only response_type=code is supported.");
    }
    let (prompt, max_age) = match (Prompt::parse(get("prompt")), parse_max_age(get("max_age"))) {
        (Ok(prompt), Ok(max_age)) => (prompt, max_age),
        (Err(reason), _) | (_, Err(reason)) => return fail("invalid_request", reason),
    };
    let (now, session) = match current_session(&state, &headers).await {
        Ok(found) => found,
        Err(error) => return HostedError::from(error).into_response(),
    };
    let decision = decide_authorize(prompt, max_age, session.as_ref().map(|s| s.auth_time), now);
    if decision == AuthorizeDecision::LoginRequired {
        return fail("login_required", "The user must sign in.");
    }
    let (handle, record) = match start(
        &state,
        server,
        latchkey_domain::interaction::Flow::Authorize,
        &client,
        &Params::from_request(&client, &params),
    )
    .await
    {
        Ok(started) => started,
        Err(OAuthError::Internal(e)) => return HostedError::Internal(e).into_response(),
        Err(error) => {
            let (_, code, description) = error.parts();
            return fail(code, &description);
        }
    };
    match (decision, session) {
        (AuthorizeDecision::UseSession, Some(session)) => match code_from_session(&state, &record, &session, now).await {
            Ok(code) => redirect::with_code(redirect_uri, code.expose(), get("state").unwrap_or_default(), &issuer),
            Err(error) => HostedError::from(error).into_response(),
        },
        _ => sign_in_page(&state, server, &headers, &client, &handle, &params),
    }
}

async fn current_session(state: &AppState, headers: &HeaderMap) -> Result<(i64, Option<SessionRecord>), OAuthError> {
    let now = state.store.now().await?;
    Ok((now, crate::session::current(state, headers, now).await?))
}

/// Completes the new transaction for the session's user; the code is single use and short-lived
/// like any other, and carries the session's `auth_time`.
async fn code_from_session(
    state: &AppState,
    record: &latchkey_store::InteractionRecord,
    session: &SessionRecord,
    now: i64,
) -> Result<BearerToken, OAuthError> {
    let code = BearerToken::generate();
    let expires = now + crate::config::ms(state.settings.tokens.code_secs);
    let done = state
        .store
        .complete_from_session(
            &record.id,
            record.version,
            &session.user_id,
            (&code.digest(), expires),
            (session.auth_time, session.methods),
        )
        .await?;
    if done.is_none() {
        return Err(OAuthError::Internal(anyhow::anyhow!("a new transaction moved before it was completed")));
    }
    tracing::info!(event = "authorize.session_reused", user_id = %session.user_id.as_str(), "code issued from the session");
    Ok(code)
}

fn sign_in_page(
    state: &AppState,
    server: AuthServer,
    headers: &HeaderMap,
    client: &ClientRecord,
    handle: &BearerToken,
    params: &std::collections::HashMap<String, String>,
) -> Response {
    let get = |name: &str| params.get(name).map(String::as_str);
    let lang = super::language::from_headers(headers);
    let config = json!({
        "issuer": state.issuer(server),
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
    // `latchkey_tx`: which transaction this browser started, for the emailed link and the
    // callback; HttpOnly, SameSite=Lax so a link opened from webmail still carries it.
    let lifetime = i64::try_from(state.settings.recovery.transaction_lifetime_secs).unwrap_or(1800);
    crate::session::set_cookie(state, &mut response, super::TRANSACTION_COOKIE, handle.expose(), lifetime);
    response
}

/// The transaction handle this browser holds, if any.
pub fn transaction_cookie(headers: &HeaderMap) -> Option<String> {
    crate::http::cookies::read(headers, super::TRANSACTION_COOKIE)
}
