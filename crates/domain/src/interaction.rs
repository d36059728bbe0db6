//! The interaction state machine behind IDX: one transaction per `interact` call, from the
//! sign-in form through email recovery to an interaction code.
//!
//! ```text
//!  Identify ──sign_in──────────────────────────────────────────────▶ Success
//!     │ recover                                                        ▲
//!     ▼                                                                │ set_password
//!  RecoveryIdentify ─identify─▶ RecoverySelect ─select_email─▶ RecoveryChallenge ─code ok─▶ RecoveryReset
//!     ▲                                                                                        │
//!     └──────────────── cancel (from any step) ────────────────────────────────────────────────┘
//! ```
//!
//! The domain is honest: an unknown, suspended or deactivated identifier produces a
//! `Subject { user_id: None }`, which walks the same steps but can never be verified. Keeping
//! the responses identical is the IDX adapter's job (security-checklist REC-1).
use crate::{Millis, UserId};

/// Whom a recovery is about. `key` is what per-identifier limits count: the account id when the
/// identifier names a recoverable account, else the canonical identifier itself, so unknown
/// identifiers are throttled exactly like real ones (REC-7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub key: String,
    pub user_id: Option<UserId>,
}

impl Subject {
    pub fn new(canonical_identifier: &str, recoverable_user: Option<UserId>) -> Self {
        let key = match &recoverable_user {
            Some(id) => format!("user:{}", id.as_str()),
            None => format!("identifier:{canonical_identifier}"),
        };
        Self { key, user_id: recoverable_user }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Identifier + password form, with the "Forgot password?" action.
    Identify,
    /// Recovery chosen; waiting for "Email or Username".
    RecoveryIdentify,
    /// Identifier given; choose the recovery authenticator (Email is the only one).
    RecoverySelect { subject: Subject },
    /// A code was issued (and, for a real account within its mail limits, emailed).
    RecoveryChallenge { subject: Subject },
    /// The code was verified. One password change is allowed until `grant_expires_at`
    /// (security-checklist OTP-9: a restricted capability, not a session).
    RecoveryReset { user_id: UserId, grant_expires_at: Millis },
    /// Authenticated; an interaction code waits to be redeemed at the token endpoint.
    Success { user_id: UserId },
}

/// Which IDX step a request tried to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    SignIn,
    Recover,
    IdentifyRecovery,
    SelectAuthenticator,
    AnswerCode,
    Resend,
    SetPassword,
    Cancel,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StepError {
    /// The request does not fit the transaction's current step (a stale tab, a replay, a
    /// client bug). Answered with the current state, never by moving the machine.
    #[error("this step is not available now")]
    NotAvailable,
    /// The reset grant ran out; the user must start over.
    #[error("the password reset window has expired")]
    GrantExpired,
}

impl Step {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Identify => "identify",
            Self::RecoveryIdentify => "recovery_identify",
            Self::RecoverySelect { .. } => "recovery_select",
            Self::RecoveryChallenge { .. } => "recovery_challenge",
            Self::RecoveryReset { .. } => "recovery_reset",
            Self::Success { .. } => "success",
        }
    }

    /// The next step for a move that needs no outside facts, or why it is refused.
    /// Moves that need facts (a password check, a code check) have their own functions below.
    pub fn allows(&self, mv: Move) -> bool {
        matches!(
            (self, mv),
            (Self::Identify, Move::SignIn | Move::Recover | Move::Cancel)
                | (Self::RecoveryIdentify, Move::IdentifyRecovery | Move::Recover | Move::Cancel)
                | (Self::RecoverySelect { .. }, Move::SelectAuthenticator | Move::Cancel)
                | (Self::RecoveryChallenge { .. }, Move::AnswerCode | Move::Resend | Move::Cancel)
                | (Self::RecoveryReset { .. }, Move::SetPassword | Move::Cancel)
        )
    }

    pub fn recover(&self) -> Result<Step, StepError> {
        self.require(Move::Recover)?;
        Ok(Step::RecoveryIdentify)
    }

    pub fn identify_recovery(&self, subject: Subject) -> Result<Step, StepError> {
        self.require(Move::IdentifyRecovery)?;
        Ok(Step::RecoverySelect { subject })
    }

    pub fn select_email(&self) -> Result<(Step, Subject), StepError> {
        match self {
            Self::RecoverySelect { subject } => Ok((Step::RecoveryChallenge { subject: subject.clone() }, subject.clone())),
            _ => Err(StepError::NotAvailable),
        }
    }

    /// The subject whose code an answer or a resend refers to.
    pub fn challenged_subject(&self) -> Result<&Subject, StepError> {
        match self {
            Self::RecoveryChallenge { subject } => Ok(subject),
            _ => Err(StepError::NotAvailable),
        }
    }

    /// After the store confirmed the code for a real account.
    pub fn code_verified(&self, user_id: UserId, now: Millis, grant_lifetime: Millis) -> Result<Step, StepError> {
        match self {
            Self::RecoveryChallenge { subject } if subject.user_id.as_ref() == Some(&user_id) => {
                Ok(Step::RecoveryReset { user_id, grant_expires_at: now + grant_lifetime })
            }
            _ => Err(StepError::NotAvailable),
        }
    }

    /// Whose password may be set now.
    pub fn reset_grant(&self, now: Millis) -> Result<&UserId, StepError> {
        match self {
            Self::RecoveryReset { user_id, grant_expires_at } if now < *grant_expires_at => Ok(user_id),
            Self::RecoveryReset { .. } => Err(StepError::GrantExpired),
            _ => Err(StepError::NotAvailable),
        }
    }

    pub fn signed_in(&self, user_id: UserId) -> Result<Step, StepError> {
        self.require(Move::SignIn)?;
        Ok(Step::Success { user_id })
    }

    pub fn password_set(&self, now: Millis) -> Result<Step, StepError> {
        let user_id = self.reset_grant(now)?.clone();
        Ok(Step::Success { user_id })
    }

    /// Cancel restarts the same transaction at the sign-in form, so the app's `state` and PKCE
    /// pair stay valid (idx-protocol §6.1: the Gen3 widget cancels before recovering).
    pub fn cancel(&self) -> Result<Step, StepError> {
        self.require(Move::Cancel)?;
        Ok(Step::Identify)
    }

    fn require(&self, mv: Move) -> Result<(), StepError> {
        if self.allows(mv) {
            Ok(())
        } else {
            Err(StepError::NotAvailable)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserId {
        UserId::from_trusted("00uTEST".to_owned())
    }

    #[test]
    fn recovery_walks_to_success() {
        let subject = Subject::new("jane@example.com", Some(user()));
        let step = Step::Identify.recover().and_then(|s| s.identify_recovery(subject)).expect("flow");
        let (step, _) = step.select_email().expect("select");
        let step = step.code_verified(user(), 1_000, 600_000).expect("verified");
        assert_eq!(step.reset_grant(2_000), Ok(&user()));
        assert_eq!(step.password_set(2_000), Ok(Step::Success { user_id: user() }));
    }

    #[test]
    fn an_unknown_subject_can_never_be_verified() {
        let subject = Subject::new("ghost@example.com", None);
        assert_eq!(subject.key, "identifier:ghost@example.com");
        let step = Step::RecoveryChallenge { subject };
        assert_eq!(step.code_verified(user(), 0, 1), Err(StepError::NotAvailable));
    }

    #[test]
    fn the_reset_grant_expires() {
        let step = Step::RecoveryReset { user_id: user(), grant_expires_at: 10 };
        assert_eq!(step.reset_grant(10), Err(StepError::GrantExpired));
    }

    #[test]
    fn stale_moves_are_refused_and_success_is_terminal() {
        assert_eq!(Step::Identify.select_email().err(), Some(StepError::NotAvailable));
        let done = Step::Success { user_id: user() };
        assert_eq!(done.cancel(), Err(StepError::NotAvailable));
        assert_eq!(done.recover(), Err(StepError::NotAvailable));
        assert_eq!(Step::RecoveryIdentify.signed_in(user()), Err(StepError::NotAvailable));
    }

    #[test]
    fn cancel_returns_to_the_sign_in_form() {
        let step = Step::RecoveryChallenge { subject: Subject::new("x", None) };
        assert_eq!(step.cancel(), Ok(Step::Identify));
    }
}
