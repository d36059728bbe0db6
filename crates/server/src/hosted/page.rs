//! The HTML shell every hosted page uses: the widget's CSS and JS from this server, the widget
//! configuration as inert JSON, and one nonce'd bootstrap script.
use axum::http::header::{self, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use serde_json::Value;

/// What every page's `<head>` loads: the widget card's and the page's stylesheets (light and
/// dark), the brand's theme over them, and the brand's favicon or the default one (so no page
/// asks for a `/favicon.ico` that is not there).
const HEAD_ASSETS: &str = "<link rel=\"icon\" href=\"/branding/v1/favicon\">\
<link rel=\"stylesheet\" href=\"/widget/v1/latchkey-sign-in.css\"><link rel=\"stylesheet\" href=\"/widget/v1/latchkey-pages.css\">\
<link rel=\"stylesheet\" href=\"/branding/v1/theme.css\">";

/// Escapes text for HTML element content and attribute values.
pub use latchkey_template::escape_html as escape;

/// JSON that is safe inside `<script type="application/json">`: `<` can never close the tag.
fn inert_json(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned()).replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026")
}

/// A page that mounts the widget with `config` and calls `showSignInAndRedirect()`.
pub fn widget_page(lang: &str, title: &str, config: &Value) -> Response {
    let nonce = new_nonce();
    let body = format!(
        r#"<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
{HEAD_ASSETS}
</head>
<body class="latchkey-hosted">
<main id="latchkey-widget"></main>
<script type="application/json" id="latchkey-config">{config}</script>
<script src="/widget/v1/latchkey-sign-in.js" nonce="{nonce}"></script>
<script nonce="{nonce}">
(function () {{
  var config = JSON.parse(document.getElementById('latchkey-config').textContent);
  config.el = '#latchkey-widget';
  new LatchkeySignIn(config).showSignInAndRedirect();
}}());
</script>
</body>
</html>
"#,
        lang = escape(lang),
        title = escape(title),
        config = inert_json(config),
        nonce = nonce,
    );
    secure(Html(body).into_response(), &nonce)
}

/// A plain message page (errors that must not redirect).
pub fn message_page(status: axum::http::StatusCode, title: &str, message: &str) -> Response {
    message_page_in(status, "en", title, message)
}

/// [`message_page`] in a language other than English.
pub fn message_page_in(status: axum::http::StatusCode, lang: &str, title: &str, message: &str) -> Response {
    content_page(status, lang, title, &format!("<p>{}</p>", escape(message)), None)
}

/// A server-rendered page: `content` is trusted HTML built by the caller (every value in it
/// passed through [`escape`]); `script` is an optional inline script that gets the response's
/// nonce. Forms post only to this origin (`form-action 'self'`).
pub fn content_page(status: axum::http::StatusCode, lang: &str, title: &str, content: &str, script: Option<&str>) -> Response {
    shell_page(status, lang, title, "latchkey-message", content, script)
}

/// [`content_page`] in a wider column, for pages that show tables and previews (the mailbox).
pub fn wide_page(status: axum::http::StatusCode, title: &str, content: &str, script: Option<&str>) -> Response {
    shell_page(status, "en", title, "lkp-wide", content, script)
}

fn shell_page(status: axum::http::StatusCode, lang: &str, title: &str, class: &str, content: &str, script: Option<&str>) -> Response {
    let nonce = script.map(|_| new_nonce()).unwrap_or_default();
    let script = script.map(|js| format!("<script nonce=\"{nonce}\">{js}</script>")).unwrap_or_default();
    let body = format!(
        "<!doctype html><html lang=\"{l}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><meta name=\"referrer\" content=\"no-referrer\"><title>{t}</title>{HEAD_ASSETS}</head><body class=\"latchkey-hosted\"><main class=\"{class}\"><h1>{t}</h1>{content}</main>{script}</body></html>",
        l = escape(lang),
        t = escape(title),
    );
    secure((status, Html(body)).into_response(), &nonce)
}

fn new_nonce() -> String {
    let mut nonce = [0u8; 18];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    STANDARD.encode(nonce)
}

/// Strict headers for HTML: CSP with the nonce, no framing, no referrer, no caching.
fn secure(response: Response, nonce: &str) -> Response {
    let script = if nonce.is_empty() { "'none'".to_owned() } else { format!("'nonce-{nonce}'") };
    let csp = format!(
        "default-src 'none'; script-src {script}; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    );
    secure_with_csp(response, &csp)
}

/// The strict headers with a caller's CSP, for the few pages whose policy differs (the dev
/// mailbox frames a message; the framed message itself may run nothing at all).
pub fn secure_with_csp(mut response: Response, csp: &str) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}
