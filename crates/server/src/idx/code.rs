//! Issuing a recovery code for a transaction: shared by the first challenge and by resend.
use latchkey_domain::interaction::{Step, Subject};
use latchkey_domain::Otp;
use latchkey_store::{ChallengeOutcome, IssuedChallenge, NewChallenge};

use super::IdxError;
use super::Transaction;
use crate::crypto::keyring::KeyRing;
use crate::state::AppState;

/// The MAC stored for `code` in this transaction: bound to the transaction, the purpose and
/// the subject the code is mailed for, so it answers nothing else (OTP-6).
pub fn code_mac(keys: &KeyRing, tx: &Transaction, subject: &Subject, code: &Otp) -> String {
    code.mac(keys.code_mac_key(), &tx.record.id, crate::mail::RECOVERY_PURPOSE, &subject.identifier_key().storage_key())
}

/// Generates a code and composes the ForgotPassword email; the store then applies the mail
/// limits and writes code, email and step together. For an unknown account the same work runs
/// (the account look-up, the code, its MAC, an email composed and sealed for a decoy account,
/// one outbox row) and nothing is sent, so neither answers nor timing tell the two apart
/// (security-checklist REC-1, REC-2, §4). `None`: the transaction moved meanwhile.
pub async fn issue(
    state: &AppState,
    tx: &Transaction,
    subject: &Subject,
    (next_step, is_first): (&Step, bool),
    (request, context): (&crate::mail::RequestInfo, &latchkey_store::EventContext),
    now: i64,
) -> Result<Option<IssuedChallenge>, IdxError> {
    let code = state.policies.otp.generate(&mut rand::rngs::OsRng);
    let keys = state.keys().await;
    let mac = code_mac(&keys, tx, subject, &code);
    // The store reads the account inside its transaction and has the email composed for it (or
    // for the decoy account, when the identifier names none).
    let compose = |account: Option<&latchkey_store::UserRecord>| {
        crate::mail::for_account_or_decoy(account, now, |account| {
            crate::mail::forgot_password(state, &keys, account, &code, tx, request, now)
        })
    };
    let issued = state
        .store
        .issue_recovery_code(
            NewChallenge {
                interaction_id: &tx.record.id,
                expected_version: tx.record.version,
                next_step,
                is_first,
                subject,
                code_mac: mac,
                code_lifetime: state.policies.otp.lifetime,
                limits: &state.policies.mail,
                compose: &compose,
                context,
            },
            now,
        )
        .await?;
    if let Some(issued) = &issued {
        crate::metrics::funnel::email_queued(&issued.outcome);
    }
    match issued.as_ref().map(|issued| issued.outcome) {
        Some(ChallengeOutcome::Issued { mailed: true }) => state.outbox_wake.notify_one(),
        Some(ChallengeOutcome::Throttled { .. }) => {
            tracing::info!(event = "recovery.mail_throttled", "recovery email limit reached; nothing sent")
        }
        _ => {}
    }
    Ok(issued)
}
