//! `GET/POST {baseUrl}/v1/userinfo` (OIDC Core §5.3): the signed-in user's claims by scope,
//! for a live access token of this server that was granted `openid`. Errors follow RFC 6750
//! §3: 401 with `WWW-Authenticate: Bearer error="invalid_token"`; an ID token, an expired,
//! revoked or foreign token all land there (security-checklist OA-8).
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{HeaderValue, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use latchkey_proto::oauth::UserInfo;

use super::bearer::{from_header, live_access_token};
use super::OAuthError;
use crate::state::{AppState, AuthServer};

#[tracing::instrument(name = "oauth.userinfo", skip_all, fields(server = server.as_str()))]
pub async fn handle(State(state): State<AppState>, server: AuthServer, headers: HeaderMap, body: Bytes) -> Result<Response, OAuthError> {
    // RFC 6750 §2.2 also allows the token in a form body; the header wins when both are sent.
    let form = crate::http::form::parse(&body).unwrap_or_default();
    let Some(token) = from_header(&headers).map(str::to_owned).or_else(|| form.get("access_token").cloned()) else {
        return Ok(bearer_error(StatusCode::UNAUTHORIZED, None));
    };
    let now = state.store.now().await?;
    let Some((claims, account)) = live_access_token(&state, server, &token, now).await? else {
        return Ok(bearer_error(StatusCode::UNAUTHORIZED, Some("invalid_token")));
    };
    if !claims.scp.iter().any(|s| s == "openid") {
        return Ok(bearer_error(StatusCode::FORBIDDEN, Some("insufficient_scope")));
    }
    let user = &account.user;
    let profile = &user.profile;
    let with_profile = claims.scp.iter().any(|s| s == "profile");
    let with_email = claims.scp.iter().any(|s| s == "email");
    let name = [profile.first_name.as_deref(), profile.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
    let out = UserInfo {
        sub: user.id.as_str().to_owned(),
        name: (with_profile && !name.is_empty()).then_some(name),
        preferred_username: with_profile.then(|| profile.login.as_str().to_owned()),
        given_name: profile.first_name.clone().filter(|_| with_profile),
        family_name: profile.last_name.clone().filter(|_| with_profile),
        locale: profile.locale.clone().filter(|_| with_profile),
        updated_at: with_profile.then_some(user.last_updated_at / 1000),
        email: with_email.then(|| profile.email.as_str().to_owned()),
        email_verified: with_email.then_some(true),
    };
    let mut response = axum::Json(out).into_response();
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

fn bearer_error(status: StatusCode, error: Option<&str>) -> Response {
    let challenge = match error {
        Some(e) => format!("Bearer realm=\"latchkey\", error=\"{e}\""),
        None => "Bearer realm=\"latchkey\"".to_owned(),
    };
    let body = latchkey_proto::oauth::OAuthError {
        error: error.unwrap_or("invalid_request").to_owned(),
        error_description: "The access token is missing, invalid or not allowed here.".to_owned(),
    };
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}
