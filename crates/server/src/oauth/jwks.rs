//! JWKS: every published, unretired RS256 signing key. Caches may keep the answer for
//! `keys.jwks_cache_secs`; a new key is published at least that long before it signs.
use axum::extract::State;
use axum::http::header::{HeaderValue, CACHE_CONTROL};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_proto::oauth::{Jwk, Jwks};

use super::OAuthError;
use crate::state::AppState;

pub async fn handle(State(state): State<AppState>) -> Result<Response, OAuthError> {
    let keys = state.keys().await;
    let now = state.store.now().await?;
    let body = Json(Jwks {
        keys: keys
            .published_keys(now)
            .iter()
            .map(|k| Jwk {
                kty: "RSA".to_owned(),
                alg: "RS256".to_owned(),
                use_: "sig".to_owned(),
                kid: k.kid.clone(),
                n: k.n.clone(),
                e: k.e.clone(),
            })
            .collect(),
    });
    let mut response = body.into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("public, max-age={}", state.settings.keys.jwks_cache_secs)) {
        response.headers_mut().insert(CACHE_CONTROL, value);
    }
    Ok(response)
}
