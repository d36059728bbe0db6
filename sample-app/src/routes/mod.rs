//! One file per page or callback.
pub mod home;
pub mod login;
pub mod login_callback;
pub mod logout;
pub mod magic_link;

use std::sync::Arc;

use axum::http::StatusCode;

use crate::oidc::Provider;
use crate::page::Page;
use crate::session::{SessionStore, WidgetConfig};
use crate::views;

#[derive(Clone)]
pub struct AppState {
    pub provider: Arc<Provider>,
    pub sessions: SessionStore,
}

/// Constant-time equality for values an attacker may probe byte by byte (`state`, CSRF token).
pub fn same(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The widget page for a sign-in this browser holds (with the emailed code when the link
/// brought one), or a problem page when the widget's files cannot be described.
pub async fn widget_page(app: &AppState, widget: &WidgetConfig, otp: Option<&str>) -> Page {
    match app.provider.widget_assets().await {
        Ok(assets) => views::widget(widget, otp, &assets, app.provider.config.issuer_origin()),
        Err(error) => views::problem(StatusCode::BAD_GATEWAY, &format!("The sign-in widget is unavailable: {error}")),
    }
}
