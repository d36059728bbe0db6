//! `POST /idp/idx/identify`: the sign-in form (identifier + password) and, during recovery, the
//! "Email or Username" form. Both are answered the same way whatever the account's state.
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_domain::interaction::{Step, Subject};
use latchkey_domain::{BearerToken, Identifier, Password};
use latchkey_proto::idx::{IdentifyRequest, Message};
use latchkey_store::{EventContext, SignInCompleted, SignInCompletion, SignInGate};

use super::error::Problem;
use super::steps::{field, refuse, respond, stale, too_many, view};
use super::{IdxError, IdxJson, Transaction};
use crate::limits::Budget;
use crate::state::AppState;

#[tracing::instrument(name = "idx.identify", skip_all)]
pub async fn handle(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    IdxJson(body): IdxJson<IdentifyRequest>,
) -> Result<Response, IdxError> {
    let now = state.store.now().await?;
    let tx = Transaction::from_body(&state, &body, now).await?;
    let client = crate::limits::client_key(&state, peer, &headers);
    match tx.record.step {
        Step::Identify => {
            let context = crate::http::event_context::of(&state, peer, &headers);
            sign_in(&state, tx, &body, (&client, &context), &headers, now).await
        }
        Step::RecoveryIdentify => identify_recovery(&state, tx, &body, &client, now).await,
        _ => Err(stale(&state, &tx)),
    }
}

fn parse_identifier(state: &AppState, tx: &Transaction, body: &IdentifyRequest) -> Result<Identifier, IdxError> {
    let raw = body.identifier.as_deref().unwrap_or_default();
    Identifier::parse(raw)
        .map_err(|e| refuse(state, tx, StatusCode::BAD_REQUEST, field("identifier", "E0000001", &format!("Username {e}."))))
}

/// Wrong password, unknown user, suspended or locked account: one answer for all
/// (security-checklist RL-1, REC-1). Each still costs one Argon2 verification.
fn authentication_failed(state: &AppState, tx: &Transaction) -> IdxError {
    refuse(state, tx, StatusCode::UNAUTHORIZED, Problem::Global(Message::error("errors.E0000004", "Authentication failed", vec![])))
}

async fn sign_in(
    state: &AppState,
    tx: Transaction,
    body: &IdentifyRequest,
    (client, context): (&str, &EventContext),
    headers: &HeaderMap,
    now: i64,
) -> Result<Response, IdxError> {
    let identifier = parse_identifier(state, &tx, body)?;
    let raw_password = body.credentials.as_ref().and_then(|c| c.passcode.as_deref()).unwrap_or_default();
    let password = Password::parse(raw_password)
        .map_err(|e| refuse(state, &tx, StatusCode::BAD_REQUEST, field("credentials.passcode", "E0000001", &format!("Password: {e}."))))?;
    // A unit of the address's failure budget is taken before the password is checked, in one
    // atomic statement, and given back on success (finding 7).
    let ticket = crate::limits::take(state, Budget::SignInFailures, client, now).await?.map_err(|wait| too_many(state, &tx, wait))?;
    let account = state.store.user_for_identifier(identifier.canonical()).await?;
    let subject = Subject::new(identifier.canonical(), account.as_ref().map(|a| a.user.id.clone()));
    // The visible throttle counts the submitted identifier, never the account (finding 6); the
    // attempt is counted before the password is checked and cleared by a success.
    if let SignInGate::Wait { retry_after } = state.store.begin_sign_in(&subject, &state.policies.signin, now).await? {
        state.store.refund_rate(ticket).await?;
        return Err(too_many(state, &tx, retry_after));
    }
    let stored_hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let verification = state.hasher.verify(password.clone(), stored_hash.clone()).await?;
    let account = match account {
        Some(account) if verification.matches && account.user.status.can_sign_in() => account,
        _ => {
            // At the account-wide ceiling the account locks until a recovery or an admin
            // unlock (RL-1, RL-2); the answer is the one every failure gets.
            if state.store.finish_failed_sign_in(&subject, state.settings.signin.lockout_after, context, now).await? {
                tracing::warn!(event = "signin.locked_out", "account locked after repeated sign-in failures");
            }
            tracing::info!(event = "signin.failure", "sign-in failed");
            return Err(authentication_failed(state, &tx));
        }
    };
    state.store.refund_rate(ticket).await?;
    let code = BearerToken::generate();
    let code_expires_at = now + crate::config::ms(state.settings.tokens.code_secs);
    let mut tx = tx;
    let done = SignInCompletion {
        interaction_id: &tx.record.id,
        expected_version: tx.record.version,
        subject: &subject,
        user_id: &account.user.id,
        code_digest: &code.digest(),
        code_expires_at,
        context,
        verified_hash: stored_hash.as_deref().unwrap_or_default(),
        second_factor_window: crate::config::ms(state.settings.signin.second_factor_secs),
        passkeys_available: state.relying_party.is_some(),
    };
    tx.record = match state.store.complete_sign_in(done, now).await? {
        SignInCompleted::Done(record) => *record,
        SignInCompleted::Moved => return Err(stale(state, &tx)),
        // A reset committed while the old password was being verified: it no longer opens the
        // account (cluster §3.6). The answer is the one every failure gets.
        SignInCompleted::CredentialChanged => return Err(authentication_failed(state, &tx)),
    };
    if verification.needs_rehash {
        // Transparent upgrade to today's Argon2 parameters (security-checklist STO-1).
        match state.hasher.hash(password).await {
            Ok(hash) => {
                if !state.store.rehash_password(&account.user.id, stored_hash.as_deref().unwrap_or_default(), &hash).await? {
                    tracing::info!(event = "signin.rehash_skipped", "the password changed meanwhile; the new hash stays");
                }
            }
            Err(error) => tracing::warn!(%error, "could not rehash a password"),
        }
    }
    if !matches!(tx.record.step, Step::Success { .. }) {
        // The app sign-in rule asks for a second factor: its challenge (or why there is none).
        tracing::info!(event = "signin.password_verified", step = tx.record.step.kind(), "password verified; second factor next");
        // Loading the step starts a passkey challenge's ceremony, or lists the kinds to choose.
        let tx = Transaction::load(state, tx.record, tx.state_handle).await?;
        return Ok(respond(view(state, &tx).render()));
    }
    tracing::info!(event = "signin.success", user_id = %account.user.id.as_str(), "signed in");
    signed_in(state, &tx, &code, headers, now).await
}

/// The success body with the interaction code; the widget on our own pages also gets this
/// browser signed in to Latchkey itself.
pub(super) async fn signed_in(
    state: &AppState,
    tx: &Transaction,
    code: &BearerToken,
    headers: &HeaderMap,
    now: i64,
) -> Result<Response, IdxError> {
    let mut response = respond(view(state, tx).success(code.expose()));
    if let (true, Step::Success { user_id }) = (crate::session::from_own_origin(state, headers), &tx.record.step) {
        crate::session::start(state, headers, user_id, (now, tx.record.methods), now, &mut response).await?;
    }
    Ok(response)
}

async fn identify_recovery(
    state: &AppState,
    mut tx: Transaction,
    body: &IdentifyRequest,
    client: &str,
    now: i64,
) -> Result<Response, IdxError> {
    let identifier = parse_identifier(state, &tx, body)?;
    crate::limits::take(state, Budget::RecoveryStarts, client, now).await?.map_err(|wait| too_many(state, &tx, wait))?;
    let account = state.store.user_for_identifier(identifier.canonical()).await?;
    let recoverable = account.filter(|a| a.user.status.can_recover()).map(|a| a.user.id);
    let next = tx.record.step.identify_recovery(Subject::new(identifier.canonical(), recoverable)).map_err(|_| stale(state, &tx))?;
    tx.record = state.store.advance_interaction(&tx.record.id, tx.record.version, &next).await?.ok_or_else(|| stale(state, &tx))?;
    tracing::info!(event = "recovery.identified", "recovery identifier submitted");
    crate::metrics::funnel::started();
    Ok(respond(view(state, &tx).render()))
}
