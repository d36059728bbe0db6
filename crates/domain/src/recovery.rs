//! The decisions of email recovery that depend on stored facts: issuing a code within the mail
//! limits, and answering one. Each is a pure function of a snapshot the store loaded under lock,
//! the input, the policy and the time; it returns the outcome and the effects to apply, as data.
//! The store applies them in the same transaction it loaded the snapshot in.
//!
//! The invariant these functions exist for (the account-takeover finding): **a code opens the
//! reset step only for the account it was mailed to, in the transaction and at the step it was
//! issued for.** The store hands `decide_answer` only the live code of this transaction for the
//! step's own subject (cancel and every re-identify end a transaction's earlier codes), and
//! `decide_answer` still grants nothing unless the code's account is the step's account.
use crate::audit::{EventType, Outcome, Party, SecurityEvent};
use crate::interaction::{FactorKind, Step, Subject};
use crate::policy::RecoveryStepUp;
use crate::throttle::{MailDecision, MailLimits};
use crate::{Millis, OtpPolicy, UserId};

/// A consecutive-failure counter as stored for one `CounterKey`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OtpCounter {
    pub failures: i64,
    pub blocked_until: Millis,
    pub notice_sent: bool,
}

/// The transaction's live code for the step's subject, as stored (a keyed MAC, never the code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCode {
    /// The account the code was mailed to; `None` for the decoy of an unknown identifier.
    pub user_id: Option<UserId>,
    pub mac: String,
    pub attempts: i64,
    pub expires_at: Millis,
}

/// What `decide_answer` reads.
#[derive(Debug, Clone)]
pub struct AnswerSnapshot {
    pub step: Step,
    pub code: Option<LiveCode>,
    /// The submitted identifier's counter: drives the visible back-off (429).
    pub identifier: OtpCounter,
    /// The account's counter, for a real account: a silent ceiling that never changes a response.
    pub account: Option<OtpCounter>,
    /// What a right code leads to.
    pub step_up: StepUpFacts,
}

/// What the password policy asks after the code, and whether the code's account can give it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepUpFacts {
    pub policy: RecoveryStepUp,
    /// The account has an active second factor.
    pub has_second_factor: bool,
}

/// The account's active TOTP factor, as stored: its id and the newest time step it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactorState {
    pub id: String,
    pub last_used_step: Option<u64>,
}

/// What `decide_factor_answer` reads.
#[derive(Debug, Clone)]
pub struct FactorAnswerSnapshot {
    pub step: Step,
    /// At a TOTP step: the factor answered for; `None` when the account no longer has it
    /// (removed meanwhile).
    pub factor: Option<TotpFactorState>,
    /// At a passkey step: the ids of the account's active passkeys, read under lock.
    pub passkeys: Vec<String>,
    /// At a passkey step: the ceremony the answer was verified against is still the
    /// transaction's (not ended by a move of the step, a racing answer or a restart).
    pub ceremony_live: bool,
    /// At a passkey set-up: the new credential id is already registered (to any account).
    pub credential_taken: bool,
    pub identifier: OtpCounter,
    pub account: Option<OtpCounter>,
}

/// What the caller proved about a second-factor answer, with what only it can check (it opens
/// the TOTP secret; it runs webauthn-rs against the transaction's ceremony).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactorProof {
    /// The TOTP time step the value matches within the skew, or `None` for a wrong value.
    Totp(Option<u64>),
    /// A passkey assertion webauthn-rs accepted, or `None` when it refused it.
    Passkey(Option<crate::webauthn::VerifiedAssertion>),
    /// A new passkey's attestation webauthn-rs accepted (the id it gets as a factor, and the
    /// credential), or `None` when it refused it.
    NewPasskey(Option<(String, crate::webauthn::NewPasskey)>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerOutcome {
    /// The transaction moved to the reset step.
    Verified,
    /// Wrong, dead, expired or superseded code, or a right one the account-wide ceiling holds
    /// back: one answer for all, so none of them tells anything about the account.
    Refused,
    /// The identifier is backing off after too many failures.
    Blocked { retry_after: Millis },
    /// The transaction is not at a challenge step.
    NotAvailable,
}

/// What applying an answer changes; the store turns each into one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerEffect {
    MoveTo(Step),
    ConsumeCode,
    CountCodeAttempt,
    /// The transaction proved these methods (the ID token's `amr`).
    ProveMethods(crate::session::AuthMethods),
    /// Issues the transaction's single-use interaction code (the caller generated it) and marks
    /// the sign-in time: the second step of a sign-in succeeded.
    IssueInteractionCode,
    /// Activates a pending factor with its first value (`step` becomes its newest accepted step)
    /// and announces it (AuthenticatorEnrolled): the set-up during sign-in succeeded.
    ActivateFactor {
        factor_id: String,
        step: u64,
    },
    /// Records `step` as the factor's newest accepted TOTP step (a replay of it, or of any
    /// older one, is never accepted again).
    UseTotpStep {
        factor_id: String,
        step: u64,
    },
    /// A passkey answered: its stored credential is replaced when its counter or backup state
    /// moved (`updated`), and its last use is recorded.
    UsePasskey {
        factor_id: String,
        updated: Option<String>,
    },
    /// Adds an active passkey and announces it (AuthenticatorEnrolled): the set-up during
    /// sign-in succeeded.
    AddPasskey {
        factor_id: String,
        passkey: crate::webauthn::NewPasskey,
    },
    /// The identifier's counter and, for a real account, the account's.
    SetCounters {
        identifier: OtpCounter,
        account: Option<OtpCounter>,
    },
    /// The back-off notice (security-checklist OTP-8), once per back-off; `None` composes and
    /// writes a suppressed decoy so an unknown identifier costs the same.
    QueueLockoutNotice {
        to: Option<UserId>,
    },
    /// The System Log entry for this answer, written with the rest.
    Record(SecurityEvent),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerDecision {
    pub outcome: AnswerOutcome,
    pub effects: Vec<AnswerEffect>,
}

/// Decides a submitted code (already parsed and MAC'd with this transaction, purpose and
/// subject). `grant_lifetime` bounds the reset step (OTP-9).
pub fn decide_answer(
    snapshot: &AnswerSnapshot,
    submitted_mac: &str,
    policy: &OtpPolicy,
    grant_lifetime: Millis,
    now: Millis,
) -> AnswerDecision {
    let decision = |outcome, effects| AnswerDecision { outcome, effects };
    let Step::RecoveryChallenge { subject } = &snapshot.step else {
        return decision(AnswerOutcome::NotAvailable, vec![]);
    };
    // Every answer on a challenge is logged with what became of it; the event is the same
    // statement for a real account and an unknown identifier.
    let record = |outcome| AnswerEffect::Record(code_event(subject, outcome));
    if let Some(blocked) = backing_off(snapshot.identifier, policy, now, record) {
        return blocked;
    }
    let Some(code) = snapshot.code.as_ref().filter(|c| c.expires_at > now && c.attempts < policy.max_attempts_per_code) else {
        // No live code for this step: expired, used up, superseded, or ended by cancel. Not
        // counted against the identifier: there was nothing to guess (OTP-7 counts guesses).
        return decision(AnswerOutcome::Refused, vec![record(Outcome::Failure("NO_LIVE_CODE"))]);
    };
    let account_open = snapshot.account.is_none_or(|a| a.failures < policy.account_ceiling && a.blocked_until <= now);
    let matches = crate::secret::constant_time_eq(&code.mac, submitted_mac);
    // The grant goes to the account the code was mailed to, and only when that is the step's
    // own account: a code can never be redirected to another subject.
    if let (true, true, Some(owner)) = (matches, account_open, code.user_id.as_ref().filter(|u| subject.user_id.as_ref() == Some(*u))) {
        let grant_expires_at = now + grant_lifetime;
        let next = match (snapshot.step_up.policy, snapshot.step_up.has_second_factor) {
            (RecoveryStepUp::NotRequired, _) => Step::RecoveryReset { user_id: owner.clone(), grant_expires_at },
            (RecoveryStepUp::AnySecondFactor, true) => Step::RecoveryFactorSelect { subject: subject.clone(), grant_expires_at },
            (RecoveryStepUp::AnySecondFactor, false) => Step::RecoveryFactorMissing { subject: subject.clone() },
        };
        let mut effects = vec![
            AnswerEffect::ConsumeCode,
            AnswerEffect::SetCounters { identifier: OtpCounter::default(), account: snapshot.account.map(|_| OtpCounter::default()) },
            record(Outcome::Success),
        ];
        if let Step::RecoveryFactorMissing { .. } = next {
            let refused = SecurityEvent::new(EventType::PasswordReset, Outcome::Deny("NO_SECOND_FACTOR"), Party::subject(subject)).warn();
            effects.push(AnswerEffect::Record(refused));
        }
        effects.insert(0, AnswerEffect::MoveTo(next));
        return decision(AnswerOutcome::Verified, effects);
    }
    let mut effects = count_failure(subject, snapshot.identifier, snapshot.account, policy, now);
    effects.insert(0, AnswerEffect::CountCodeAttempt);
    effects.push(record(Outcome::Failure("INVALID_CODE")));
    decision(AnswerOutcome::Refused, effects)
}

/// Decides a second-factor answer at the step-up of a recovery (success opens the reset), at
/// the second step of a sign-in (success issues the code), or at a set-up during sign-in (a
/// TOTP app's first value, a new passkey). `proof` is what the caller could check alone: the
/// TOTP step a value matches, or what webauthn-rs said of an assertion or attestation. A TOTP
/// value is accepted only for a step newer than the last one the factor accepted; a passkey
/// only while the ceremony it answered is still the transaction's. Wrong values, refused
/// assertions and replays count like wrong codes.
pub fn decide_factor_answer(
    snapshot: &FactorAnswerSnapshot,
    proof: FactorProof,
    policy: &OtpPolicy,
    grant_lifetime: Millis,
    now: Millis,
) -> AnswerDecision {
    let decision = |outcome, effects| AnswerDecision { outcome, effects };
    let (subject, signing_in, enrolling) = match &snapshot.step {
        Step::RecoveryFactorChallenge { subject, grant_expires_at, .. } if now < *grant_expires_at => (subject, false, false),
        Step::SignInFactorChallenge { subject, grant_expires_at, .. } if now < *grant_expires_at => (subject, true, false),
        Step::SignInEnrollTotp { subject, grant_expires_at } | Step::SignInEnrollWebauthn { subject, grant_expires_at }
            if now < *grant_expires_at =>
        {
            (subject, true, true)
        }
        _ => return decision(AnswerOutcome::NotAvailable, vec![]),
    };
    let kind = snapshot.step.answered_factor().unwrap_or(FactorKind::Totp);
    let event_type = match (enrolling, kind) {
        (true, _) => EventType::FactorActivate,
        (false, FactorKind::Totp) => EventType::FactorVerify,
        (false, FactorKind::Webauthn) => EventType::PasskeyVerify,
    };
    let record = |outcome| AnswerEffect::Record(factor_event(event_type, kind, subject, outcome));
    if let Some(blocked) = backing_off(snapshot.identifier, policy, now, record) {
        return blocked;
    }
    let account_open = snapshot.account.is_none_or(|a| a.failures < policy.account_ceiling && a.blocked_until <= now);
    let fresh = |factor: &TotpFactorState, step: u64| factor.last_used_step.is_none_or(|last| step > last);
    // What a right answer changes on the factor, or why the answer is refused.
    let accepted: Result<(AnswerEffect, crate::session::AuthMethods), &'static str> = match (kind, proof) {
        (FactorKind::Totp, FactorProof::Totp(matched)) => match (snapshot.factor.as_ref(), matched) {
            (None, _) => Err("NO_ACTIVE_FACTOR"),
            (Some(_), None) => Err("INVALID_PASSCODE"),
            (Some(factor), Some(step)) if !fresh(factor, step) => Err("REPLAYED"),
            (Some(factor), Some(step)) => {
                let factor_id = factor.id.clone();
                let effect = if enrolling {
                    AnswerEffect::ActivateFactor { factor_id, step }
                } else {
                    AnswerEffect::UseTotpStep { factor_id, step }
                };
                Ok((effect, crate::session::AuthMethods::PasswordAndOtp))
            }
        },
        (FactorKind::Webauthn, FactorProof::Passkey(verified)) if !enrolling => match verified {
            None => Err("INVALID_ASSERTION"),
            Some(_) if !snapshot.ceremony_live => Err("REPLAYED"),
            Some(v) if !snapshot.passkeys.contains(&v.factor_id) => Err("NO_ACTIVE_FACTOR"),
            Some(v) => Ok((
                AnswerEffect::UsePasskey { factor_id: v.factor_id, updated: v.updated_credential },
                crate::session::AuthMethods::PasswordAndPasskey,
            )),
        },
        (FactorKind::Webauthn, FactorProof::NewPasskey(registered)) if enrolling => match registered {
            None => Err("INVALID_ATTESTATION"),
            Some(_) if !snapshot.ceremony_live => Err("REPLAYED"),
            Some(_) if snapshot.credential_taken => Err("CREDENTIAL_TAKEN"),
            Some((factor_id, passkey)) => {
                Ok((AnswerEffect::AddPasskey { factor_id, passkey }, crate::session::AuthMethods::PasswordAndPasskey))
            }
        },
        // A proof of another kind than the step asks for proves nothing.
        _ => Err("INVALID_PASSCODE"),
    };
    match (accepted, subject.user_id.as_ref()) {
        (Ok((factor_effect, methods)), Some(user_id)) if account_open => {
            let mut effects = vec![
                factor_effect,
                AnswerEffect::SetCounters { identifier: OtpCounter::default(), account: snapshot.account.map(|_| OtpCounter::default()) },
                record(Outcome::Success),
                AnswerEffect::ProveMethods(methods),
            ];
            if signing_in {
                effects.insert(0, AnswerEffect::MoveTo(Step::Success { user_id: user_id.clone() }));
                effects.push(AnswerEffect::IssueInteractionCode);
                let user = Party::user(user_id, &subject.identifier);
                effects.push(AnswerEffect::Record(SecurityEvent::new(EventType::SessionStart, Outcome::Success, user)));
            } else {
                effects.insert(
                    0,
                    AnswerEffect::MoveTo(Step::RecoveryReset { user_id: user_id.clone(), grant_expires_at: now + grant_lifetime }),
                );
            }
            decision(AnswerOutcome::Verified, effects)
        }
        (accepted, _) => {
            let reason = accepted.err().unwrap_or("INVALID_PASSCODE");
            let mut effects = count_failure(subject, snapshot.identifier, snapshot.account, policy, now);
            effects.push(record(Outcome::Failure(reason)));
            decision(AnswerOutcome::Refused, effects)
        }
    }
}

/// The identifier's back-off, shared by every answer: at the ceiling, or while backing off,
/// nothing is evaluated and the answer says how long to wait.
fn backing_off(counter: OtpCounter, policy: &OtpPolicy, now: Millis, record: impl Fn(Outcome) -> AnswerEffect) -> Option<AnswerDecision> {
    if counter.failures >= policy.account_ceiling {
        let effects = vec![record(Outcome::Deny("TOO_MANY_ATTEMPTS"))];
        return Some(AnswerDecision { outcome: AnswerOutcome::Blocked { retry_after: policy.account_backoff_max }, effects });
    }
    if counter.blocked_until > now {
        let effects = vec![record(Outcome::Deny("BACKING_OFF"))];
        return Some(AnswerDecision { outcome: AnswerOutcome::Blocked { retry_after: counter.blocked_until - now }, effects });
    }
    None
}

/// The System Log entry of a second-factor answer (`FactorActivate` for a first value or a new
/// passkey), naming the factor as Okta's Factors API does.
fn factor_event(event_type: EventType, kind: FactorKind, subject: &Subject, outcome: Outcome) -> SecurityEvent {
    let factor = match kind {
        FactorKind::Totp => "GOOGLE_OTP",
        FactorKind::Webauthn => "FIDO_WEBAUTHN",
    };
    let event = SecurityEvent::new(event_type, outcome, Party::subject(subject)).detail("factor", factor);
    if event.outcome == Outcome::Success {
        event
    } else {
        event.warn()
    }
}

/// The System Log entry of an answer: who typed the code, and how it went.
fn code_event(subject: &Subject, outcome: Outcome) -> SecurityEvent {
    let event = SecurityEvent::new(EventType::RecoveryCodeVerify, outcome, Party::subject(subject)).detail("factor", "EMAIL");
    if event.outcome == Outcome::Success {
        event
    } else {
        event.warn()
    }
}

/// A wrong answer: one more failure on the identifier and on the account, and the back-off
/// notice when either starts backing off.
fn count_failure(
    subject: &Subject,
    identifier: OtpCounter,
    account: Option<OtpCounter>,
    policy: &OtpPolicy,
    now: Millis,
) -> Vec<AnswerEffect> {
    let bump = |c: OtpCounter| {
        let failures = c.failures + 1;
        let backoff = policy.account_backoff(failures);
        let due = backoff > 0 && !c.notice_sent;
        (OtpCounter { failures, blocked_until: if backoff > 0 { now + backoff } else { 0 }, notice_sent: c.notice_sent || due }, due)
    };
    let (identifier, identifier_due) = bump(identifier);
    let account = account.filter(|_| subject.user_id.is_some()).map(bump);
    let notice_due = identifier_due || account.is_some_and(|(_, due)| due);
    let mut effects = vec![AnswerEffect::SetCounters { identifier, account: account.map(|(a, _)| a) }];
    if notice_due {
        effects.push(AnswerEffect::QueueLockoutNotice { to: subject.user_id.clone() });
    }
    effects
}

/// The recovery emails already sent to this subject in the last day, by the key that counts them.
#[derive(Debug, Clone, Default)]
pub struct MailHistory {
    pub identifier: Vec<Millis>,
    /// For a real account: every recovery email it got, whichever identifier asked.
    pub account: Vec<Millis>,
}

/// The System Log entry of a recovery-email request: sent, held back by a limit, or asked for
/// an identifier that names no recoverable account (the log is for administrators; only the
/// client's answer must not tell these apart).
pub fn mail_event(subject: &Subject, decision: &MailDecision, account_found: bool) -> SecurityEvent {
    let outcome = match (decision, account_found) {
        (MailDecision::Send, true) => Outcome::Success,
        (MailDecision::Send, false) => Outcome::Failure("NO_RECOVERABLE_ACCOUNT"),
        (MailDecision::Refuse { .. }, _) => Outcome::Deny("MAIL_LIMIT"),
    };
    let event = SecurityEvent::new(EventType::RecoveryEmailRequested, outcome, Party::subject(subject)).detail("factor", "EMAIL");
    if event.outcome == Outcome::Success {
        event
    } else {
        event.warn()
    }
}

/// Whether a recovery email may go out now: within the limits of the submitted identifier and
/// of the account. Neither refusal is ever visible to the client (REC-7): the answer is the
/// same and the transaction gets a code nobody knows.
pub fn decide_mail(history: &MailHistory, limits: &MailLimits, now: Millis) -> MailDecision {
    match (limits.decide(&history.identifier, now), limits.decide(&history.account, now)) {
        (MailDecision::Send, MailDecision::Send) => MailDecision::Send,
        (MailDecision::Refuse { retry_after: a }, MailDecision::Refuse { retry_after: b }) => {
            MailDecision::Refuse { retry_after: a.max(b) }
        }
        (MailDecision::Refuse { retry_after }, _) | (_, MailDecision::Refuse { retry_after }) => MailDecision::Refuse { retry_after },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MINUTE, SECOND};

    fn victim() -> UserId {
        UserId::from_trusted("00uVICTIM".to_owned())
    }
    fn attacker() -> UserId {
        UserId::from_trusted("00uATTACKER".to_owned())
    }

    fn challenge(user: Option<UserId>) -> Step {
        Step::RecoveryChallenge { subject: Subject::new("victim@example.com", user) }
    }

    fn snapshot(step: Step, code_owner: Option<UserId>) -> AnswerSnapshot {
        AnswerSnapshot {
            step,
            code: Some(LiveCode { user_id: code_owner, mac: "right".to_owned(), attempts: 0, expires_at: 10 * MINUTE }),
            identifier: OtpCounter::default(),
            account: Some(OtpCounter::default()),
            step_up: StepUpFacts::default(),
        }
    }

    const NOW: Millis = MINUTE;

    #[test]
    fn the_right_code_of_the_steps_own_account_opens_the_reset() {
        let d = decide_answer(&snapshot(challenge(Some(victim())), Some(victim())), "right", &OtpPolicy::default(), 10 * MINUTE, NOW);
        assert_eq!(d.outcome, AnswerOutcome::Verified);
        assert_eq!(
            d.effects.first(),
            Some(&AnswerEffect::MoveTo(Step::RecoveryReset { user_id: victim(), grant_expires_at: NOW + 10 * MINUTE }))
        );
    }

    #[test]
    fn a_code_mailed_to_another_account_grants_nothing() {
        // The takeover: the step is about the victim, the live code was mailed to the attacker.
        let d = decide_answer(&snapshot(challenge(Some(victim())), Some(attacker())), "right", &OtpPolicy::default(), MINUTE, NOW);
        assert_eq!(d.outcome, AnswerOutcome::Refused);
        assert!(!d.effects.iter().any(|e| matches!(e, AnswerEffect::MoveTo(_) | AnswerEffect::ConsumeCode)), "{d:?}");
    }

    #[test]
    fn an_unknown_subject_is_never_verified_and_costs_the_same_writes() {
        let mut snap = snapshot(challenge(None), None);
        snap.account = None;
        let d = decide_answer(&snap, "right", &OtpPolicy::default(), MINUTE, NOW);
        assert_eq!(d.outcome, AnswerOutcome::Refused);
        assert!(d.effects.contains(&AnswerEffect::CountCodeAttempt));
    }

    #[test]
    fn the_account_ceiling_holds_back_a_right_code_with_the_answer_of_a_wrong_one() {
        let policy = OtpPolicy::default();
        let mut snap = snapshot(challenge(Some(victim())), Some(victim()));
        snap.account = Some(OtpCounter { failures: policy.account_ceiling, blocked_until: 0, notice_sent: true });
        let held = decide_answer(&snap, "right", &policy, MINUTE, NOW);
        let wrong = decide_answer(&snap, "wrong", &policy, MINUTE, NOW);
        assert_eq!(held, wrong);
        assert_eq!(held.outcome, AnswerOutcome::Refused);
    }

    #[test]
    fn the_identifier_backs_off_visibly_and_the_notice_goes_once() {
        let policy = OtpPolicy::default();
        let mut snap = snapshot(challenge(Some(victim())), Some(victim()));
        snap.identifier.failures = policy.account_backoff_after - 1;
        let d = decide_answer(&snap, "wrong", &policy, MINUTE, NOW);
        assert!(d.effects.contains(&AnswerEffect::QueueLockoutNotice { to: Some(victim()) }), "{d:?}");
        snap.identifier = OtpCounter { failures: policy.account_backoff_after, blocked_until: NOW + 15 * MINUTE, notice_sent: true };
        let d = decide_answer(&snap, "right", &policy, MINUTE, NOW);
        assert_eq!(d.outcome, AnswerOutcome::Blocked { retry_after: 15 * MINUTE });
    }

    #[test]
    fn dead_codes_are_refused_without_counting() {
        let policy = OtpPolicy::default();
        let mut snap = snapshot(challenge(Some(victim())), Some(victim()));
        snap.code.as_mut().expect("code").attempts = policy.max_attempts_per_code;
        // Nothing is counted; only the log entry says what happened.
        let subject = Subject::new("victim@example.com", Some(victim()));
        assert_eq!(
            decide_answer(&snap, "right", &policy, MINUTE, NOW),
            AnswerDecision {
                outcome: AnswerOutcome::Refused,
                effects: vec![AnswerEffect::Record(code_event(&subject, Outcome::Failure("NO_LIVE_CODE")))]
            }
        );
        snap.code = None;
        assert_eq!(decide_answer(&snap, "right", &policy, MINUTE, NOW).outcome, AnswerOutcome::Refused);
    }

    #[test]
    fn every_answer_on_a_challenge_is_logged_once_with_its_outcome() {
        let policy = OtpPolicy::default();
        let logged = |d: &AnswerDecision| -> Vec<(&'static str, Option<&'static str>)> {
            d.effects
                .iter()
                .filter_map(|e| match e {
                    AnswerEffect::Record(event) => Some((event.outcome.result(), event.outcome.reason())),
                    _ => None,
                })
                .collect()
        };
        let snap = snapshot(challenge(Some(victim())), Some(victim()));
        assert_eq!(logged(&decide_answer(&snap, "right", &policy, MINUTE, NOW)), [("SUCCESS", None)]);
        assert_eq!(logged(&decide_answer(&snap, "wrong", &policy, MINUTE, NOW)), [("FAILURE", Some("INVALID_CODE"))]);
        // The takeover attempt is logged as the failure it is.
        let stolen = snapshot(challenge(Some(victim())), Some(attacker()));
        assert_eq!(logged(&decide_answer(&stolen, "right", &policy, MINUTE, NOW)), [("FAILURE", Some("INVALID_CODE"))]);
        let mut blocked = snap.clone();
        blocked.identifier.blocked_until = NOW + MINUTE;
        assert_eq!(logged(&decide_answer(&blocked, "right", &policy, MINUTE, NOW)), [("DENY", Some("BACKING_OFF"))]);
        let not_a_challenge = snapshot(Step::RecoveryIdentify, Some(victim()));
        assert_eq!(logged(&decide_answer(&not_a_challenge, "right", &policy, MINUTE, NOW)), []);
    }

    #[test]
    fn a_policy_asking_a_second_factor_holds_the_reset_behind_it() {
        let policy = OtpPolicy::default();
        let subject = Subject::new("victim@example.com", Some(victim()));
        let mut snap = snapshot(challenge(Some(victim())), Some(victim()));
        snap.step_up = StepUpFacts { policy: RecoveryStepUp::AnySecondFactor, has_second_factor: true };
        let d = decide_answer(&snap, "right", &policy, 10 * MINUTE, NOW);
        assert_eq!(d.outcome, AnswerOutcome::Verified);
        assert_eq!(
            d.effects.first(),
            Some(&AnswerEffect::MoveTo(Step::RecoveryFactorSelect { subject: subject.clone(), grant_expires_at: NOW + 10 * MINUTE }))
        );
        // Without a second factor the email alone opens nothing, and the refusal is logged.
        snap.step_up.has_second_factor = false;
        let d = decide_answer(&snap, "right", &policy, 10 * MINUTE, NOW);
        assert_eq!(d.effects.first(), Some(&AnswerEffect::MoveTo(Step::RecoveryFactorMissing { subject })));
        assert!(d.effects.iter().any(|e| matches!(e, AnswerEffect::Record(ev) if ev.outcome == Outcome::Deny("NO_SECOND_FACTOR"))));
        assert!(!d.effects.iter().any(|e| matches!(e, AnswerEffect::MoveTo(Step::RecoveryReset { .. }))));
    }

    fn factor_snapshot(last_used_step: Option<u64>) -> FactorAnswerSnapshot {
        FactorAnswerSnapshot {
            step: Step::RecoveryFactorChallenge {
                subject: Subject::new("victim@example.com", Some(victim())),
                grant_expires_at: NOW + MINUTE,
                factor: FactorKind::Totp,
            },
            factor: Some(TotpFactorState { id: "uftX".to_owned(), last_used_step }),
            passkeys: vec![],
            ceremony_live: false,
            credential_taken: false,
            identifier: OtpCounter::default(),
            account: Some(OtpCounter::default()),
        }
    }

    fn logged_reason(d: &AnswerDecision) -> Option<&'static str> {
        d.effects.iter().find_map(|e| match e {
            AnswerEffect::Record(event) => event.outcome.reason(),
            _ => None,
        })
    }

    #[test]
    fn a_fresh_second_factor_value_opens_the_reset_once() {
        let policy = OtpPolicy::default();
        let d = decide_factor_answer(&factor_snapshot(Some(41)), FactorProof::Totp(Some(42)), &policy, 10 * MINUTE, NOW);
        assert_eq!(d.outcome, AnswerOutcome::Verified);
        assert!(d.effects.contains(&AnswerEffect::UseTotpStep { factor_id: "uftX".to_owned(), step: 42 }), "{d:?}");
        assert!(d.effects.contains(&AnswerEffect::MoveTo(Step::RecoveryReset { user_id: victim(), grant_expires_at: NOW + 10 * MINUTE })));
        // The same step again (a replay inside its window) or an older one is a counted failure.
        for step in [42, 40] {
            let d = decide_factor_answer(&factor_snapshot(Some(42)), FactorProof::Totp(Some(step)), &policy, MINUTE, NOW);
            assert_eq!(d.outcome, AnswerOutcome::Refused);
            assert_eq!(logged_reason(&d), Some("REPLAYED"));
            assert!(d.effects.iter().any(|e| matches!(e, AnswerEffect::SetCounters { identifier, .. } if identifier.failures == 1)));
        }
        let wrong = decide_factor_answer(&factor_snapshot(None), FactorProof::Totp(None), &policy, MINUTE, NOW);
        assert_eq!((wrong.outcome, logged_reason(&wrong)), (AnswerOutcome::Refused, Some("INVALID_PASSCODE")));
        let mut removed = factor_snapshot(None);
        removed.factor = None;
        let d = decide_factor_answer(&removed, FactorProof::Totp(Some(42)), &policy, MINUTE, NOW);
        assert_eq!((d.outcome, logged_reason(&d)), (AnswerOutcome::Refused, Some("NO_ACTIVE_FACTOR")));
    }

    #[test]
    fn a_sign_ins_second_step_issues_the_code_only_for_a_fresh_value() {
        let policy = OtpPolicy::default();
        let subject = Subject::new("victim@example.com", Some(victim()));
        let mut snap = factor_snapshot(Some(41));
        snap.step = Step::SignInFactorChallenge { subject, grant_expires_at: NOW + MINUTE, factor: FactorKind::Totp };
        let d = decide_factor_answer(&snap, FactorProof::Totp(Some(42)), &policy, MINUTE, NOW);
        assert_eq!(d.outcome, AnswerOutcome::Verified);
        assert_eq!(d.effects.first(), Some(&AnswerEffect::MoveTo(Step::Success { user_id: victim() })));
        assert!(d.effects.contains(&AnswerEffect::IssueInteractionCode));
        let replay = decide_factor_answer(&snap, FactorProof::Totp(Some(41)), &policy, MINUTE, NOW);
        assert_eq!(replay.outcome, AnswerOutcome::Refused);
        assert!(!replay.effects.contains(&AnswerEffect::IssueInteractionCode));
    }

    #[test]
    fn the_first_value_of_a_totp_app_set_up_at_sign_in_activates_it_and_signs_in() {
        let policy = OtpPolicy::default();
        let mut snap = factor_snapshot(None);
        snap.step = Step::SignInEnrollTotp { subject: Subject::new("victim@example.com", Some(victim())), grant_expires_at: NOW + MINUTE };
        let d = decide_factor_answer(&snap, FactorProof::Totp(Some(42)), &policy, MINUTE, NOW);
        assert_eq!(d.outcome, AnswerOutcome::Verified);
        assert!(d.effects.contains(&AnswerEffect::ActivateFactor { factor_id: "uftX".to_owned(), step: 42 }), "{d:?}");
        assert!(d.effects.contains(&AnswerEffect::IssueInteractionCode));
        assert!(!d.effects.iter().any(|e| matches!(e, AnswerEffect::UseTotpStep { .. })));
        let wrong = decide_factor_answer(&snap, FactorProof::Totp(None), &policy, MINUTE, NOW);
        assert_eq!(wrong.outcome, AnswerOutcome::Refused);
        assert!(wrong.effects.iter().any(|e| matches!(e, AnswerEffect::Record(ev) if ev.event_type == EventType::FactorActivate)));
    }

    #[test]
    fn second_factor_answers_back_off_like_codes_and_end_with_the_window() {
        let policy = OtpPolicy::default();
        let mut snap = factor_snapshot(None);
        snap.identifier = OtpCounter { failures: policy.account_backoff_after, blocked_until: NOW + 5 * MINUTE, notice_sent: true };
        assert_eq!(
            decide_factor_answer(&snap, FactorProof::Totp(Some(42)), &policy, MINUTE, NOW).outcome,
            AnswerOutcome::Blocked { retry_after: 5 * MINUTE }
        );
        let late = decide_factor_answer(&factor_snapshot(None), FactorProof::Totp(Some(42)), &policy, MINUTE, NOW + MINUTE);
        assert_eq!(late, AnswerDecision { outcome: AnswerOutcome::NotAvailable, effects: vec![] });
        let not_a_factor_step = FactorAnswerSnapshot { step: challenge(Some(victim())), ..factor_snapshot(None) };
        assert_eq!(
            decide_factor_answer(&not_a_factor_step, FactorProof::Totp(Some(42)), &policy, MINUTE, NOW).outcome,
            AnswerOutcome::NotAvailable
        );
    }

    fn passkey_snapshot(step: Step) -> FactorAnswerSnapshot {
        FactorAnswerSnapshot {
            step,
            factor: None,
            passkeys: vec!["uftPASSKEY".to_owned()],
            ceremony_live: true,
            credential_taken: false,
            identifier: OtpCounter::default(),
            account: Some(OtpCounter::default()),
        }
    }

    fn verified(factor_id: &str) -> FactorProof {
        FactorProof::Passkey(Some(crate::webauthn::VerifiedAssertion { factor_id: factor_id.to_owned(), updated_credential: None }))
    }

    #[test]
    fn a_passkey_signs_in_only_with_a_live_ceremony_and_its_own_accounts_key() {
        let policy = OtpPolicy::default();
        let subject = Subject::new("victim@example.com", Some(victim()));
        let step = Step::SignInFactorChallenge { subject, grant_expires_at: NOW + MINUTE, factor: FactorKind::Webauthn };
        let d = decide_factor_answer(&passkey_snapshot(step.clone()), verified("uftPASSKEY"), &policy, MINUTE, NOW);
        assert_eq!(d.outcome, AnswerOutcome::Verified);
        assert!(d.effects.contains(&AnswerEffect::ProveMethods(crate::session::AuthMethods::PasswordAndPasskey)));
        assert!(d.effects.contains(&AnswerEffect::IssueInteractionCode));
        // The ceremony ended (answered already, the step moved): a replay.
        let mut ended = passkey_snapshot(step.clone());
        ended.ceremony_live = false;
        let d = decide_factor_answer(&ended, verified("uftPASSKEY"), &policy, MINUTE, NOW);
        assert_eq!((d.outcome, logged_reason(&d)), (AnswerOutcome::Refused, Some("REPLAYED")));
        // Another account's passkey, a refused assertion, or a TOTP value at a passkey step.
        for (proof, reason) in [
            (verified("uftOTHER"), "NO_ACTIVE_FACTOR"),
            (FactorProof::Passkey(None), "INVALID_ASSERTION"),
            (FactorProof::Totp(Some(42)), "INVALID_PASSCODE"),
        ] {
            let d = decide_factor_answer(&passkey_snapshot(step.clone()), proof, &policy, MINUTE, NOW);
            assert_eq!((d.outcome, logged_reason(&d)), (AnswerOutcome::Refused, Some(reason)));
            assert!(d.effects.iter().any(|e| matches!(e, AnswerEffect::SetCounters { identifier, .. } if identifier.failures == 1)));
        }
    }

    #[test]
    fn a_new_passkey_is_added_once_and_never_under_a_taken_credential_id() {
        let policy = OtpPolicy::default();
        let step =
            Step::SignInEnrollWebauthn { subject: Subject::new("victim@example.com", Some(victim())), grant_expires_at: NOW + MINUTE };
        let passkey = crate::webauthn::NewPasskey { credential_id: "Y3JlZA".to_owned(), credential: "{}".to_owned() };
        let proof = || FactorProof::NewPasskey(Some(("uftNEW".to_owned(), passkey.clone())));
        let d = decide_factor_answer(&passkey_snapshot(step.clone()), proof(), &policy, MINUTE, NOW);
        assert_eq!(d.outcome, AnswerOutcome::Verified);
        assert!(d.effects.contains(&AnswerEffect::AddPasskey { factor_id: "uftNEW".to_owned(), passkey: passkey.clone() }));
        assert!(d.effects.iter().any(|e| matches!(e, AnswerEffect::Record(ev) if ev.event_type == EventType::FactorActivate)));
        let mut taken = passkey_snapshot(step.clone());
        taken.credential_taken = true;
        let d = decide_factor_answer(&taken, proof(), &policy, MINUTE, NOW);
        assert_eq!((d.outcome, logged_reason(&d)), (AnswerOutcome::Refused, Some("CREDENTIAL_TAKEN")));
        // An assertion is no registration.
        let d = decide_factor_answer(&passkey_snapshot(step), verified("uftPASSKEY"), &policy, MINUTE, NOW);
        assert_eq!(d.outcome, AnswerOutcome::Refused);
    }

    #[test]
    fn mail_needs_room_under_both_the_identifier_and_the_account() {
        let limits = MailLimits::default();
        let now = 10 * crate::DAY;
        let free = MailHistory::default();
        assert_eq!(decide_mail(&free, &limits, now), MailDecision::Send);
        let account_busy = MailHistory { identifier: vec![], account: vec![now - 5 * SECOND] };
        assert!(matches!(decide_mail(&account_busy, &limits, now), MailDecision::Refuse { .. }));
    }
}
