//! Every cookie Latchkey sets: `__Host-` prefixed, Secure and HttpOnly over https (relaxed on
//! plain-http loopback for development), Path=/, no Domain (security-checklist WEB-3).
use axum::http::header::{self, HeaderValue};
use axum::http::HeaderMap;
use axum::response::Response;

/// Sets cookie `name` (prefixed `__Host-` when `secure`); a `max_age_secs` of 0 deletes it.
pub fn set(response: &mut Response, secure: bool, name: &str, value: &str, max_age_secs: i64, same_site: &str) {
    let name = if secure { format!("__Host-{name}") } else { name.to_owned() };
    let cookie =
        format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}; Max-Age={max_age_secs}{}", if secure { "; Secure" } else { "" });
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The value of cookie `name` (with or without the `__Host-` prefix), if the browser sent a
/// plausible one (our values are at most 256 characters).
pub fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| n.trim_start_matches("__Host-") == name)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 256)
}
