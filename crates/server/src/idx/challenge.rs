//! `POST /idp/idx/challenge`: the Email authenticator was chosen → a code is issued and, for a
//! real account within its limits, mailed; the answer is the same in every case (REC-1, REC-7).
//! At a recovery's step-up, and at a sign-in whose account has more than one kind of second
//! factor, the factor is chosen here too (→ its challenge), and during sign-in the TOTP app or
//! passkey to set up (Okta posts that to `credential/enroll`, routed here).
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_proto::idx::ChallengeRequest;

use latchkey_domain::audit::Party;
use latchkey_domain::interaction::{FactorKind, Step, StepError, Subject};
use latchkey_domain::totp::TotpSecret;
use latchkey_store::Audit;

use crate::totp_setup::TotpSetup;

use super::render::{factor_kind_of, EMAIL_AUTHENTICATOR_ID};
use super::steps::{field, refuse, respond, stale, view};
use super::{IdxError, IdxJson, Transaction};
use crate::state::AppState;

#[tracing::instrument(name = "idx.challenge", skip_all)]
pub async fn handle(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    IdxJson(body): IdxJson<ChallengeRequest>,
) -> Result<Response, IdxError> {
    let now = state.store.now().await?;
    let mut tx = Transaction::from_body(&state, &body, now).await?;
    // auth-js sends {"authenticator":{"id":…}}, the widget adds "methodType" (idx-protocol §6.3).
    let chosen = body.authenticator.as_ref().and_then(|a| a.id.as_deref());
    let kind = chosen.and_then(factor_kind_of).filter(|k| tx.choices.has(*k));
    if let Step::RecoveryFactorSelect { .. } | Step::SignInFactorSelect { .. } = tx.record.step {
        let Some(kind) = kind else {
            return Err(refuse(
                &state,
                &tx,
                StatusCode::BAD_REQUEST,
                field("authenticator", "E0000001", "Choose one of your authenticators."),
            ));
        };
        let next = tx.record.step.select_factor(kind, now).map_err(|e| match e {
            StepError::GrantExpired => IdxError::SessionExpired,
            StepError::NotAvailable => stale(&state, &tx),
        })?;
        let record = state.store.advance_interaction(&tx.record.id, tx.record.version, &next).await?.ok_or_else(|| stale(&state, &tx))?;
        let tx = Transaction::load(&state, record, tx.state_handle).await?;
        return Ok(respond(view(&state, &tx).render()));
    }
    if let Step::SignInEnrollSelect { .. } = tx.record.step {
        if kind == Some(FactorKind::Webauthn) {
            let next = tx.record.step.select_enrollment(FactorKind::Webauthn, now).map_err(|e| match e {
                StepError::GrantExpired => IdxError::SessionExpired,
                StepError::NotAvailable => stale(&state, &tx),
            })?;
            let record =
                state.store.advance_interaction(&tx.record.id, tx.record.version, &next).await?.ok_or_else(|| stale(&state, &tx))?;
            // Loading the step starts its registration ceremony.
            let tx = Transaction::load(&state, record, tx.state_handle).await?;
            tracing::info!(event = "signin.passkey_setup_started", "passkey set-up started during sign-in");
            return Ok(respond(view(&state, &tx).render()));
        }
        let context = crate::http::event_context::of(&state, peer, &headers);
        return enroll_totp(&state, tx, kind, &context, now).await;
    }
    let (next, subject) = tx.record.step.select_email().map_err(|_| stale(&state, &tx))?;
    if chosen != Some(EMAIL_AUTHENTICATOR_ID) {
        return Err(refuse(&state, &tx, StatusCode::BAD_REQUEST, field("authenticator", "E0000001", "Choose the Email authenticator.")));
    }
    let request = crate::mail::RequestInfo::from_request(&state, peer, &headers);
    let context = crate::http::event_context::of(&state, peer, &headers);
    let issued =
        super::code::issue(&state, &tx, &subject, (&next, true), (&request, &context), now).await?.ok_or_else(|| stale(&state, &tx))?;
    tx.record = issued.record;
    Ok(respond(view(&state, &tx).render()))
}

/// The TOTP app was chosen for set-up during sign-in: a new secret, sealed in a pending factor
/// written with the move to the enrollment step; the answer carries the secret and QR code.
async fn enroll_totp(
    state: &AppState,
    mut tx: Transaction,
    chosen: Option<FactorKind>,
    context: &latchkey_store::EventContext,
    now: i64,
) -> Result<Response, IdxError> {
    let next = tx.record.step.select_enrollment(FactorKind::Totp, now).map_err(|e| match e {
        StepError::GrantExpired => IdxError::SessionExpired,
        StepError::NotAvailable => stale(state, &tx),
    })?;
    if chosen != Some(FactorKind::Totp) {
        return Err(refuse(state, &tx, StatusCode::BAD_REQUEST, field("authenticator", "E0000001", "Choose an authenticator to set up.")));
    }
    let Step::SignInEnrollTotp { subject: Subject { user_id: Some(user_id), identifier }, .. } = &next else {
        return Err(stale(state, &tx));
    };
    let secret = TotpSecret::generate(&mut rand::rngs::OsRng);
    let factor_id = latchkey_store::new_factor_id();
    let sealed = state.keys().await.seal_factor_secret(&factor_id, secret.expose_bytes()).map_err(|e| IdxError::Internal(e.into()))?;
    let audit = Audit { actor: Party::user(user_id, identifier), context };
    let moved = state
        .store
        .begin_totp_enrollment((&tx.record.id, tx.record.version, &next), user_id, &factor_id, &sealed, &audit, now)
        .await
        .map_err(|e| match e {
            // An administrator activated a factor meanwhile: the sign-in starts over.
            latchkey_store::StoreError::Conflict(_) => stale(state, &tx),
            other => other.into(),
        })?;
    let (record, _) = moved.ok_or_else(|| stale(state, &tx))?;
    let login = state.store.user_by_id(user_id).await?.map(|a| a.user.profile.login.as_str().to_owned()).unwrap_or_default();
    tx.record = record;
    tx.setup = Some(std::sync::Arc::new(TotpSetup::new(state, &login, &secret)));
    tracing::info!(event = "signin.totp_setup_started", "TOTP set-up started during sign-in");
    Ok(respond(view(state, &tx).render()))
}
