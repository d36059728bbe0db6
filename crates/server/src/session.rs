//! The identity-provider session cookie, shared by the hosted pages and IDX: reading the live
//! session, starting one at authentication and clearing it at logout.
//!
//! The value is a fresh 256-bit bearer secret at every authentication, stored only as SHA-256;
//! a value the browser presented before is ended, never adopted (security-checklist SES-3).
//! `__Host-latchkey_sid` over https, `latchkey_sid` on loopback http; HttpOnly, SameSite=Lax so
//! the top-level redirect back from an app still carries it, Path=/ (WEB-3).
use axum::http::header;
use axum::http::HeaderMap;
use axum::response::Response;
use latchkey_domain::secret::sha256_hex;
use latchkey_domain::{BearerToken, Millis, UserId};
use latchkey_store::{SessionRecord, StoreError};

use crate::state::AppState;

pub const SESSION_COOKIE: &str = "latchkey_sid";

/// The digest of the session id this browser presents, live or not.
pub fn presented_digest(headers: &HeaderMap) -> Option<String> {
    crate::http::cookies::read(headers, SESSION_COOKIE).map(|v| sha256_hex(&v))
}

/// The browser's live session, its idle deadline extended.
pub async fn current(state: &AppState, headers: &HeaderMap, now: Millis) -> Result<Option<SessionRecord>, StoreError> {
    let Some(digest) = presented_digest(headers) else {
        return Ok(None);
    };
    let idle = state.sessions.touched(now, Millis::MAX);
    let Some(session) = state.store.touch_session(&digest, idle, now).await? else {
        return Ok(None);
    };
    // A user suspended or deleted since signing in has no session any more.
    match state.store.user_by_id(&session.user_id).await? {
        Some(account) if account.user.status.can_sign_in() => Ok(Some(session)),
        _ => Ok(None),
    }
}

/// Starts a session for `user_id` and puts its cookie on `response`.
pub async fn start(
    state: &AppState,
    headers: &HeaderMap,
    user_id: &UserId,
    (auth_time, methods): (Millis, latchkey_domain::session::AuthMethods),
    now: Millis,
    response: &mut Response,
) -> Result<(), StoreError> {
    let token = BearerToken::generate();
    let deadlines = state.sessions.new_session(now);
    let replaced = presented_digest(headers);
    state.store.create_session(&token.digest(), user_id, (auth_time, methods), deadlines, replaced.as_deref(), now).await?;
    let max_age = (deadlines.expires_at - now) / 1000;
    set_cookie(state, response, SESSION_COOKIE, token.expose(), max_age);
    tracing::info!(event = "session.started", user_id = %user_id.as_str(), "session started");
    Ok(())
}

/// Whether a request comes from a page on this server's own origin (the hosted widget).
pub fn from_own_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let own = latchkey_domain::oauth::origin_of(&state.public_url);
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    own.is_some() && origin == own.as_deref()
}

/// A Latchkey cookie with SameSite=Lax (the top-level redirect back from an app must carry it);
/// `max_age` 0 deletes it.
pub fn set_cookie(state: &AppState, response: &mut Response, name: &str, value: &str, max_age: i64) {
    crate::http::cookies::set(response, state.secure_cookies(), name, value, max_age, "Lax");
}
