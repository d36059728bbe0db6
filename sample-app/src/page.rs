//! The response every page shares: the layout, a per-response CSP nonce and the headers that
//! keep codes and user data out of caches, referrers and frames (security-checklist LNK-4).
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::html::escape;
use crate::session::random_token;

pub struct Page {
    pub status: StatusCode,
    pub title: String,
    /// Markup built by `views`, where every value is escaped.
    pub body: String,
    /// The nonce the page's own `<script>`/`<style>` elements carry.
    pub nonce: String,
    /// The identity server's origin on pages that load the widget: its script, style and API
    /// calls are allowed from there and nowhere else.
    pub widget_origin: Option<String>,
    /// Extra `<head>` markup (the widget's stylesheet).
    pub head: String,
    pub set_cookie: Option<HeaderValue>,
}

/// One small stylesheet: readable at 375 px, and dark when the system is (every page follows
/// `prefers-color-scheme`, like the widget it embeds).
const STYLE: &str = ":root{color-scheme:light dark;--bg:#fff;--fg:#1d1d21;--muted:#4f5562;--link:#1d5bd6;--notice:#eef4ff;--error:#fdecec}\
@media (prefers-color-scheme:dark){:root{--bg:#101216;--fg:#eceef2;--muted:#b9bec9;--link:#8cb4ff;--notice:#1b2740;--error:#3a1d1b}}\
body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;color:var(--fg);background:var(--bg);line-height:1.5}\
a{color:var(--link)}header{margin-bottom:1rem}main{display:grid;gap:1rem}.notice{padding:1rem;border-radius:.5rem;background:var(--notice)}\
.error{background:var(--error)}code{font-size:1.2em;letter-spacing:.1em}button{font:inherit;padding:.4rem 1rem}";

impl Page {
    pub fn new(title: &str) -> Self {
        Self {
            status: StatusCode::OK,
            title: title.to_owned(),
            body: String::new(),
            nonce: random_token(),
            widget_origin: None,
            head: String::new(),
            set_cookie: None,
        }
    }

    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    pub fn body(mut self, body: String) -> Self {
        self.body = body;
        self
    }

    fn csp(&self) -> String {
        let (extra, connect) = match &self.widget_origin {
            Some(origin) => (format!(" {origin}"), origin.as_str()),
            None => (String::new(), "'none'"),
        };
        format!(
            "default-src 'none'; script-src 'nonce-{n}'{extra}; style-src 'nonce-{n}'{extra}; connect-src {connect}; \
             img-src 'self' data:{extra}; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            n = self.nonce
        )
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let html = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title} · Magic link sample</title><style nonce=\"{nonce}\">{STYLE}</style>{head}</head>\
             <body><header><a href=\"/\">Magic link sample</a></header><main>{body}</main></body></html>",
            title = escape(&self.title),
            nonce = self.nonce,
            head = self.head,
            body = self.body,
        );
        let csp = HeaderValue::from_str(&self.csp()).expect("origins and base64url nonces are valid header text");
        let mut response = (self.status, axum::response::Html(html)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        // Pages carry one-time codes and user data: never cached, never sent as a Referer.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        if let Some(cookie) = self.set_cookie {
            headers.insert(header::SET_COOKIE, cookie);
        }
        response
    }
}
