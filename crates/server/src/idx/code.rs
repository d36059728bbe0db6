//! Issuing a recovery code for a transaction: shared by the first challenge and by resend.
use latchkey_domain::interaction::{Step, Subject};
use latchkey_store::{ChallengeOutcome, NewChallenge};

use super::IdxError;
use super::Transaction;
use crate::state::AppState;

/// Generates a code, and for a real account composes the ForgotPassword email; the store then
/// applies the mail limits and writes code, email and step together. For an unknown account
/// the same code generation and MAC run, and the code is simply never sent.
pub async fn issue(
    state: &AppState,
    tx: &Transaction,
    subject: &Subject,
    next_step: Option<&Step>,
    now: i64,
) -> Result<ChallengeOutcome, IdxError> {
    let code = state.policies.otp.generate();
    let keys = state.keys().await;
    let mac = code.mac(keys.code_mac_key(), &tx.record.id, crate::mail::RECOVERY_PURPOSE);
    let message = match &subject.user_id {
        Some(user_id) => match state.store.user_by_id(user_id).await? {
            Some(account) => Some(crate::mail::forgot_password(state, &keys, &account, &code, tx, now).map_err(IdxError::Internal)?),
            None => None,
        },
        None => None,
    };
    let outcome = state
        .store
        .issue_recovery_code(
            NewChallenge {
                interaction_id: &tx.record.id,
                expected_version: tx.record.version,
                next_step,
                subject,
                code_mac: mac,
                code_lifetime: state.policies.otp.lifetime,
                limits: &state.policies.mail,
                message,
            },
            now,
        )
        .await?;
    match outcome {
        ChallengeOutcome::Issued { mailed: true } => state.outbox_wake.notify_one(),
        ChallengeOutcome::Throttled { .. } => {
            tracing::info!(event = "recovery.mail_throttled", "recovery email limit reached; nothing sent")
        }
        _ => {}
    }
    Ok(outcome)
}
