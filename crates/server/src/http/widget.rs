//! The sign-in widget's static assets: immutable per version, embeddable from any origin
//! (`Access-Control-Allow-Origin: *` without credentials, CORP cross-origin), with Subresource
//! Integrity hashes at `/widget/v1/sri.json` (security-checklist WEB-6, WEB-7). Next to them,
//! the stylesheet of Latchkey's own pages around the widget card and the default favicon.
//!
//! The files are compiled in. For widget development only, `LATCHKEY_WIDGET_DIR` serves them
//! from disk instead, so a change needs no rebuild.
use axum::extract::Path;
use axum::http::header::{self, HeaderValue};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha384};

use crate::state::AppState;

const JS: &[u8] = include_bytes!("../../../../widget/latchkey-sign-in.js");
const CSS: &[u8] = include_bytes!("../../../../widget/latchkey-sign-in.css");
const PAGES_CSS: &[u8] = include_bytes!("../../../../widget/latchkey-pages.css");
pub const FAVICON: &[u8] = include_bytes!("../../../../widget/favicon.svg");

pub fn router() -> Router<AppState> {
    Router::new().route("/widget/v1/{file}", get(asset))
}

fn load(name: &str) -> Option<(Vec<u8>, &'static str)> {
    let content_type = match name {
        "latchkey-sign-in.js" => "text/javascript; charset=utf-8",
        "latchkey-sign-in.css" | "latchkey-pages.css" => "text/css; charset=utf-8",
        "favicon.svg" => "image/svg+xml",
        _ => return None,
    };
    if let Ok(dir) = std::env::var("LATCHKEY_WIDGET_DIR") {
        return std::fs::read(std::path::Path::new(&dir).join(name)).ok().map(|b| (b, content_type));
    }
    let bytes = match name {
        "latchkey-sign-in.js" => JS,
        "latchkey-sign-in.css" => CSS,
        "latchkey-pages.css" => PAGES_CSS,
        _ => FAVICON,
    };
    Some((bytes.to_vec(), content_type))
}

pub fn sri(bytes: &[u8]) -> String {
    format!("sha384-{}", STANDARD.encode(Sha384::digest(bytes)))
}

async fn asset(Path(file): Path<String>) -> Response {
    let (body, content_type) = if file == "sri.json" {
        let entries: serde_json::Map<String, serde_json::Value> = ["latchkey-sign-in.js", "latchkey-sign-in.css"]
            .iter()
            .filter_map(|name| load(name).map(|(bytes, _)| ((*name).to_owned(), serde_json::Value::String(sri(&bytes)))))
            .collect();
        (serde_json::to_vec(&entries).unwrap_or_default(), "application/json")
    } else {
        match load(&file) {
            Some(found) => found,
            None => return StatusCode::NOT_FOUND.into_response(),
        }
    };
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
    let cache = if std::env::var_os("LATCHKEY_WIDGET_DIR").is_some() { "no-cache" } else { "public, max-age=31536000, immutable" };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}
