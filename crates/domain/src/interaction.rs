//! The interaction state machine behind IDX: one transaction per `interact` call, from the
//! sign-in form through email recovery to an interaction code.
//!
//! ```text
//!  Identify ──sign_in──────────────────────────────────────────────▶ Success
//!     │ └─sign_in, the rule asks a second factor─▶ SignInFactorChallenge ─value ok─▶ Success
//!     │                   (SignInFactorSelect ─select─▶ first, when the account has a TOTP app
//!     │                    and passkeys; SignInFactorMissing when it has none: terminal, or
//!     │                    SignInEnrollSelect ─select─▶ SignInEnrollTotp | SignInEnrollWebauthn
//!     │                    ─first value / new passkey─▶ Success when the account may, or must,
//!     │                    set one up)
//!     │ recover                                                        ▲
//!     ▼                                                                │ set_password
//!  RecoveryIdentify ─identify─▶ RecoverySelect ─select_email─▶ RecoveryChallenge ─code ok─▶ RecoveryReset
//!     ▲                                                              │ code ok, the policy   ▲
//!     │                                                              ▼ asks a second factor  │ value ok
//!     │                           RecoveryFactorSelect ─select_factor─▶ RecoveryFactorChallenge
//!     │                           (or RecoveryFactorMissing when the account has none: terminal)
//!     └──────────────── cancel (from any step) ────────────────────────────────────────────────┘
//! ```
//!
//! The domain is honest: an unknown, suspended or deactivated identifier produces a
//! `Subject { user_id: None }`, which walks the same steps but can never be verified. Keeping
//! the responses identical is the IDX adapter's job (security-checklist REC-1).
use crate::{Millis, UserId};

/// Who drives a transaction, and so which grant may redeem its code: the client itself over IDX
/// (`interaction_code`), or the hosted page for a client that sent the user to
/// `/v1/authorize` (`authorization_code`). A code presented to the other grant is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Idx,
    Authorize,
}

impl Flow {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idx => "idx",
            Self::Authorize => "authorize",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "idx" => Some(Self::Idx),
            "authorize" => Some(Self::Authorize),
            _ => None,
        }
    }

    /// The token endpoint grant that redeems this flow's code.
    pub fn grant(self) -> &'static str {
        match self {
            Self::Idx => "interaction_code",
            Self::Authorize => "authorization_code",
        }
    }
}

/// What a counter or a mail log is kept under.
///
/// Every limit a client can observe (a 429, a refused sign-in delay) counts the *submitted*
/// identifier in its canonical form, whether or not it names an account, so a login and an
/// email of one account get separate counters exactly as two unknown identifiers would
/// (finding 6: shared counters revealed that two identifiers belong to one account). The
/// account-wide key backs the protections that never change a response: the lock-out after
/// `signin.lockout_after` failures, the silent OTP ceiling, and the account's mail budget.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CounterKey {
    Identifier(String),
    Account(UserId),
}

impl CounterKey {
    /// The text stored in `subject_counters.subject_key` and `recovery_codes.subject_key`.
    pub fn storage_key(&self) -> String {
        match self {
            Self::Identifier(canonical) => format!("identifier:{canonical}"),
            Self::Account(id) => format!("user:{}", id.as_str()),
        }
    }
}

/// Whom a recovery is about: the canonical identifier that was submitted, and the account it
/// names when that account may recover (`None` for unknown, suspended or deactivated ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub identifier: String,
    pub user_id: Option<UserId>,
}

impl Subject {
    pub fn new(canonical_identifier: &str, recoverable_user: Option<UserId>) -> Self {
        Self { identifier: canonical_identifier.to_owned(), user_id: recoverable_user }
    }

    /// Rebuilds a subject from its stored identifier key.
    pub fn from_storage(identifier_key: &str, user_id: Option<UserId>) -> Self {
        let identifier = identifier_key.strip_prefix("identifier:").unwrap_or(identifier_key);
        Self::new(identifier, user_id)
    }

    /// The key of every visible limit (see `CounterKey`).
    pub fn identifier_key(&self) -> CounterKey {
        CounterKey::Identifier(self.identifier.clone())
    }

    /// The key of the account-wide protections, for a real account.
    pub fn account_key(&self) -> Option<CounterKey> {
        self.user_id.clone().map(CounterKey::Account)
    }
}

/// The kind of second factor a step asks for: a TOTP app (Okta's `google_otp`) or a passkey
/// (Okta's `webauthn`: a security key or a platform authenticator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FactorKind {
    Totp,
    Webauthn,
}

/// Which kinds of second factor an account has active (or a policy offers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FactorKinds {
    pub totp: bool,
    pub webauthn: bool,
}

impl FactorKinds {
    pub fn any(self) -> bool {
        self.totp || self.webauthn
    }

    pub fn has(self, kind: FactorKind) -> bool {
        match kind {
            FactorKind::Totp => self.totp,
            FactorKind::Webauthn => self.webauthn,
        }
    }

    /// The kinds present, TOTP first (the order every choice lists them in).
    pub fn list(self) -> Vec<FactorKind> {
        [(self.totp, FactorKind::Totp), (self.webauthn, FactorKind::Webauthn)].into_iter().filter(|(on, _)| *on).map(|(_, k)| k).collect()
    }

    /// The one kind present, when exactly one is.
    pub fn single(self) -> Option<FactorKind> {
        match self.list().as_slice() {
            [one] => Some(*one),
            _ => None,
        }
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
    /// The code was verified and the password policy asks for a second factor: choose one of
    /// the account's enrolled factors. `grant_expires_at` bounds the whole step-up.
    RecoveryFactorSelect { subject: Subject, grant_expires_at: Millis },
    /// A second factor was chosen; its value (a TOTP value, or a passkey's assertion) is awaited.
    RecoveryFactorChallenge { subject: Subject, grant_expires_at: Millis, factor: FactorKind },
    /// The code was verified, but the policy asks for a second factor the account does not
    /// have. Nothing is left to do here but cancel: the email alone must not reset it.
    RecoveryFactorMissing { subject: Subject },
    /// The password was right, the app sign-in rule asks for a second factor, and the account
    /// has more than one kind: choose one.
    SignInFactorSelect { subject: Subject, grant_expires_at: Millis },
    /// The password was right and the app sign-in rule asks for a second factor: its value (or
    /// a passkey's assertion) is awaited before any code is issued.
    SignInFactorChallenge { subject: Subject, grant_expires_at: Millis, factor: FactorKind },
    /// The password was right, but the rule asks for a second factor the account does not
    /// have: nothing is issued; only cancel.
    SignInFactorMissing { subject: Subject },
    /// The password was right and the account must set up a TOTP app first (the enrollment
    /// policy requires one, or the sign-in rule asks for a second factor and users may enroll).
    SignInEnrollSelect { subject: Subject, grant_expires_at: Millis },
    /// A TOTP app is being set up: a pending factor holds its secret; its first value
    /// activates it and completes the sign-in.
    SignInEnrollTotp { subject: Subject, grant_expires_at: Millis },
    /// A passkey is being registered: the transaction's ceremony holds the challenge; the
    /// authenticator's attestation adds the passkey and completes the sign-in.
    SignInEnrollWebauthn { subject: Subject, grant_expires_at: Millis },
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

/// The kinds of step that belong to one account and carry something it proved or was granted
/// (a verified code, a verified password waiting for its second factor, a factor being set up):
/// a password change, an email change, a suspension or a deletion ends every transaction at
/// one of them, except the one making the change. A transaction still at `identify` or
/// `recovery_identify` proved nothing yet, and one at `success` holds only an interaction code,
/// which the credential version already refuses.
pub const ACCOUNT_BOUND_STEP_KINDS: [&str; 14] = [
    "recovery_select",
    "recovery_challenge",
    "recovery_reset",
    "recovery_factor_select",
    "recovery_factor_challenge",
    "recovery_webauthn_challenge",
    "recovery_factor_missing",
    "signin_factor_select",
    "signin_factor_challenge",
    "signin_webauthn_challenge",
    "signin_factor_missing",
    "signin_enroll_select",
    "signin_enroll_totp",
    "signin_enroll_webauthn",
];

impl Step {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Identify => "identify",
            Self::RecoveryIdentify => "recovery_identify",
            Self::RecoverySelect { .. } => "recovery_select",
            Self::RecoveryChallenge { .. } => "recovery_challenge",
            Self::RecoveryReset { .. } => "recovery_reset",
            Self::RecoveryFactorSelect { .. } => "recovery_factor_select",
            Self::RecoveryFactorChallenge { factor: FactorKind::Totp, .. } => "recovery_factor_challenge",
            Self::RecoveryFactorChallenge { factor: FactorKind::Webauthn, .. } => "recovery_webauthn_challenge",
            Self::RecoveryFactorMissing { .. } => "recovery_factor_missing",
            Self::SignInFactorSelect { .. } => "signin_factor_select",
            Self::SignInFactorChallenge { factor: FactorKind::Totp, .. } => "signin_factor_challenge",
            Self::SignInFactorChallenge { factor: FactorKind::Webauthn, .. } => "signin_webauthn_challenge",
            Self::SignInFactorMissing { .. } => "signin_factor_missing",
            Self::SignInEnrollSelect { .. } => "signin_enroll_select",
            Self::SignInEnrollTotp { .. } => "signin_enroll_totp",
            Self::SignInEnrollWebauthn { .. } => "signin_enroll_webauthn",
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
                | (Self::RecoveryFactorSelect { .. }, Move::SelectAuthenticator | Move::Cancel)
                | (Self::RecoveryFactorChallenge { .. }, Move::AnswerCode | Move::Cancel)
                | (Self::RecoveryFactorMissing { .. }, Move::Cancel)
                | (Self::SignInFactorSelect { .. }, Move::SelectAuthenticator | Move::Cancel)
                | (Self::SignInFactorChallenge { .. }, Move::AnswerCode | Move::Cancel)
                | (Self::SignInFactorMissing { .. }, Move::Cancel)
                | (Self::SignInEnrollSelect { .. }, Move::SelectAuthenticator | Move::Cancel)
                | (Self::SignInEnrollTotp { .. } | Self::SignInEnrollWebauthn { .. }, Move::AnswerCode | Move::Cancel)
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

    /// A second factor of kind `factor` was chosen (at a recovery's step-up or a sign-in's
    /// choice): its challenge, while the window lasts.
    pub fn select_factor(&self, factor: FactorKind, now: Millis) -> Result<Step, StepError> {
        match self {
            Self::RecoveryFactorSelect { subject, grant_expires_at } if now < *grant_expires_at => {
                Ok(Step::RecoveryFactorChallenge { subject: subject.clone(), grant_expires_at: *grant_expires_at, factor })
            }
            Self::SignInFactorSelect { subject, grant_expires_at } if now < *grant_expires_at => {
                Ok(Step::SignInFactorChallenge { subject: subject.clone(), grant_expires_at: *grant_expires_at, factor })
            }
            Self::RecoveryFactorSelect { .. } | Self::SignInFactorSelect { .. } => Err(StepError::GrantExpired),
            _ => Err(StepError::NotAvailable),
        }
    }

    /// A TOTP app or a passkey was chosen for set-up during sign-in: its enrollment, while the
    /// window lasts.
    pub fn select_enrollment(&self, factor: FactorKind, now: Millis) -> Result<Step, StepError> {
        match self {
            Self::SignInEnrollSelect { subject, grant_expires_at } if now < *grant_expires_at => {
                let (subject, grant_expires_at) = (subject.clone(), *grant_expires_at);
                Ok(match factor {
                    FactorKind::Totp => Step::SignInEnrollTotp { subject, grant_expires_at },
                    FactorKind::Webauthn => Step::SignInEnrollWebauthn { subject, grant_expires_at },
                })
            }
            Self::SignInEnrollSelect { .. } => Err(StepError::GrantExpired),
            _ => Err(StepError::NotAvailable),
        }
    }

    /// The kind of second factor this step's answer is for: the challenged factor, or the one
    /// being set up.
    pub fn answered_factor(&self) -> Option<FactorKind> {
        match self {
            Self::RecoveryFactorChallenge { factor, .. } | Self::SignInFactorChallenge { factor, .. } => Some(*factor),
            Self::SignInEnrollTotp { .. } => Some(FactorKind::Totp),
            Self::SignInEnrollWebauthn { .. } => Some(FactorKind::Webauthn),
            _ => None,
        }
    }

    /// The subject whose second factor an answer refers to (a recovery's step-up, a sign-in's
    /// second step, or the first value of a TOTP app set up during sign-in), while its window
    /// lasts.
    pub fn factor_challenged(&self, now: Millis) -> Result<&Subject, StepError> {
        match self {
            Self::RecoveryFactorChallenge { subject, grant_expires_at, .. }
            | Self::SignInFactorChallenge { subject, grant_expires_at, .. }
            | Self::SignInEnrollTotp { subject, grant_expires_at }
            | Self::SignInEnrollWebauthn { subject, grant_expires_at }
                if now < *grant_expires_at =>
            {
                Ok(subject)
            }
            Self::RecoveryFactorChallenge { .. }
            | Self::SignInFactorChallenge { .. }
            | Self::SignInEnrollTotp { .. }
            | Self::SignInEnrollWebauthn { .. } => Err(StepError::GrantExpired),
            _ => Err(StepError::NotAvailable),
        }
    }

    /// Whether moving to this step ends the transaction's earlier codes. A code belongs to the
    /// step it was issued for: cancel and every (re-)identify start a new subject's story, so
    /// nothing mailed before can answer anything after (the account-takeover finding).
    pub fn ends_codes(&self) -> bool {
        matches!(self, Self::Identify | Self::RecoveryIdentify | Self::RecoverySelect { .. })
    }

    /// Whose password may be set now.
    pub fn reset_grant(&self, now: Millis) -> Result<&UserId, StepError> {
        match self {
            Self::RecoveryReset { user_id, grant_expires_at } if now < *grant_expires_at => Ok(user_id),
            Self::RecoveryReset { .. } => Err(StepError::GrantExpired),
            _ => Err(StepError::NotAvailable),
        }
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
        let (step, subject) = step.select_email().expect("select");
        assert_eq!(step, Step::RecoveryChallenge { subject });
        let step = Step::RecoveryReset { user_id: user(), grant_expires_at: 600_000 };
        assert_eq!(step.reset_grant(2_000), Ok(&user()));
    }

    #[test]
    fn visible_limits_count_the_identifier_and_the_account_is_separate() {
        let login = Subject::new("jane", Some(user()));
        let email = Subject::new("jane@example.com", Some(user()));
        assert_ne!(login.identifier_key(), email.identifier_key());
        assert_eq!(login.account_key(), email.account_key());
        assert_eq!(Subject::new("ghost@example.com", None).identifier_key().storage_key(), "identifier:ghost@example.com");
        assert_eq!(Subject::from_storage("identifier:ghost@example.com", None), Subject::new("ghost@example.com", None));
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
        assert!(!Step::RecoveryIdentify.allows(Move::SignIn));
    }

    #[test]
    fn the_second_factor_step_up_is_bounded_by_its_window() {
        let subject = Subject::new("jane@example.com", Some(user()));
        let select = Step::RecoveryFactorSelect { subject: subject.clone(), grant_expires_at: 100 };
        let challenge = select.select_factor(FactorKind::Totp, 99).expect("inside the window");
        assert_eq!(challenge, Step::RecoveryFactorChallenge { subject: subject.clone(), grant_expires_at: 100, factor: FactorKind::Totp });
        assert_eq!(challenge.factor_challenged(99), Ok(&subject));
        assert_eq!(challenge.factor_challenged(100), Err(StepError::GrantExpired));
        assert_eq!(select.select_factor(FactorKind::Totp, 100), Err(StepError::GrantExpired));
        let passkey = select.select_factor(FactorKind::Webauthn, 99).expect("inside the window");
        assert_eq!(passkey.answered_factor(), Some(FactorKind::Webauthn));
        assert_eq!(passkey.kind(), "recovery_webauthn_challenge");
        // No step of the step-up sets a password or resends an email.
        for step in [select, challenge, Step::RecoveryFactorMissing { subject }] {
            assert!(!step.allows(Move::SetPassword) && !step.allows(Move::Resend), "{step:?}");
            assert_eq!(step.cancel(), Ok(Step::Identify));
        }
    }

    #[test]
    fn every_step_but_the_first_ones_and_success_is_bound_to_its_account() {
        let subject = Subject::new("x@example.com", Some(user()));
        let (s, g) = (subject.clone(), 1);
        let all = [
            Step::Identify,
            Step::RecoveryIdentify,
            Step::RecoverySelect { subject: s.clone() },
            Step::RecoveryChallenge { subject: s.clone() },
            Step::RecoveryReset { user_id: user(), grant_expires_at: g },
            Step::RecoveryFactorSelect { subject: s.clone(), grant_expires_at: g },
            Step::RecoveryFactorChallenge { subject: s.clone(), grant_expires_at: g, factor: FactorKind::Totp },
            Step::RecoveryFactorChallenge { subject: s.clone(), grant_expires_at: g, factor: FactorKind::Webauthn },
            Step::RecoveryFactorMissing { subject: s.clone() },
            Step::SignInFactorSelect { subject: s.clone(), grant_expires_at: g },
            Step::SignInFactorChallenge { subject: s.clone(), grant_expires_at: g, factor: FactorKind::Totp },
            Step::SignInFactorChallenge { subject: s.clone(), grant_expires_at: g, factor: FactorKind::Webauthn },
            Step::SignInFactorMissing { subject: s.clone() },
            Step::SignInEnrollSelect { subject: s.clone(), grant_expires_at: g },
            Step::SignInEnrollTotp { subject: s.clone(), grant_expires_at: g },
            Step::SignInEnrollWebauthn { subject: s, grant_expires_at: g },
            Step::Success { user_id: user() },
        ];
        for step in &all {
            let unbound = matches!(step, Step::Identify | Step::RecoveryIdentify | Step::Success { .. });
            assert_eq!(ACCOUNT_BOUND_STEP_KINDS.contains(&step.kind()), !unbound, "{}", step.kind());
        }
        assert_eq!(all.len() - 3, ACCOUNT_BOUND_STEP_KINDS.len());
    }

    #[test]
    fn cancel_returns_to_the_sign_in_form() {
        let step = Step::RecoveryChallenge { subject: Subject::new("x", None) };
        assert_eq!(step.cancel(), Ok(Step::Identify));
    }
}
