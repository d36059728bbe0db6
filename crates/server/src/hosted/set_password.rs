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
//!
//! The page speaks the five languages of the hosted pages (`set_password_text`): `ui_locales`,
//! then the account's locale, then `Accept-Language`; the form carries the choice to its POST.
use std::collections::HashMap;

use axum::body::Bytes;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_domain::secret::{constant_time_eq, sha256_hex};
use latchkey_domain::{BearerToken, Password, PolicyViolation};
use latchkey_store::{PasswordTokenRecord, UserRecord};

use super::error::HostedError;
use super::page::{content_page, escape, message_page, message_page_in};
use super::set_password_text::{pick, text};
use crate::http::cookies;
use crate::state::AppState;

/// Also the "Not you?" page's (`not_me.rs`): one Strict cookie per browser, set by each GET.
pub(super) const CSRF_COOKIE: &str = "latchkey_csrf";
/// Long enough to type a password, short enough that a stale form is not kept around.
const CSRF_MAX_AGE_SECS: i64 = 3600;
/// Largest form accepted (token, CSRF token, two passwords of at most 128 characters).
const MAX_FORM_BYTES: usize = 16 * 1024;

fn expired(lang: &str) -> Response {
    let t = text(lang);
    message_page_in(StatusCode::BAD_REQUEST, lang, t.expired_title, t.expired_text)
}

fn refused(lang: &str) -> Response {
    let t = text(lang);
    message_page_in(StatusCode::FORBIDDEN, lang, t.refused_title, t.refused_text)
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
    let ui_locales = query.get("ui_locales").map(String::as_str);
    match live(&state, raw).await {
        Ok(Some((_, account))) => {
            let lang = pick(ui_locales, account.user.profile.locale.as_deref(), &headers);
            form(&state, lang, raw, &account, StatusCode::OK, &[])
        }
        Ok(None) => expired(pick(ui_locales, None, &headers)),
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
    let browser_lang = super::language::from_headers(&headers);
    if body.len() > MAX_FORM_BYTES || !same_origin(&state, &headers) {
        return refused(browser_lang);
    }
    let Ok(fields) = crate::http::form::parse(&body) else { return refused(browser_lang) };
    let field = |name: &str| fields.get(name).map(String::as_str).unwrap_or_default();
    let ui_locales = fields.get("ui_locales").map(String::as_str);
    let cookie = cookies::read(&headers, CSRF_COOKIE).unwrap_or_default();
    if cookie.is_empty() || !constant_time_eq(&sha256_hex(&cookie), &sha256_hex(field("csrf"))) {
        return refused(pick(ui_locales, None, &headers));
    }
    let raw = field("token");
    let account = match live(&state, raw).await {
        Ok(Some((_, account))) => account,
        Ok(None) => return expired(pick(ui_locales, None, &headers)),
        Err(e) => return internal(e),
    };
    let lang = pick(ui_locales, account.user.profile.locale.as_deref(), &headers);
    let t = text(lang);
    let again = |status: StatusCode, errors: &[String]| form(&state, lang, raw, &account, status, errors);
    if field("password") != field("confirm") {
        return again(StatusCode::BAD_REQUEST, &[t.mismatch.to_owned()]);
    }
    let password = match Password::parse(field("password")) {
        Ok(password) => password,
        Err(_) if field("password").is_empty() => return again(StatusCode::BAD_REQUEST, &[t.empty.to_owned()]),
        Err(_) => {
            let too_long = PolicyViolation::TooLong { max: state.policies.password.max_length };
            return again(StatusCode::BAD_REQUEST, &[t.violation(lang, &too_long)]);
        }
    };
    let hash = match state.hasher.check_and_hash(&state.policies.password, password, &account.user.profile).await {
        Ok(Ok(hash)) => hash,
        Ok(Err(violations)) => {
            let messages: Vec<String> = violations.iter().map(|v| t.violation(lang, v)).collect();
            return again(StatusCode::BAD_REQUEST, &messages);
        }
        Err(crate::crypto::password::HashError::Busy) => {
            let mut page = again(StatusCode::SERVICE_UNAVAILABLE, &[t.busy.to_owned()]);
            page.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(crate::crypto::password::BUSY_RETRY_AFTER_SECS));
            return page;
        }
        Err(e) => return internal(e),
    };
    let request = (crate::mail::RequestInfo::from_request(&state, peer, &headers), crate::http::event_context::of(&state, peer, &headers));
    match redeem(&state, raw, &hash, &account, &request).await {
        Ok(true) => {
            tracing::info!(event = "user.password_set_by_link", user_id = %account.user.id.as_str(), "password set from an emailed link");
            message_page_in(StatusCode::OK, lang, t.done_title, t.done_text)
        }
        Ok(false) => expired(lang),
        Err(e) => internal(e),
    }
}

async fn redeem(
    state: &AppState,
    raw: &str,
    hash: &str,
    account: &UserRecord,
    (request, context): &(crate::mail::RequestInfo, latchkey_store::EventContext),
) -> anyhow::Result<bool> {
    let digest = BearerToken::from_client(raw).map(|t| t.digest()).unwrap_or_default();
    let now = state.store.now().await?;
    let keys = state.keys().await;
    let notice = crate::mail::password_changed(state, &keys, account, Some(request), now)?;
    let done = state.store.redeem_password_token(&digest, hash, notice, context, now).await?.is_some();
    if done {
        state.outbox_wake.notify_one();
    }
    Ok(done)
}

/// The browser says the post comes from our own page: `Sec-Fetch-Site` (when sent) is
/// same-origin or none, and `Origin` (when sent) is the server's own.
///
/// `Origin: null` counts as our own only next to `Sec-Fetch-Site: same-origin`: our pages send
/// `Referrer-Policy: no-referrer`, and under that policy the Fetch standard has a browser send
/// `Origin: null` with a form POST, even to the page's own origin (Chromium does; the account
/// page's browser test found that no hosted form could be sent). `Sec-Fetch-Site` is set by the
/// browser alone, and the CSRF token is checked after this either way.
pub(super) fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap_or("invalid"));
    let fetch_site = header("sec-fetch-site");
    let fetch_ok = fetch_site.is_none_or(|v| matches!(v, "same-origin" | "none"));
    let own = latchkey_domain::oauth::origin_of(&state.public_url);
    let origin_ok = header("origin").is_none_or(|v| own.as_deref() == Some(v) || (v == "null" && fetch_site == Some("same-origin")));
    fetch_ok && origin_ok
}

/// The form, with a fresh CSRF token in a hidden field and in the Strict cookie, in `lang`
/// (carried to the POST as `ui_locales`).
fn form(state: &AppState, lang: &str, token: &str, account: &UserRecord, status: StatusCode, errors: &[String]) -> Response {
    let t = text(lang);
    let csrf = BearerToken::generate();
    let policy = &state.policies.password;
    let rules = [
        PolicyViolation::TooShort { min: policy.min_length },
        PolicyViolation::TooLong { max: policy.max_length },
        PolicyViolation::TooGuessable { reason: String::new() },
        PolicyViolation::ContainsLogin,
    ];
    let requirements: String = rules.iter().map(|r| format!("<li>{}</li>", escape(&t.violation(lang, r)))).collect();
    let errors: String = if errors.is_empty() {
        String::new()
    } else {
        format!(
            "<div class=\"latchkey-error\" role=\"alert\"><ul>{}</ul></div>",
            errors.iter().map(|e| format!("<li>{}</li>", escape(e))).collect::<String>()
        )
    };
    let login = escape(account.user.profile.login.as_str());
    let intro = escape(t.intro).replace("{login}", &format!("<strong>{login}</strong>"));
    let content = format!(
        "<p>{intro}</p><h2 id=\"requirements\">{req_title}</h2><ul class=\"lkp-list\" aria-labelledby=\"requirements\">{requirements}</ul>{errors}\
         <form method=\"post\" action=\"/signin/set-password\" class=\"lkp-form\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"ui_locales\" value=\"{lang}\">\
         <input type=\"text\" name=\"username\" value=\"{login}\" autocomplete=\"username\" readonly hidden>\
         <div><label for=\"new-password\">{new_password}</label><input id=\"new-password\" type=\"password\" name=\"password\" autocomplete=\"new-password\" required minlength=\"{min}\" maxlength=\"{max}\"></div>\
         <div><label for=\"confirm-password\">{repeat}</label><input id=\"confirm-password\" type=\"password\" name=\"confirm\" autocomplete=\"new-password\" required minlength=\"{min}\" maxlength=\"{max}\"></div>\
         <div><button type=\"submit\" class=\"lkp-button lkp-primary\">{submit}</button></div></form>",
        req_title = escape(t.requirements),
        token = escape(token),
        csrf = escape(csrf.expose()),
        lang = escape(lang),
        new_password = escape(t.new_password),
        repeat = escape(t.repeat),
        submit = escape(t.submit),
        min = policy.min_length,
        max = policy.max_length,
    );
    let mut response = content_page(status, lang, &format!("{} – {}", t.title, state.settings.org.name), &content, None);
    cookies::set(&mut response, state.secure_cookies(), CSRF_COOKIE, csrf.expose(), CSRF_MAX_AGE_SECS, "Strict");
    response.into_response()
}
