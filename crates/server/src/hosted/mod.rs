//! Hosted pages on the server's own origin: the sign-in page behind `/v1/authorize`, the
//! callback that turns the widget's success into the client's authorization response, and the
//! page behind the default recovery link (`${resetPasswordLink}`), the set-password page, the
//! "Not you?" page of security notices (`/account/not-me`), the signed-in user's account page
//! (`/account`), and the landing page at the server's root.
//!
//! These are HTML with a strict CSP: a per-response nonce on the one inline bootstrap script,
//! no `unsafe-inline`, no framing (security-checklist WEB-2…WEB-4). A GET never consumes
//! anything: opening the emailed link only renders a page (shared/README).
mod account;
mod account_text;
mod authorize;
pub mod branding;
mod callback;
mod error;
mod landing;
mod language;
mod logout;
mod mailbox;
mod not_me;
mod not_me_text;
mod page;
mod redirect;
mod reset_password;
mod set_password;
mod set_password_text;

use axum::routing::{get, post};
use axum::Router;

use crate::state::{AppState, AuthServer};

/// The cookie that tells the hosted pages which transaction this browser started, so the
/// emailed link opened in the same browser can continue it (and only there: LNK-2, LNK-3).
pub const TRANSACTION_COOKIE: &str = "latchkey_tx";

/// The development-only pages (`/dev/mailbox`); merged by the HTTP router only in dev mode
/// on a loopback listener ([`dev_pages_served_on`]).
pub fn dev_router() -> Router<AppState> {
    mailbox::router()
}

pub use mailbox::served_on as dev_pages_served_on;

/// `dev_pages`: whether the development pages are routed, which the landing page mentions.
pub fn router(dev_pages: bool) -> Router<AppState> {
    Router::new()
        .route("/", get(move |s, h| landing::show(s, h, dev_pages)))
        .merge(branding::router())
        .route("/oauth2/default/v1/authorize", get(|s, h, q| authorize::handle(s, AuthServer::Default, h, q)))
        .route("/oauth2/v1/authorize", get(|s, h, q| authorize::handle(s, AuthServer::Org, h, q)))
        .route("/signin/callback", get(callback::handle))
        .route("/oauth2/default/v1/logout", get(|s, c, h, q| logout::handle(s, AuthServer::Default, c, h, q)))
        .route("/oauth2/v1/logout", get(|s, c, h, q| logout::handle(s, AuthServer::Org, c, h, q)))
        .route("/signin/reset-password", get(reset_password::handle))
        .route("/signin/set-password", get(set_password::show).post(set_password::submit))
        .route("/account/not-me", get(not_me::show).post(not_me::confirm))
        .route("/account", get(account::show))
        .route("/account/totp", post(account::totp_start))
        .route("/account/totp/activate", post(account::totp_activate))
        .route("/account/passkey", post(account::passkey_start))
        .route("/account/passkey/activate", post(account::passkey_activate))
        .route("/account/factors/rename", post(account::rename))
        .route("/account/factors/remove", post(account::remove))
        .route("/account/password", post(account::change_password))
}
