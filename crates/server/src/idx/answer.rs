//! `POST /idp/idx/challenge/answer`: the emailed code (challenge step), the second factor's
//! value (a recovery's step-up) or the new password (reset step) — every form posts here
//! (idx-protocol §6.5, §6.6).
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_domain::audit::{EventType, Party};
use latchkey_domain::interaction::{FactorKind, Step, StepError};
use latchkey_domain::recovery::{AnswerOutcome, FactorProof};
use latchkey_domain::totp::{self, TotpPolicy};
use latchkey_domain::webauthn::{Assertion, Attestation, Ceremony, CeremonyError};
use latchkey_domain::{BearerToken, Password, UserId};
use latchkey_proto::idx::{AnswerRequest, Message};
use latchkey_store::{
    Audit, CodeCheck, EventContext, FactorCheck, InteractionRecord, PasswordChange, RateTicket, ResetCompletion, UserRecord,
};
use serde_json::Value;

use super::error::Problem;
use super::steps::{field, refuse, respond, stale, too_many, view};
use super::{IdxError, IdxJson, Transaction};
use crate::limits::Budget;
use crate::state::AppState;

#[tracing::instrument(name = "idx.answer", skip_all)]
pub async fn handle(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    IdxJson(body): IdxJson<AnswerRequest>,
) -> Result<Response, IdxError> {
    let now = state.store.now().await?;
    let tx = Transaction::from_body(&state, &body, now).await?;
    match &tx.record.step {
        Step::RecoveryChallenge { .. } => {
            let context = crate::http::event_context::of(&state, peer, &headers);
            verify_code(&state, tx, &body, (&crate::limits::client_key(&state, peer, &headers), &context), now).await
        }
        step if step.answered_factor() == Some(FactorKind::Webauthn) => {
            let context = crate::http::event_context::of(&state, peer, &headers);
            verify_passkey(&state, tx, &body, (&crate::limits::client_key(&state, peer, &headers), &context), &headers, now).await
        }
        Step::RecoveryFactorChallenge { .. } | Step::SignInFactorChallenge { .. } | Step::SignInEnrollTotp { .. } => {
            let context = crate::http::event_context::of(&state, peer, &headers);
            verify_factor(&state, tx, &body, (&crate::limits::client_key(&state, peer, &headers), &context), &headers, now).await
        }
        Step::RecoveryReset { .. } => set_password(&state, tx, &body, peer, &headers, now).await,
        _ => Err(stale(&state, &tx)),
    }
}

/// `credentials.passcode`, or empty (which every check below refuses).
fn passcode(body: &AnswerRequest) -> &str {
    body.credentials.as_ref().and_then(|c| c.passcode.as_deref()).unwrap_or_default()
}

fn invalid_code(state: &AppState, tx: &Transaction, status: StatusCode) -> IdxError {
    refuse(state, tx, status, field("credentials.passcode", "api.authn.error.PASSCODE_INVALID", "Invalid code. Try again."))
}

async fn verify_code(
    state: &AppState,
    tx: Transaction,
    body: &AnswerRequest,
    (client, context): (&str, &EventContext),
    now: i64,
) -> Result<Response, IdxError> {
    let subject = tx.record.step.challenged_subject().map_err(|_| stale(state, &tx))?.clone();
    let raw = passcode(body);
    // Malformed input is refused before anything is counted (security-checklist OTP-7).
    let code = state.policies.otp.parse(raw).map_err(|_| invalid_code(state, &tx, StatusCode::BAD_REQUEST))?;
    // One address guessing codes across many accounts is stopped here (RL-3): a unit of the
    // address's failure budget is taken before the code is looked at, atomically, and given
    // back if the code was right (finding 7).
    let ticket = crate::limits::take(state, Budget::CodeFailures, client, now).await?.map_err(|wait| too_many(state, &tx, wait))?;
    let keys = state.keys().await;
    let mac = super::code::code_mac(&keys, &tx, &subject, &code);
    let subject_key = subject.identifier_key().storage_key();
    let compose_notice = |account: Option<&UserRecord>| {
        crate::mail::for_account_or_decoy(account, now, |account| crate::mail::lockout_notice(state, &keys, account, now))
    };
    let check = CodeCheck {
        interaction_id: &tx.record.id,
        submitted_mac: &mac,
        subject_key: &subject_key,
        policy: &state.policies.otp,
        grant_lifetime: crate::config::ms(state.settings.recovery.reset_grant_secs),
        context,
    };
    let answered = state.store.attempt_recovery_code(check, &compose_notice, now).await?;
    crate::metrics::funnel::code_answered(&answered.as_ref().map_or(AnswerOutcome::NotAvailable, |(o, _)| *o));
    render_answer(state, tx, answered, ticket).await
}

/// The subject a second-factor step challenges, or why the step takes no answer now (its
/// window closed: the session expired; another step: stale).
fn factor_subject(state: &AppState, tx: &Transaction, now: i64) -> Result<latchkey_domain::interaction::Subject, IdxError> {
    match tx.record.step.factor_challenged(now) {
        Ok(subject) => Ok(subject.clone()),
        Err(StepError::GrantExpired) => Err(IdxError::SessionExpired),
        Err(StepError::NotAvailable) => Err(stale(state, tx)),
    }
}

/// A TOTP value at a recovery's step-up or a sign-in's second step: the account's active factor
/// is opened here (the store cannot unseal), the value matched to a time step, and the store
/// decides replay and limits under lock, like a code. A sign-in that completes gets its code.
async fn verify_factor(
    state: &AppState,
    tx: Transaction,
    body: &AnswerRequest,
    (client, context): (&str, &EventContext),
    headers: &HeaderMap,
    now: i64,
) -> Result<Response, IdxError> {
    let subject = factor_subject(state, &tx, now)?;
    let raw = passcode(body).trim();
    let totp_policy = TotpPolicy::default();
    if !totp_policy.is_well_formed(raw) {
        return Err(invalid_code(state, &tx, StatusCode::BAD_REQUEST));
    }
    let ticket = crate::limits::take(state, Budget::CodeFailures, client, now).await?.map_err(|wait| too_many(state, &tx, wait))?;
    let keys = state.keys().await;
    let user_id = subject.user_id.clone().unwrap_or_else(UserId::decoy);
    // A set-up answers for the pending factor it created; every other step for the active one.
    let enrolling = matches!(tx.record.step, Step::SignInEnrollTotp { .. });
    let factor = if enrolling { state.store.pending_totp(&user_id).await? } else { state.store.active_totp(&user_id).await? };
    let matched_step: Option<u64> = match &factor {
        Some(factor) => totp::matching_step(&keys.open_totp_secret(factor).map_err(IdxError::Internal)?, &totp_policy, raw, now),
        None => None,
    };
    let compose_notice = |account: Option<&UserRecord>| {
        crate::mail::for_account_or_decoy(account, now, |account| crate::mail::lockout_notice(state, &keys, account, now))
    };
    // A first value that activates the factor announces it, with its "Not you?" link.
    let enrolled_notice = match (&factor, enrolling) {
        (Some(factor), true) => match state.store.user_by_id(&user_id).await? {
            Some(account) => {
                Some(crate::mail::authenticator_enrolled(state, &keys, &account, &factor.factor_type, now).map_err(IdxError::Internal)?)
            }
            None => None,
        },
        _ => None,
    };
    let code = BearerToken::generate();
    let check = FactorCheck {
        interaction_id: &tx.record.id,
        factor_id: factor.as_ref().map_or("", |f| f.id.as_str()),
        proof: FactorProof::Totp(matched_step),
        ceremony: None,
        policy: &state.policies.otp,
        grant_lifetime: crate::config::ms(state.settings.recovery.reset_grant_secs),
        context,
        interaction_code: (&code.digest(), now + crate::config::ms(state.settings.tokens.code_secs)),
        enrolled_notice: enrolled_notice.as_ref(),
    };
    let answered = state.store.attempt_factor(check, &compose_notice, now).await?;
    finish_factor_answer(state, tx, answered, (ticket, &code), headers, now).await
}

/// A completed sign-in gets its code (and, on our own pages, the browser session); every other
/// outcome renders like a code's answer.
async fn finish_factor_answer(
    state: &AppState,
    tx: Transaction,
    answered: Option<(AnswerOutcome, InteractionRecord)>,
    (ticket, code): (RateTicket, &BearerToken),
    headers: &HeaderMap,
    now: i64,
) -> Result<Response, IdxError> {
    if let Some((AnswerOutcome::Verified, record @ InteractionRecord { step: Step::Success { .. }, .. })) = answered {
        state.store.refund_rate(ticket).await?;
        let tx = Transaction { record, setup: None, passkey: None, ..tx };
        tracing::info!(event = "signin.success", "signed in with a second factor");
        return super::identify::signed_in(state, &tx, code, headers, now).await;
    }
    render_answer(state, tx, answered, ticket).await
}

/// A passkey's answer: an assertion at a challenge, an attestation at a set-up. Malformed
/// answers are refused before anything is counted; webauthn-rs then checks the answer against
/// the transaction's stored ceremony (challenge, origin, RP id hash, flags, signature, counter),
/// and the store decides under lock — the ceremony still the transaction's, the passkey still
/// the account's, the limits — exactly like a TOTP value.
async fn verify_passkey(
    state: &AppState,
    tx: Transaction,
    body: &AnswerRequest,
    (client, context): (&str, &EventContext),
    headers: &HeaderMap,
    now: i64,
) -> Result<Response, IdxError> {
    let subject = factor_subject(state, &tx, now)?;
    let enrolling = matches!(tx.record.step, Step::SignInEnrollWebauthn { .. });
    let credentials = body.credentials.as_ref();
    let member = |get: fn(&latchkey_proto::idx::PasscodeCredentials) -> Option<&String>| {
        credentials.and_then(get).map(String::as_str).filter(|v| !v.is_empty() && v.len() <= MAX_WEBAUTHN_MEMBER)
    };
    let client_data = member(|c| c.client_data.as_ref());
    let (attestation, authenticator_data, signature) =
        (member(|c| c.attestation.as_ref()), member(|c| c.authenticator_data.as_ref()), member(|c| c.signature_data.as_ref()));
    let well_formed =
        client_data.is_some() && if enrolling { attestation.is_some() } else { authenticator_data.is_some() && signature.is_some() };
    if !well_formed {
        return Err(invalid_passkey(state, &tx, StatusCode::BAD_REQUEST));
    }
    let ticket = crate::limits::take(state, Budget::CodeFailures, client, now).await?.map_err(|wait| too_many(state, &tx, wait))?;
    let user_id = subject.user_id.clone().unwrap_or_else(UserId::decoy);
    let ceremony = tx.record.webauthn_ceremony.clone();
    let parsed = ceremony.as_deref().map(Ceremony::from_stored).transpose().map_err(|e| IdxError::Internal(e.into()))?;
    let refused = |error: CeremonyError| {
        // Which check failed goes to the log (no secret is in it); the client learns nothing more.
        tracing::info!(event = "webauthn.refused", reason = %error, "passkey answer refused");
    };
    let client_data = client_data.unwrap_or_default();
    let (proof, new_factor) = match (&state.relying_party, parsed) {
        (Some(rp), Some(ceremony)) if enrolling => {
            let answer = Attestation { client_data, attestation: attestation.unwrap_or_default() };
            match rp.finish_registration(&ceremony, &answer) {
                Ok(passkey) => {
                    let factor_id = latchkey_store::new_factor_id();
                    (FactorProof::NewPasskey(Some((factor_id.clone(), passkey))), Some(factor_id))
                }
                Err(error) => {
                    refused(error);
                    (FactorProof::NewPasskey(None), None)
                }
            }
        }
        (Some(rp), Some(ceremony)) => {
            let passkeys = crate::passkeys::active(state, &user_id).await.map_err(IdxError::Internal)?;
            let answer = Assertion {
                credential_id: None,
                client_data,
                authenticator_data: authenticator_data.unwrap_or_default(),
                signature: signature.unwrap_or_default(),
                user_handle: None,
            };
            match rp.finish_authentication(&ceremony, &answer, &passkeys) {
                Ok(verified) => (FactorProof::Passkey(Some(verified)), None),
                Err(error) => {
                    refused(error);
                    (FactorProof::Passkey(None), None)
                }
            }
        }
        // No ceremony (no passkey left to sign with, or no relying party): nothing can match.
        _ if enrolling => (FactorProof::NewPasskey(None), None),
        _ => (FactorProof::Passkey(None), None),
    };
    let keys = state.keys().await;
    let compose_notice = |account: Option<&UserRecord>| {
        crate::mail::for_account_or_decoy(account, now, |account| crate::mail::lockout_notice(state, &keys, account, now))
    };
    // A new passkey is announced, with its "Not you?" link (queued only if it is added).
    let enrolled_notice = match new_factor {
        Some(_) => match state.store.user_by_id(&user_id).await? {
            Some(account) => Some(
                crate::mail::authenticator_enrolled(state, &keys, &account, latchkey_store::WEBAUTHN_FACTOR_TYPE, now)
                    .map_err(IdxError::Internal)?,
            ),
            None => None,
        },
        None => None,
    };
    let code = BearerToken::generate();
    let check = FactorCheck {
        interaction_id: &tx.record.id,
        factor_id: "",
        proof,
        ceremony: ceremony.as_deref(),
        policy: &state.policies.otp,
        grant_lifetime: crate::config::ms(state.settings.recovery.reset_grant_secs),
        context,
        interaction_code: (&code.digest(), now + crate::config::ms(state.settings.tokens.code_secs)),
        enrolled_notice: enrolled_notice.as_ref(),
    };
    let answered = state.store.attempt_factor(check, &compose_notice, now).await?;
    finish_factor_answer(state, tx, answered, (ticket, &code), headers, now).await
}

/// The longest base64url member of a passkey answer read (an attestation with a certificate
/// chain is a few KiB); longer is malformed.
const MAX_WEBAUTHN_MEMBER: usize = 64 * 1024;

fn invalid_passkey(state: &AppState, tx: &Transaction, status: StatusCode) -> IdxError {
    refuse(
        state,
        tx,
        status,
        field(
            "credentials.clientData",
            "api.authn.error.WEBAUTHN_INVALID",
            "Your security key or biometric could not be verified. Try again.",
        ),
    )
}

/// Renders what the store decided about an answer (a code or a second factor's value) from the
/// transaction as it committed; the address's failure budget is given back unless the answer
/// was a counted failure.
async fn render_answer(
    state: &AppState,
    mut tx: Transaction,
    answered: Option<(AnswerOutcome, InteractionRecord)>,
    ticket: RateTicket,
) -> Result<Response, IdxError> {
    let (outcome, record) = answered.ok_or(IdxError::SessionExpired)?;
    // What the step the answer led to renders besides the record (the factors to choose from).
    tx = Transaction::load(state, record, tx.state_handle).await?;
    state.outbox_wake.notify_one();
    match outcome {
        AnswerOutcome::Verified => {
            state.store.refund_rate(ticket).await?;
            tracing::info!(event = "recovery.answer_verified", step = tx.record.step.kind(), "recovery answer verified");
            Ok(respond(view(state, &tx).render()))
        }
        AnswerOutcome::Refused => {
            tracing::info!(event = "recovery.answer_failed", step = tx.record.step.kind(), "recovery answer refused");
            if tx.record.step.answered_factor() == Some(FactorKind::Webauthn) {
                return Err(invalid_passkey(state, &tx, StatusCode::UNAUTHORIZED));
            }
            Err(invalid_code(state, &tx, StatusCode::UNAUTHORIZED))
        }
        AnswerOutcome::Blocked { retry_after } => {
            state.store.refund_rate(ticket).await?;
            Err(too_many(state, &tx, retry_after))
        }
        AnswerOutcome::NotAvailable => {
            state.store.refund_rate(ticket).await?;
            Err(stale(state, &tx))
        }
    }
}

async fn set_password(
    state: &AppState,
    mut tx: Transaction,
    body: &AnswerRequest,
    peer: SocketAddr,
    headers: &HeaderMap,
    now: i64,
) -> Result<Response, IdxError> {
    let user_id = match tx.record.step.reset_grant(now) {
        Ok(user_id) => user_id.clone(),
        // The reset window ran out: the transaction is over; the user starts again.
        Err(_) => return Err(IdxError::SessionExpired),
    };
    let account = state.store.user_by_id(&user_id).await?.ok_or(IdxError::SessionExpired)?;
    let raw = passcode(body);
    let requirements_not_met = |details: String| {
        refuse(
            state,
            &tx,
            StatusCode::BAD_REQUEST,
            Problem::Field {
                path: "credentials.passcode",
                message: Message::error(
                    "password.passwordRequirementsNotMet",
                    &format!("Password requirements were not met: {}.", details.trim_end_matches('.')),
                    vec![Value::String(details.clone())],
                ),
            },
        )
    };
    let password = Password::parse(raw).map_err(|e| requirements_not_met(e.to_string()))?;
    let hash = match state.hasher.check_and_hash(&state.policies.password, password, &account.user.profile).await? {
        Ok(hash) => hash,
        Err(violations) => {
            let details = violations.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            crate::metrics::funnel::password_reset(false);
            return Err(requirements_not_met(details));
        }
    };
    let keys = state.keys().await;
    let notice =
        crate::mail::password_changed(state, &keys, &account, Some(&crate::mail::RequestInfo::from_request(state, peer, headers)), now)
            .map_err(IdxError::Internal)?;
    let code = BearerToken::generate();
    // SES-1: every other session and every refresh token of the account ends with the reset;
    // `revokeSessions` ends this browser's session too.
    let revoke_all = body.credentials.as_ref().and_then(|c| c.revoke_sessions).unwrap_or(false);
    let this_browser = if revoke_all { None } else { crate::session::presented_digest(headers) };
    let context = crate::http::event_context::of(state, peer, headers);
    let finished = state
        .store
        .complete_reset(
            ResetCompletion {
                interaction_id: &tx.record.id,
                expected_version: tx.record.version,
                change: PasswordChange {
                    user_id: &user_id,
                    hash: &hash,
                    notice,
                    keep_session_digest: this_browser.as_deref(),
                    completing_interaction: Some(&tx.record.id),
                    event_type: EventType::PasswordReset,
                    audit: Audit { actor: Party::user(&user_id, account.user.profile.login.as_str()), context: &context },
                },
                interaction_code_digest: &code.digest(),
                interaction_code_expires_at: now + crate::config::ms(state.settings.tokens.code_secs),
            },
            now,
        )
        .await?;
    tx.record = finished.ok_or_else(|| stale(state, &tx))?;
    state.outbox_wake.notify_one();
    tracing::info!(event = "recovery.password_reset", user_id = %user_id.as_str(), "password reset completed");
    crate::metrics::funnel::password_reset(true);
    let mut response = respond(view(state, &tx).success(code.expose()));
    if crate::session::from_own_origin(state, headers) {
        crate::session::start(state, headers, &user_id, (now, tx.record.methods), now, &mut response).await?;
    }
    Ok(response)
}
