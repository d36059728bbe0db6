//! Every cookie Latchkey sets: `__Host-` prefixed, Secure and HttpOnly over https (relaxed on
//! plain-http loopback for development), Path=/, no Domain (security-checklist WEB-3).
//!
//! Reading is the other half of the prefix's promise: a browser accepts a `__Host-` cookie only
//! from this exact origin over https, but anyone who can write a cookie for a sibling subdomain,
//! or inject one into any plain-http response, can plant the same name *without* the prefix
//! (finding 3). So [`keep_own_cookies`] runs before every handler and leaves in the `Cookie`
//! header only the names this deployment sets (prefixed over https, unprefixed on http), with
//! the prefix removed; [`read`] then looks for the exact name.
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

const HOST_PREFIX: &str = "__Host-";

/// Sets cookie `name` (prefixed `__Host-` when `secure`); a `max_age_secs` of 0 deletes it.
pub fn set(response: &mut Response, secure: bool, name: &str, value: &str, max_age_secs: i64, same_site: &str) {
    let name = if secure { format!("{HOST_PREFIX}{name}") } else { name.to_owned() };
    let cookie =
        format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age_secs}{}", if secure { "; Secure" } else { "" });
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The value of cookie `name` (unprefixed: [`keep_own_cookies`] has already checked and removed
/// the prefix), if the browser sent a plausible one (our values are at most 256 characters).
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

/// Middleware: replaces the request's `Cookie` headers with the cookies this origin could have
/// set itself (see the module comment).
pub async fn keep_own_cookies(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let kept = own_cookies(request.headers(), state.secure_cookies());
    let headers = request.headers_mut();
    headers.remove(header::COOKIE);
    if let Some(kept) = kept {
        headers.insert(header::COOKIE, kept);
    }
    next.run(request).await
}

/// Over https only `__Host-` cookies, without the prefix; on http only unprefixed ones (a
/// `__Host-` cookie cannot have come from a plain-http origin of ours). `None` when none is left.
fn own_cookies(headers: &HeaderMap, secure: bool) -> Option<HeaderValue> {
    let kept: Vec<&str> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .map(str::trim)
        .filter_map(|pair| match (pair.strip_prefix(HOST_PREFIX), secure) {
            (Some(unprefixed), true) => Some(unprefixed),
            (None, false) => Some(pair),
            _ => None,
        })
        .filter(|pair| !pair.is_empty())
        .collect();
    if kept.is_empty() {
        return None;
    }
    HeaderValue::from_str(&kept.join("; ")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cookies(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::COOKIE, value.parse().expect("valid header"));
        }
        headers
    }

    fn kept(values: &[&str], secure: bool) -> Option<String> {
        own_cookies(&cookies(values), secure).map(|v| v.to_str().expect("ascii").to_owned())
    }

    #[test]
    fn over_https_only_host_prefixed_cookies_count() {
        assert_eq!(kept(&["latchkey_sid=planted; __Host-latchkey_sid=real"], true).as_deref(), Some("latchkey_sid=real"));
        assert_eq!(kept(&["latchkey_sid=planted", "other=1"], true), None, "an unprefixed cookie is a planted one");
        assert_eq!(kept(&["__Host-a=1", "__Host-b=2"], true).as_deref(), Some("a=1; b=2"));
    }

    #[test]
    fn on_plain_http_only_unprefixed_cookies_count() {
        assert_eq!(kept(&["__Host-latchkey_sid=x; latchkey_sid=real"], false).as_deref(), Some("latchkey_sid=real"));
        assert_eq!(kept(&["__Host-latchkey_sid=x"], false), None);
    }

    #[test]
    fn read_matches_the_exact_name() {
        let headers = cookies(&["xlatchkey_sid=a; latchkey_sid=b"]);
        assert_eq!(read(&headers, "latchkey_sid").as_deref(), Some("b"));
        assert_eq!(read(&cookies(&["__Host-latchkey_sid=a"]), "latchkey_sid"), None, "prefixes are removed before reading");
        assert_eq!(read(&cookies(&[&format!("latchkey_sid={}", "a".repeat(257))]), "latchkey_sid"), None);
    }
}
