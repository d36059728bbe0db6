//! What every IDX request starts with: a strictly parsed JSON body and the transaction its
//! state handle names.
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use latchkey_domain::secret::sha256_hex;
use latchkey_domain::Millis;
use latchkey_store::InteractionRecord;
use serde_json::Value;

use super::IdxError;
use crate::state::AppState;

/// A JSON object body. Any JSON content type is accepted (the clients send several), unknown
/// members are ignored (the real clients send extras such as `rememberMe`, `methodType`).
pub struct IdxBody(pub serde_json::Map<String, Value>);

impl FromRequest<AppState> for IdxBody {
    type Rejection = IdxError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, IdxError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                IdxError::PayloadTooLarge
            } else {
                IdxError::BadRequest("the request body could not be read".to_owned())
            }
        })?;
        match crate::http::json::parse(&bytes) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(IdxError::BadRequest("the request body must be a JSON object".to_owned())),
            Err(e) => Err(IdxError::BadRequest(e.0)),
        }
    }
}

impl IdxBody {
    /// A top-level string member; arrays, objects and numbers are refused, never coerced
    /// (security-checklist REC-3: `["victim@x","att@y"]` is not an identifier).
    pub fn string(&self, name: &str) -> Result<Option<&str>, IdxError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(IdxError::BadRequest(format!("{name} must be a string"))),
        }
    }

    /// A string inside an object member, e.g. `credentials.passcode`.
    pub fn nested_string(&self, object: &str, name: &str) -> Result<Option<&str>, IdxError> {
        match self.0.get(object) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(inner)) => match inner.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(IdxError::BadRequest(format!("{object}.{name} must be a string"))),
            },
            Some(_) => Err(IdxError::BadRequest(format!("{object} must be an object"))),
        }
    }

    pub fn nested_bool(&self, object: &str, name: &str) -> bool {
        self.0.get(object).and_then(|o| o.get(name)).and_then(Value::as_bool).unwrap_or(false)
    }
}

/// A live transaction together with the state handle that names it.
#[derive(Clone)]
pub struct Transaction {
    pub record: InteractionRecord,
    pub state_handle: String,
}

impl Transaction {
    /// Loads the transaction the body's `stateHandle` names (auth-js sends `stateToken` on
    /// introspect; accepted everywhere defensively). Unknown or expired → `idx.session.expired`.
    pub async fn from_body(state: &AppState, body: &IdxBody, now: Millis) -> Result<Self, IdxError> {
        let handle = match body.string("stateHandle")? {
            Some(h) => Some(h),
            None => body.string("stateToken")?,
        };
        let Some(handle) = handle.filter(|h| !h.is_empty() && h.len() <= 512) else {
            return Err(IdxError::SessionExpired);
        };
        let record = state.store.interaction_by_state_handle(&sha256_hex(handle), now).await?.ok_or(IdxError::SessionExpired)?;
        Ok(Self { record, state_handle: handle.to_owned() })
    }
}
