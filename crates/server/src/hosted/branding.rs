//! The brand's theme as the pages use it (issue 13, item 7): `/branding/v1/theme.css` (the
//! colours over the widget's and the pages' stylesheets, light and dark), `/branding/v1/logo`
//! and `/branding/v1/favicon` (the uploaded images, or the default favicon). Every hosted page
//! links them; an app's widget page may too (they are served to any origin, like the widget).
//!
//! Colours are never refused (Okta does not): text on a brand colour uses its computed contrast
//! colour, and a brand colour becomes a text colour (links) only where it reads on the page's
//! background at WCAG AA.
use axum::extract::State;
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use latchkey_domain::brand::HexColor;
use latchkey_store::{ThemeImage, ThemeRecord};

use crate::state::AppState;

pub const BRAND: &str = "default";
/// The primary colour the migration gives the theme (the widget's own default).
const DEFAULT_PRIMARY: &str = "#1d5bd6";
/// The widget card's background in each scheme (latchkey-sign-in.css): where a brand colour
/// would be link text.
const CARD_LIGHT: HexColor = HexColor::WHITE;
fn card_dark() -> HexColor {
    HexColor::parse("#17191e").unwrap_or(HexColor::BLACK)
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/branding/v1/theme.css", get(theme_css))
        .route("/branding/v1/logo", get(|s| image(s, ThemeImage::Logo)))
        .route("/branding/v1/favicon", get(|s| image(s, ThemeImage::Favicon)))
}

/// The default brand's theme (the migration creates it).
pub async fn current(state: &AppState) -> Result<Option<ThemeRecord>, latchkey_store::StoreError> {
    Ok(state.store.themes(BRAND).await?.into_iter().next())
}

/// The stylesheet for `theme`.
pub fn css(theme: &ThemeRecord) -> String {
    let primary = HexColor::parse(&theme.primary_color_hex).unwrap_or(HexColor::BLACK);
    let secondary = HexColor::parse(&theme.secondary_color_hex).unwrap_or(HexColor::WHITE);
    let (p, pc) = (primary.hex(), primary.contrast_text().hex());
    let mut css = format!("/* The brand's theme ({id}). */\n", id = theme.id);
    // An untouched theme keeps the stylesheets' own colours (the dark scheme's lighter blue).
    let custom = theme.primary_color_hex != DEFAULT_PRIMARY;
    if custom {
        css.push_str(&format!(".lk-widget .lk-primary, .lkp-button.lkp-primary {{ background: {p}; border-color: {p}; color: {pc}; }}\n"));
    }
    if custom && primary.reads_on(CARD_LIGHT) {
        css.push_str(&format!(":root {{ --lk-color-primary: {p}; --lk-color-focus: {p}; --lkp-link: {p}; --lkp-accent: {p}; }}\n"));
    }
    if custom && primary.reads_on(card_dark()) {
        css.push_str(&format!(
            "@media (prefers-color-scheme: dark) {{ :root {{ --lk-dark-color-primary: {p}; --lk-dark-color-focus: {p}; --lkp-link: {p}; --lkp-accent: {p}; }} }}\n"
        ));
    }
    if theme.sign_in_page_variant == "BACKGROUND_SECONDARY_COLOR" {
        css.push_str(&format!(
            "body.latchkey-hosted {{ background: {s}; color: {sc}; }}\n",
            s = secondary.hex(),
            sc = secondary.contrast_text().hex()
        ));
    }
    if theme.logo.is_some() {
        css.push_str(&format!(
            ".lk-widget {{ --lk-logo: url(\"/branding/v1/logo?v={v}\"); --lk-logo-height: 3rem; }}\n",
            v = theme.updated_at
        ));
    }
    css
}

fn public(mut response: Response, content_type: &str) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    // Changes show at once; any origin may load them, as it may the widget.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    response
}

#[tracing::instrument(name = "branding.theme_css", skip_all)]
async fn theme_css(State(state): State<AppState>) -> Response {
    match current(&state).await {
        Ok(Some(theme)) => public(css(&theme).into_response(), "text/css; charset=utf-8"),
        Ok(None) => public(String::new().into_response(), "text/css; charset=utf-8"),
        Err(error) => super::error::HostedError::from(error).into_response(),
    }
}

#[tracing::instrument(name = "branding.image", skip_all)]
async fn image(State(state): State<AppState>, which: ThemeImage) -> Response {
    let theme = match current(&state).await {
        Ok(theme) => theme,
        Err(error) => return super::error::HostedError::from(error).into_response(),
    };
    let stored = theme.and_then(|t| if which == ThemeImage::Logo { t.logo } else { t.favicon });
    match stored.and_then(|(mime, data)| STANDARD.decode(data).ok().map(|bytes| (mime, bytes))) {
        Some((mime, bytes)) => public(bytes.into_response(), &mime),
        None if which == ThemeImage::Favicon => public(crate::http::widget::FAVICON.into_response(), "image/svg+xml"),
        None => public(StatusCode::NOT_FOUND.into_response(), "text/plain; charset=utf-8"),
    }
}
