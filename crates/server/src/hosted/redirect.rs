//! The authorization response back to the client (RFC 6749 §4.1.2, RFC 9207): `code` or
//! `error`, the client's `state` verbatim, and `iss`. Used only after the client and the exact
//! redirect URI have been verified (security-checklist OA-1, OA-5).
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use super::page::message_page;

pub fn with_code(redirect_uri: &str, code: &str, oauth_state: &str, issuer: &str) -> Response {
    redirect(redirect_uri, &[("code", code)], oauth_state, issuer, "This sign-in cannot be returned to the application.")
}

pub fn with_error(redirect_uri: &str, code: &str, description: &str, oauth_state: Option<&str>, issuer: &str) -> Response {
    redirect(redirect_uri, &[("error", code), ("error_description", description)], oauth_state.unwrap_or_default(), issuer, description)
}

fn redirect(redirect_uri: &str, pairs: &[(&str, &str)], oauth_state: &str, issuer: &str, fallback: &str) -> Response {
    let Ok(mut url) = url::Url::parse(redirect_uri) else {
        return message_page(StatusCode::BAD_REQUEST, "Sign-in request not valid", fallback);
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs {
            query.append_pair(k, v);
        }
        if !oauth_state.is_empty() {
            query.append_pair("state", oauth_state);
        }
        query.append_pair("iss", issuer);
    }
    Redirect::to(url.as_str()).into_response()
}
