//! Okta's Factors API for TOTP (`token:software:totp`, provider `GOOGLE`):
//! `POST /api/v1/users/{id}/factors` enrolls (the answer carries the shared secret and a QR code
//! once, never again), `POST …/factors/{factorId}/lifecycle/activate` with `passCode` activates,
//! `GET …/factors[/{factorId}]` lists and reads, `DELETE …/factors/{factorId}` removes. Every
//! change is in the System Log; the secret is stored sealed under the key ring's factor key.
//! Activation and removal email the user (AuthenticatorEnrolled, AuthenticatorReset) with a
//! "Not you?" link, queued in the transaction of the change.
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use latchkey_domain::totp::{self, TotpCheck, TotpPolicy, TotpSecret};
use latchkey_proto::management::{FactorActivate, FactorEnroll, UserFactor};
use latchkey_store::{FactorRecord, UserRecord, TOTP_FACTOR_TYPE, TOTP_PROVIDER};
use serde_json::{json, Value};

use super::render::iso;
use super::users::find;
use super::{AdminAuth, AdminError};
use crate::state::AppState;

#[tracing::instrument(name = "admin.factors.enroll", skip_all)]
pub async fn enroll(auth: AdminAuth, State(state): State<AppState>, Path(id): Path<String>, body: Bytes) -> Result<Response, AdminError> {
    let request: FactorEnroll = crate::http::json::parse_into(&body)?;
    if request.factor_type != TOTP_FACTOR_TYPE || request.provider != TOTP_PROVIDER {
        return Err(AdminError::Validation(vec![format!(
            "factorType: Latchkey enrolls {TOTP_FACTOR_TYPE} with provider {TOTP_PROVIDER} through this API"
        )]));
    }
    let user = find(&state, &id).await?;
    let secret = TotpSecret::generate(&mut rand::rngs::OsRng);
    let factor_id = latchkey_store::new_factor_id();
    let sealed = state.keys().await.seal_factor_secret(&factor_id, secret.expose_bytes()).map_err(|e| AdminError::Internal(e.into()))?;
    let now = state.store.now().await?;
    let factor = state.store.enroll_totp(&user.user.id, &factor_id, &sealed, &auth.audit(), now).await.map_err(|e| match e {
        latchkey_store::StoreError::Conflict(_) => {
            AdminError::Validation(vec!["factorType: a factor of this type is already set up; remove it first".to_owned()])
        }
        other => other.into(),
    })?;
    tracing::info!(event = "admin.factor_enrolled", user_id = %user.user.id.as_str(), "TOTP enrollment started");
    let mut body = render(&state, &factor);
    body.embedded = Some(json!({ "activation": activation(&state, &user, &secret) }));
    Ok(Json(body).into_response())
}

#[tracing::instrument(name = "admin.factors.activate", skip_all)]
pub async fn activate(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((id, factor_id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, AdminError> {
    let request: FactorActivate = crate::http::json::parse_into(&body)?;
    let user = find(&state, &id).await?;
    let factor = factor_of(&state, &user, &factor_id).await?;
    if factor.status != "PENDING_ACTIVATION" {
        return Err(AdminError::Validation(vec!["status: the factor is already active".to_owned()]));
    }
    let secret = state.keys().await.open_totp_secret(&factor).map_err(AdminError::Internal)?;
    let now = state.store.now().await?;
    let last_used = factor.last_used_step.and_then(|s| u64::try_from(s).ok());
    let step = match totp::decide(&secret, &TotpPolicy::default(), request.pass_code.trim(), last_used, now) {
        TotpCheck::Accepted { step } => i64::try_from(step).map_err(|e| AdminError::Internal(e.into()))?,
        TotpCheck::Wrong | TotpCheck::Replayed => {
            state.store.record_wrong_factor_value(&factor, &auth.audit(), now).await?;
            return Err(AdminError::InvalidPasscode);
        }
    };
    // The AuthenticatorEnrolled notice goes out with the activation, in its transaction.
    let notice =
        crate::mail::authenticator_enrolled(&state, &*state.keys().await, &user, &factor.factor_type, now).map_err(AdminError::Internal)?;
    let active = state.store.use_totp_step(&factor, step, Some(&notice), &auth.audit(), now).await?.ok_or(AdminError::InvalidPasscode)?;
    state.outbox_wake.notify_one();
    tracing::info!(event = "admin.factor_activated", user_id = %user.user.id.as_str(), "TOTP factor activated");
    Ok(Json(render(&state, &active)).into_response())
}

#[tracing::instrument(name = "admin.factors.list", skip_all)]
pub async fn list(_: AdminAuth, State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, AdminError> {
    let user = find(&state, &id).await?;
    let factors = state.store.factors_of(&user.user.id).await?;
    Ok(Json(factors.iter().map(|f| render(&state, f)).collect::<Vec<_>>()).into_response())
}

#[tracing::instrument(name = "admin.factors.get", skip_all)]
pub async fn get(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((id, factor_id)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    let user = find(&state, &id).await?;
    Ok(Json(render(&state, &factor_of(&state, &user, &factor_id).await?)).into_response())
}

#[tracing::instrument(name = "admin.factors.remove", skip_all)]
pub async fn remove(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((id, factor_id)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    let user = find(&state, &id).await?;
    let factor = factor_of(&state, &user, &factor_id).await?;
    let now = state.store.now().await?;
    // The AuthenticatorReset notice goes out with the removal, in its transaction.
    let notice = crate::mail::authenticator_reset(&state, &*state.keys().await, &user, &factor, now).map_err(AdminError::Internal)?;
    if !state.store.remove_factor(&user.user.id, &factor.id, &notice, &auth.audit(), now).await? {
        return Err(not_found(&factor_id));
    }
    state.outbox_wake.notify_one();
    tracing::info!(event = "admin.factor_removed", user_id = %user.user.id.as_str(), "factor removed");
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn factor_of(state: &AppState, user: &UserRecord, factor_id: &str) -> Result<FactorRecord, AdminError> {
    state.store.factor_of(&user.user.id, factor_id).await?.ok_or_else(|| not_found(factor_id))
}

fn not_found(factor_id: &str) -> AdminError {
    AdminError::NotFound(format!("Resource not found: {factor_id} (UserFactor)"))
}

/// What an authenticator app needs, as Okta's Factors API sends it (`crate::totp_setup`).
fn activation(state: &AppState, user: &UserRecord, secret: &TotpSecret) -> Value {
    let setup = crate::totp_setup::TotpSetup::new(state, user.user.profile.login.as_str(), secret);
    json!({
        "timeStep": setup.policy.step_secs,
        "sharedSecret": setup.shared_secret,
        "encoding": "base32",
        "keyLength": setup.shared_secret.len(),
        "_links": { "qrcode": { "href": setup.qr_data_uri, "type": "image/svg+xml" } },
    })
}

fn render(state: &AppState, factor: &FactorRecord) -> UserFactor {
    let base = format!("{}/api/v1/users/{}/factors/{}", state.public_url, factor.user_id, factor.id);
    let mut links = json!({
        "self": { "href": base, "hints": { "allow": ["GET", "DELETE"] } },
        "user": { "href": format!("{}/api/v1/users/{}", state.public_url, factor.user_id), "hints": { "allow": ["GET"] } },
    });
    if factor.status == "PENDING_ACTIVATION" {
        links["activate"] = json!({ "href": format!("{base}/lifecycle/activate"), "hints": { "allow": ["POST"] } });
    }
    UserFactor {
        id: factor.id.clone(),
        factor_type: factor.factor_type.clone(),
        provider: factor.provider.clone(),
        vendor_name: factor.provider.clone(),
        status: factor.status.clone(),
        created: iso(factor.created_at),
        last_updated: iso(factor.last_updated_at),
        links,
        embedded: None,
    }
}
