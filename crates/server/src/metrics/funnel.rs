//! The recovery funnel (started → email queued → delivered → code verified → password reset →
//! signed in), counted where each step is decided. The names are the domain's
//! (`latchkey_domain::funnel`); the outbox worker counts `delivered` itself.
use latchkey_domain::funnel::{FunnelOutcome, FunnelStep, RECOVERY_FUNNEL};
use latchkey_domain::recovery::AnswerOutcome;
use latchkey_domain::{Millis, User};
use latchkey_store::ChallengeOutcome;

use crate::limits::Budget;

pub fn record(step: FunnelStep, outcome: FunnelOutcome) {
    metrics::counter!(RECOVERY_FUNNEL, "step" => step.as_str(), "outcome" => outcome.as_str()).increment(1);
}

/// An identifier was submitted to the recovery form (throttled starts: `budget_spent`).
pub fn started() {
    record(FunnelStep::Started, FunnelOutcome::Ok);
}

/// The reset form was answered: the password was set, or the policy refused it.
pub fn password_reset(set: bool) {
    record(FunnelStep::PasswordReset, if set { FunnelOutcome::Ok } else { FunnelOutcome::Failed });
}

/// A recovery code was issued (first challenge or resend). An identifier that names no
/// recoverable account gets no email: that counts as `failed` here (the client never knows).
pub fn email_queued(outcome: &ChallengeOutcome) {
    let outcome = match outcome {
        ChallengeOutcome::Issued { mailed: true } => FunnelOutcome::Ok,
        ChallengeOutcome::Issued { mailed: false } => FunnelOutcome::Failed,
        ChallengeOutcome::Throttled { .. } => FunnelOutcome::Throttled,
    };
    record(FunnelStep::EmailQueued, outcome);
}

/// A code was answered: right, wrong, or refused by the account's back-off.
pub fn code_answered(outcome: &AnswerOutcome) {
    let outcome = match outcome {
        AnswerOutcome::Verified => FunnelOutcome::Ok,
        AnswerOutcome::Refused => FunnelOutcome::Failed,
        AnswerOutcome::Blocked { .. } => FunnelOutcome::Throttled,
        AnswerOutcome::NotAvailable => return,
    };
    record(FunnelStep::CodeVerified, outcome);
}

/// An address spent its hourly budget: a recovery start or a code answer that a limit
/// refused is a throttled attempt at that step. Every refusal is counted by budget too.
pub fn budget_spent(budget: Budget) {
    metrics::counter!(super::RATE_LIMITED, "budget" => budget.bucket()).increment(1);
    match budget {
        Budget::RecoveryStarts => record(FunnelStep::Started, FunnelOutcome::Throttled),
        Budget::CodeFailures => record(FunnelStep::CodeVerified, FunnelOutcome::Throttled),
        Budget::SignInFailures | Budget::TokenFailures | Budget::AdminFailures => {}
    }
}

/// Tokens were issued for an IDX transaction. It was a recovery's when the account's password
/// changed after the transaction began: the reset is the only step of an IDX transaction that
/// sets a password.
pub fn tokens_issued(user: &User, transaction_created_at: Millis) {
    if user.password_changed_at.is_some_and(|changed| changed >= transaction_created_at) {
        record(FunnelStep::SignedIn, FunnelOutcome::Ok);
    }
}

/// Every step × outcome starts at zero, so a dashboard sees the whole funnel before traffic.
pub(super) fn register() {
    metrics::describe_counter!(
        RECOVERY_FUNNEL,
        "Password recoveries by funnel step (started, email_queued, delivered, code_verified, password_reset, signed_in) and outcome (ok, throttled, failed)."
    );
    for step in FunnelStep::ALL {
        for outcome in FunnelOutcome::ALL {
            metrics::counter!(RECOVERY_FUNNEL, "step" => step.as_str(), "outcome" => outcome.as_str()).increment(0);
        }
    }
}
