//! `/signin/set-password?token=…`: where the activation link and the administrator's reset
//! link lead. The GET only renders the form (a mail scanner opening the link changes
//! nothing); the POST, a plain HTML form needing no JavaScript, sets the password.
//!
//! The POST refuses cross-site callers twice over (security-checklist WEB-1): the browser's
//! `Sec-Fetch-Site`/`Origin` must say same-origin, and a CSRF token from the form must match
//! the `latchkey_csrf` cookie (SameSite=Strict) the GET set. It checks the password policy
//! used everywhere else, then spends the link through the one password pipeline: one
//! transaction that also activates a PROVISIONED account, ends every live recovery code and
//! transaction, every session and refresh token, and queues the PasswordChanged notice. It never signs anyone in: the user goes back to their application.
use std::collections::HashMap;

use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_domain::secret::{constant_time_eq, sha256_hex};
use latchkey_domain::{BearerToken, Password};
use latchkey_store::{PasswordTokenRecord, UserRecord};

use super::error::HostedError;
use super::page::{content_page, escape, message_page};
use crate::http::cookies;
use crate::state::AppState;

const CSRF_COOKIE: &str = "latchkey_csrf";
/// Long enough to type a password, short enough that a stale form is not kept around.
const CSRF_MAX_AGE_SECS: i64 = 3600;
/// Largest form accepted (token, CSRF token, two passwords of at most 128 characters).
const MAX_FORM_BYTES: usize = 16 * 1024;

fn expired() -> Response {
    HostedError::Expired {
        title: "Link expired",
        message: "This link has expired, was already used, or was replaced by a newer one. Ask your administrator for a new link.",
    }
    .into_response()
}

fn refused() -> Response {
    HostedError::Refused("This form can only be sent from its own page. Open the link from your email again.").into_response()
}

fn internal(error: impl Into<anyhow::Error>) -> Response {
    HostedError::Internal(error.into()).into_response()
}

/// The live token and its account, or `None` for any link that cannot be used.
async fn live(state: &AppState, raw: &str) -> Result<Option<(PasswordTokenRecord, UserRecord)>, latchkey_store::StoreError> {
    let Some(token) = BearerToken::from_client(raw) else { return Ok(None) };
    let now = state.store.now().await?;
    let Some(record) = state.store.live_password_token(&token.digest(), now).await? else { return Ok(None) };
    Ok(state.store.user_by_id(&record.user_id).await?.map(|account| (record, account)))
}

#[tracing::instrument(name = "hosted.set_password.show", skip_all)]
pub async fn show(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    let raw = query.get("token").map(String::as_str).unwrap_or_default();
    match live(&state, raw).await {
        Ok(Some((_, account))) => form(&state, &headers, raw, &account, StatusCode::OK, &[]),
        Ok(None) => expired(),
        Err(e) => internal(e),
    }
}

#[tracing::instrument(name = "hosted.set_password.submit", skip_all)]
pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_form =
        headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return message_page(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Request refused", "This form must be sent as a web form.");
    }
    if body.len() > MAX_FORM_BYTES || !same_origin(&state, &headers) {
        return refused();
    }
    let Ok(fields) = crate::http::form::parse(&body) else { return refused() };
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let cookie = cookies::read(&headers, CSRF_COOKIE).unwrap_or_default();
    if cookie.is_empty() || !constant_time_eq(&sha256_hex(&cookie), &sha256_hex(field("csrf"))) {
        return refused();
    }
    let raw = field("token");
    let account = match live(&state, raw).await {
        Ok(Some((_, account))) => account,
        Ok(None) => return expired(),
        Err(e) => return internal(e),
    };
    if field("password") != field("confirm") {
        return form(&state, &headers, raw, &account, StatusCode::BAD_REQUEST, &["The two passwords are not the same.".to_owned()]);
    }
    let password = match Password::parse(field("password")) {
        Ok(password) => password,
        Err(e) => return form(&state, &headers, raw, &account, StatusCode::BAD_REQUEST, &[e.to_string()]),
    };
    let hash = match state.hasher.check_and_hash(&state.policies.password, password, &account.user.profile).await {
        Ok(Ok(hash)) => hash,
        Ok(Err(violations)) => {
            let messages: Vec<String> = violations.iter().map(ToString::to_string).collect();
            return form(&state, &headers, raw, &account, StatusCode::BAD_REQUEST, &messages);
        }
        Err(crate::crypto::password::HashError::Busy) => {
            let mut page = form(
                &state,
                &headers,
                raw,
                &account,
                StatusCode::SERVICE_UNAVAILABLE,
                &["The server is busy. Please try again in a moment.".to_owned()],
            );
            page.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(crate::crypto::password::BUSY_RETRY_AFTER_SECS));
            return page;
        }
        Err(e) => return internal(e),
    };
    match redeem(&state, raw, &hash, &account, &crate::mail::RequestInfo::from_request(&state, peer, &headers)).await {
        Ok(true) => {
            tracing::info!(event = "user.password_set_by_link", user_id = %account.user.id.as_str(), "password set from an emailed link");
            message_page(StatusCode::OK, "Password set", "Your password is set. Sign in from your application with your new password.")
        }
        Ok(false) => expired(),
        Err(e) => internal(e),
    }
}

async fn redeem(state: &AppState, raw: &str, hash: &str, account: &UserRecord, request: &crate::mail::RequestInfo) -> anyhow::Result<bool> {
    let digest = BearerToken::from_client(raw).map(|t| t.digest()).unwrap_or_default();
    let now = state.store.now().await?;
    let keys = state.keys().await;
    let notice = crate::mail::password_changed(state, &keys, account, Some(request), now)?;
    let done = state.store.redeem_password_token(&digest, hash, notice, now).await?.is_some();
    if done {
        state.outbox_wake.notify_one();
    }
    Ok(done)
}

/// The browser says the post comes from our own page: `Sec-Fetch-Site` (when sent) is
/// same-origin or none, and `Origin` (when sent) is the server's own.
fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("invalid"));
    let fetch_ok = header("sec-fetch-site").is_none_or(|v| matches!(v, "same-origin" | "none"));
    let own = latchkey_domain::oauth::origin_of(&state.public_url);
    let origin_ok = header("origin").is_none_or(|v| own.as_deref() == Some(v));
    fetch_ok && origin_ok
}

/// The form, with a fresh CSRF token in a hidden field and in the Strict cookie.
fn form(state: &AppState, headers: &HeaderMap, token: &str, account: &UserRecord, status: StatusCode, errors: &[String]) -> Response {
    let lang = super::language::from_headers(headers);
    let csrf = BearerToken::generate();
    let policy = &state.policies.password;
    let requirements: String = policy.describe().iter().map(|r| format!("<li>{}</li>", escape(r))).collect();
    let errors: String = if errors.is_empty() {
        String::new()
    } else {
        format!(
            "<div class=\"latchkey-error\" role=\"alert\"><ul>{}</ul></div>",
            errors.iter().map(|e| format!("<li>{}</li>", escape(e))).collect::<String>()
        )
    };
    let login = escape(account.user.profile.login.as_str());
    let content = format!(
        "<p>Choose a password for <strong>{login}</strong>.</p><ul>{requirements}</ul>{errors}\
         <form method=\"post\" action=\"/signin/set-password\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"text\" name=\"username\" value=\"{login}\" autocomplete=\"username\" readonly hidden>\
         <p><label>New password<br><input type=\"password\" name=\"password\" autocomplete=\"new-password\" required minlength=\"{min}\" maxlength=\"{max}\"></label></p>\
         <p><label>Repeat the new password<br><input type=\"password\" name=\"confirm\" autocomplete=\"new-password\" required minlength=\"{min}\" maxlength=\"{max}\"></label></p>\
         <p><button type=\"submit\">Set password</button></p></form>",
        token = escape(token),
        csrf = escape(csrf.expose()),
        min = policy.min_length,
        max = policy.max_length,
    );
    let mut response = content_page(status, lang, &format!("Set your password – {}", state.settings.org.name), &content, None);
    cookies::set(&mut response, state.secure_cookies(), CSRF_COOKIE, csrf.expose(), CSRF_MAX_AGE_SECS, "Strict");
    response.into_response()
}
