//! `/account/not-me?token=…`: where the "Not you?" link of a security notice (PasswordChanged,
//! AuthenticatorEnrolled, AuthenticatorReset) leads.
//!
//! The GET only shows what the notice reported and a button: a mail scanner or a preview that
//! opens the link changes nothing. The POST, a plain HTML form needing no JavaScript, is refused
//! from other sites as the set-password form's is (security-checklist WEB-1: `Sec-Fetch-Site` /
//! `Origin` same-origin, and the CSRF field matching the Strict `latchkey_csrf` cookie its GET
//! set). It spends the link and contains the account in one store transaction
//! (`Store::contain_account`: sessions, refresh tokens and an access-token cutoff, the
//! authenticators enrolled since 24 hours before the notice, the System Log's
//! `user.account.report_suspicious_activity_by_enduser`), then says what was done and that the
//! password should be reset now. It signs nobody in and sets no password: whoever holds the
//! notice may be the intruder reading the owner's mail, and ending sessions is all the link
//! may do.
//!
//! A used, expired or unknown link shows one page that says nothing about any account.
use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_domain::containment::{factor_cutoff, NoticeSubject};
use latchkey_domain::secret::{constant_time_eq, sha256_hex};
use latchkey_domain::{BearerToken, Millis};
use latchkey_store::{Containment, ContainmentTokenRecord, UserRecord};

use super::error::HostedError;
use super::not_me_text::{text, Text};
use super::page::{content_page, escape, message_page, message_page_in};
use super::set_password::{same_origin, CSRF_COOKIE};
use super::set_password_text::pick;
use crate::http::cookies;
use crate::state::AppState;

/// Long enough to read the page and decide.
const CSRF_MAX_AGE_SECS: i64 = 3600;
/// Largest form accepted (token, CSRF token, language).
const MAX_FORM_BYTES: usize = 4 * 1024;

fn unusable(lang: &str) -> Response {
    let t = text(lang);
    message_page_in(StatusCode::BAD_REQUEST, lang, t.unusable_title, t.unusable_text)
}

fn refused(lang: &str) -> Response {
    let t = text(lang);
    message_page_in(StatusCode::FORBIDDEN, lang, t.refused_title, t.refused_text)
}

fn internal(error: impl Into<anyhow::Error>) -> Response {
    HostedError::Internal(error.into()).into_response()
}

/// The live link and its account, or `None` for any link that cannot be used. Reads only.
async fn live(state: &AppState, raw: &str) -> Result<Option<(ContainmentTokenRecord, UserRecord)>, latchkey_store::StoreError> {
    let Some(token) = BearerToken::from_client(raw) else { return Ok(None) };
    let now = state.store.now().await?;
    let Some(record) = state.store.live_containment_token(&token.digest(), now).await? else { return Ok(None) };
    Ok(state.store.user_by_id(&record.user_id).await?.map(|account| (record, account)))
}

#[tracing::instrument(name = "hosted.not_me.show", skip_all)]
pub async fn show(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    let raw = query.get("token").map(String::as_str).unwrap_or_default();
    let ui_locales = query.get("ui_locales").map(String::as_str);
    match live(&state, raw).await {
        Ok(Some((notice, account))) => {
            let lang = pick(ui_locales, account.user.profile.locale.as_deref(), &headers);
            ask(&state, lang, raw, &notice, &account)
        }
        Ok(None) => unusable(pick(ui_locales, None, &headers)),
        Err(e) => internal(e),
    }
}

#[tracing::instrument(name = "hosted.not_me.confirm", skip_all)]
pub async fn confirm(
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
    let lang = pick(fields.get("ui_locales").map(String::as_str), None, &headers);
    let cookie = cookies::read(&headers, CSRF_COOKIE).unwrap_or_default();
    if cookie.is_empty() || !constant_time_eq(&sha256_hex(&cookie), &sha256_hex(field("csrf"))) {
        return refused(lang);
    }
    let Some(token) = BearerToken::from_client(field("token")) else { return unusable(lang) };
    let context = crate::http::event_context::of(&state, peer, &headers);
    let contained = async {
        let now = state.store.now().await?;
        state.store.contain_account(&token.digest(), &context, now).await
    };
    match contained.await {
        Ok(Some(done)) => {
            tracing::warn!(
                event = "user.report_suspicious_activity",
                user_id = %done.notice.user_id.as_str(),
                notice = done.notice.subject.as_str(),
                sessions = done.sessions_ended,
                factors_removed = done.factors_removed.len(),
                "the account's owner reported a change they did not make; the account was contained"
            );
            secured(&state, lang, &done)
        }
        Ok(None) => unusable(lang),
        Err(e) => internal(e),
    }
}

/// A time as the page shows it: the same in every language, in UTC.
fn when(at: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(at).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

fn factor_label(t: &Text, factor_type: Option<&str>) -> String {
    let name = factor_type.map(crate::mail::factor_name).unwrap_or_default();
    escape(if name.is_empty() { t.an_authenticator } else { name })
}

/// What the notice reported, with `{login}` in bold: the account is named only to a holder of
/// a live link, who received it by email.
fn what_happened(t: &Text, notice: &ContainmentTokenRecord, login: &str) -> String {
    let sentence = match notice.subject {
        NoticeSubject::PasswordChanged => t.password_changed,
        NoticeSubject::AuthenticatorEnrolled => t.authenticator_enrolled,
        NoticeSubject::AuthenticatorRemoved => t.authenticator_removed,
    };
    escape(sentence)
        .replace("{login}", &format!("<strong>{}</strong>", escape(login)))
        .replace("{time}", &escape(&when(notice.notice_at)))
        .replace("{factor}", &factor_label(t, notice.factor_type.as_deref()))
}

/// The GET: what happened, what confirming does, and the one button, with a fresh CSRF token in
/// a hidden field and in the Strict cookie; the language travels to the POST as `ui_locales`.
fn ask(state: &AppState, lang: &str, token: &str, notice: &ContainmentTokenRecord, account: &UserRecord) -> Response {
    let t = text(lang);
    let csrf = BearerToken::generate();
    let since = escape(&when(factor_cutoff(notice.notice_at)));
    let content = format!(
        "<p id=\"not-me-notice\">{what}</p><p>{if_you}</p><p>{if_not}</p>\
         <ul class=\"lkp-list\"><li>{sessions}</li><li>{factors}</li></ul>\
         <form method=\"post\" action=\"/account/not-me\" class=\"lkp-form\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"ui_locales\" value=\"{lang}\">\
         <div><button type=\"submit\" class=\"lkp-button lkp-primary\">{button}</button></div></form>",
        what = what_happened(t, notice, account.user.profile.login.as_str()),
        if_you = escape(t.if_you),
        if_not = escape(t.if_not),
        sessions = escape(t.effect_sessions),
        factors = escape(t.effect_factors).replace("{since}", &since),
        token = escape(token),
        csrf = escape(csrf.expose()),
        lang = escape(lang),
        button = escape(t.button),
    );
    let mut response = content_page(StatusCode::OK, lang, &format!("{} – {}", t.title, state.settings.org.name), &content, None);
    cookies::set(&mut response, state.secure_cookies(), CSRF_COOKIE, csrf.expose(), CSRF_MAX_AGE_SECS, "Strict");
    response
}

/// The POST's answer: what was done, and the password reset still to do.
fn secured(state: &AppState, lang: &str, done: &Containment) -> Response {
    let t = text(lang);
    let since = escape(&when(factor_cutoff(done.notice.notice_at)));
    let factors = if done.factors_removed.is_empty() {
        escape(t.done_no_factors).replace("{since}", &since)
    } else {
        escape(t.done_factors).replace("{since}", &since).replace("{n}", &done.factors_removed.len().to_string())
    };
    let content = format!(
        "<p id=\"not-me-done\">{sessions}</p><p>{factors}</p><p><strong>{next}</strong></p><p><a href=\"{home}/\">{sign_in}</a></p>",
        sessions = escape(t.done_sessions),
        next = escape(t.done_next),
        home = escape(&state.public_url),
        sign_in = escape(t.sign_in_page),
    );
    content_page(StatusCode::OK, lang, &format!("{} – {}", t.done_title, state.settings.org.name), &content, None)
}
