//! `Authorization: SSWS <token>`, the only place an admin credential is accepted (never a query
//! parameter: security-checklist ADM-4). The configured token is compared as a SHA-256 digest in
//! constant time. With no token configured every call is refused.
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use latchkey_domain::secret::{constant_time_eq, sha256_hex};
use secrecy::ExposeSecret;

use super::AdminError;
use crate::limits::Budget;
use crate::state::AppState;

/// An authenticated admin request, with where it came from for the System Log.
pub struct AdminAuth {
    pub context: latchkey_store::EventContext,
}

impl AdminAuth {
    /// The administrator as the actor of a change this request makes.
    pub fn audit(&self) -> latchkey_store::Audit<'_> {
        latchkey_store::Audit::admin(&self.context)
    }
}

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AdminError> {
        let Some(expected) = &state.settings.admin.token else {
            return Err(AdminError::Unauthorized);
        };
        // A unit of the address's failure budget is taken before the token is compared and given
        // back when it matches: token guessing stops at the limit (RL-3, finding 7).
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0).ok_or(AdminError::Unauthorized)?;
        let now = state.store.now().await?;
        let client = crate::limits::client_key(state, peer, &parts.headers);
        let ticket = crate::limits::take(state, Budget::AdminFailures, &client, now)
            .await?
            .map_err(|wait| AdminError::TooManyRequests { retry_after_secs: (wait + 999) / 1000 })?;
        let presented = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("SSWS "))
            .map(str::trim)
            .ok_or(AdminError::Unauthorized)?;
        if constant_time_eq(&sha256_hex(presented), &sha256_hex(expected.expose_secret())) {
            state.store.refund_rate(ticket).await?;
            Ok(Self { context: crate::http::event_context::of(state, peer, &parts.headers) })
        } else {
            Err(AdminError::Unauthorized)
        }
    }
}
