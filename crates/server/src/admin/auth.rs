//! `Authorization: SSWS <token>`, the only place an admin credential is accepted (never a query
//! parameter: security-checklist ADM-4). The configured token is compared as a SHA-256 digest in
//! constant time. With no token configured every call is refused.
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use latchkey_domain::secret::{constant_time_eq, sha256_hex};
use secrecy::ExposeSecret;

use super::AdminError;
use crate::state::AppState;

pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AdminError> {
        let Some(expected) = &state.settings.admin.token else {
            return Err(AdminError::Unauthorized);
        };
        let presented = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("SSWS "))
            .map(str::trim)
            .ok_or(AdminError::Unauthorized)?;
        if constant_time_eq(&sha256_hex(presented), &sha256_hex(expected.expose_secret())) {
            Ok(Self)
        } else {
            Err(AdminError::Unauthorized)
        }
    }
}
