//! `GET /`: what answers at this address, for a person who types it or follows the link in an
//! email (the PasswordChanged notice names the server's address): what this server is, how to
//! sign in or reset a password, where discovery is, and in development the mailbox.
//!
//! It names no user and no client: anyone may open it, and it changes nothing. A browser
//! signed in to Latchkey also gets a link to its account page (`/account`).
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::page::{content_page, escape};
use crate::state::{AppState, AuthServer};

pub async fn show(State(state): State<AppState>, headers: HeaderMap, dev_pages: bool) -> Response {
    let org = &state.settings.org.name;
    let issuer = state.issuer(AuthServer::Default);
    let mailbox = if dev_pages {
        "<h2>Development</h2><p>This server runs in development mode: the emails it sends are in the \
         <a href=\"/dev/mailbox\">development mailbox</a>.</p>"
    } else {
        ""
    };
    let support = match &state.settings.org.support_email {
        Some(email) => format!(" or write to <a href=\"mailto:{e}\">{e}</a>", e = escape(email)),
        None => String::new(),
    };
    // A database error only leaves the link out: this page must answer whatever happens.
    let signed_in = match state.store.now().await {
        Ok(now) => crate::session::current(&state, &headers, now).await.ok().flatten().is_some(),
        Err(_) => false,
    };
    let account = if signed_in {
        "<h2>Your account</h2><p>You are signed in. See your sign-in methods, add an authenticator app or change your \
         password on <a href=\"/account\" id=\"account-link\">your account page</a>.</p>"
    } else {
        ""
    };
    let content = format!(
        "<p>This is the sign-in service of {org}. Applications send you here to sign in, and the emails \
         about your account come from here.</p>\
         <h2>Sign in</h2><p>Open the application you want to use and choose <strong>Sign in</strong>: it brings \
         you to the right page.</p>\
         {account}\
         <h2>Forgot your password?</h2><p>On your application’s sign-in page, choose <strong>Forgot password?</strong> \
         and follow the email. If you did not change your password and got an email saying it changed, reset it \
         right away{support}.</p>\
         {mailbox}\
         <h2>For developers</h2><ul class=\"lkp-list\">\
         <li>OpenID Connect discovery: <a href=\"{disc}\">{disc}</a></li>\
         <li>Issuer: <code>{issuer}</code></li></ul>",
        org = escape(org),
        disc = escape(&format!("{issuer}/.well-known/openid-configuration")),
        issuer = escape(&issuer),
    );
    content_page(StatusCode::OK, "en", &format!("{org} sign-in service"), &content, None)
}
