//! What every IDX request starts with: a strictly parsed JSON body read as the endpoint's
//! request type, and the transaction its state handle names.
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use latchkey_domain::interaction::{FactorKinds, Step, Subject};
use latchkey_domain::secret::sha256_hex;
use latchkey_domain::Millis;
use latchkey_proto::idx::{
    AnswerRequest, CancelRequest, ChallengeRequest, IdentifyRequest, IntrospectRequest, RecoverRequest, ResendRequest,
};
use latchkey_store::InteractionRecord;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::IdxError;
use crate::state::AppState;

/// An IDX request body read as `T`. Any JSON content type is accepted (the clients send
/// `application/json` and `application/ion+json`, with parameters); any other, or none, is a
/// 415 before the body is read: a cross-site page can send `text/plain`, a form encoding or a
/// typeless blob without a CORS preflight, never JSON (security-checklist WEB-1). The strict-JSON check comes first (duplicate keys, depth: INP-2, INP-3), then the
/// body must be an object (serde would otherwise read an array as the struct's members in
/// order), then it is read as the endpoint's `latchkey_proto::idx` request type.
pub struct IdxJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for IdxJson<T> {
    type Rejection = IdxError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, IdxError> {
        if !is_json(req.headers().get(axum::http::header::CONTENT_TYPE)) {
            return Err(IdxError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                IdxError::PayloadTooLarge
            } else {
                IdxError::BadRequest("the request body could not be read".to_owned())
            }
        })?;
        let value = match crate::http::json::parse(&bytes) {
            Ok(value @ Value::Object(_)) => value,
            Ok(_) => return Err(IdxError::BadRequest("the request body must be a JSON object".to_owned())),
            Err(e) => return Err(IdxError::BadRequest(e.0)),
        };
        serde_path_to_error::deserialize(value).map(Self).map_err(|e| {
            // serde's own message quotes the offending value; name the member only, so nothing
            // the client sent is echoed back or logged (security-checklist REC-3).
            IdxError::BadRequest(format!("{} has the wrong type", e.path()))
        })
    }
}

/// `application/json` or `application/…+json`, parameters aside, in any case.
fn is_json(content_type: Option<&axum::http::HeaderValue>) -> bool {
    let Some(media_type) = content_type.and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()) else { return false };
    let media_type = media_type.trim().to_ascii_lowercase();
    media_type == "application/json" || (media_type.starts_with("application/") && media_type.ends_with("+json"))
}

/// A request body that names a transaction (`stateHandle`, or auth-js's `stateToken`).
pub trait NamesTransaction {
    fn state_handle(&self) -> Option<&str>;
    fn state_token(&self) -> Option<&str>;
}

macro_rules! names_transaction {
    ($($body:ty),*) => {$(
        impl NamesTransaction for $body {
            fn state_handle(&self) -> Option<&str> {
                self.state_handle.as_deref()
            }
            fn state_token(&self) -> Option<&str> {
                self.state_token.as_deref()
            }
        }
    )*};
}

names_transaction!(IntrospectRequest, IdentifyRequest, RecoverRequest, ChallengeRequest, AnswerRequest, ResendRequest, CancelRequest);

/// A live transaction together with the state handle that names it.
#[derive(Clone)]
pub struct Transaction {
    pub record: InteractionRecord,
    pub state_handle: String,
    /// At a TOTP set-up during sign-in: what the app needs, rendered in every answer at that
    /// step (so a reload or a wrong value shows the QR code again).
    pub setup: Option<std::sync::Arc<crate::totp_setup::TotpSetup>>,
    /// At a passkey's challenge or registration: the ceremony's options and the account's
    /// passkeys (`passkeys::prepare`).
    pub passkey: Option<std::sync::Arc<crate::passkeys::PasskeyStep>>,
    /// At a choice of authenticator: the kinds to offer (the account's for a challenge, the
    /// enrollment policy's for a set-up).
    pub choices: FactorKinds,
}

impl Transaction {
    /// Loads the transaction the body's `stateHandle` names (auth-js sends `stateToken` on
    /// introspect; accepted everywhere defensively). Unknown or expired → `idx.session.expired`.
    pub async fn from_body(state: &AppState, body: &impl NamesTransaction, now: Millis) -> Result<Self, IdxError> {
        let handle = named_handle(body)?;
        let record = state.store.interaction_by_state_handle(&sha256_hex(handle), now).await?.ok_or(IdxError::SessionExpired)?;
        Self::load(state, record, handle.to_owned()).await
    }

    /// A transaction as read, with what its step renders besides the record (a pending TOTP
    /// set-up's secret and QR code, a passkey step's ceremony, the authenticators to choose
    /// from).
    pub async fn load(state: &AppState, record: InteractionRecord, state_handle: String) -> Result<Self, IdxError> {
        let setup = match &record.step {
            Step::SignInEnrollTotp { subject: Subject { user_id: Some(user_id), .. }, .. } => {
                crate::totp_setup::TotpSetup::pending(state, user_id).await.map_err(IdxError::Internal)?.map(std::sync::Arc::new)
            }
            _ => None,
        };
        let choices = match &record.step {
            Step::RecoveryFactorSelect { subject: Subject { user_id: Some(user_id), .. }, .. }
            | Step::SignInFactorSelect { subject: Subject { user_id: Some(user_id), .. }, .. } => {
                let factors = state.store.factors_of(user_id).await?;
                let active = |t: &str| factors.iter().any(|f| f.status == "ACTIVE" && f.factor_type == t);
                FactorKinds { totp: active(latchkey_store::TOTP_FACTOR_TYPE), webauthn: active(latchkey_store::WEBAUTHN_FACTOR_TYPE) }
            }
            Step::SignInEnrollSelect { .. } => {
                state.store.policies().await?.policies.enroll().on_server(state.relying_party.is_some()).offered()
            }
            _ => FactorKinds::default(),
        };
        let (record, passkey) = crate::passkeys::prepare(state, record).await.map_err(IdxError::Internal)?;
        Ok(Self { record, state_handle, setup, passkey: passkey.map(std::sync::Arc::new), choices })
    }

    /// As `from_body`, with expiry judged by the database clock inside the look-up (one round
    /// trip): for a read that takes no other decision on time (introspect).
    pub async fn live_from_body(state: &AppState, body: &impl NamesTransaction) -> Result<Self, IdxError> {
        let handle = named_handle(body)?;
        let record = state.store.live_interaction_by_state_handle(&sha256_hex(handle)).await?.ok_or(IdxError::SessionExpired)?;
        Self::load(state, record, handle.to_owned()).await
    }
}

fn named_handle(body: &impl NamesTransaction) -> Result<&str, IdxError> {
    let handle = body.state_handle().or(body.state_token());
    handle.filter(|h| !h.is_empty() && h.len() <= 512).ok_or(IdxError::SessionExpired)
}
