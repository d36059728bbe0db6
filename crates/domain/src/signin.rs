//! The password sign-in decisions that depend on stored counters: whether an attempt may be
//! evaluated at all, and whether a failure locks the account. Pure functions; the store loads
//! the counters under lock, calls them and applies the result in the same transaction.
//!
//! An attempt is counted as a failure *before* the password is verified and the count is cleared
//! by a success, so parallel attempts on one identifier cannot all slip past the throttle
//! between a check and a later count (finding 7's shape, per identifier).
use crate::throttle::SignInThrottle;
use crate::user::UserStatus;
use crate::Millis;

/// Consecutive sign-in failures under one counter key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignInCounter {
    pub failures: i64,
    pub blocked_until: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// The identifier is backing off: answer 429, write nothing.
    Wait { retry_after: Millis },
    /// Evaluate the password; these counters (the attempt counted as a failure) are written now.
    Proceed { identifier: SignInCounter, account: Option<SignInCounter> },
}

/// Whether an attempt for this identifier may be evaluated. Only the identifier's counter is
/// visible (finding 6); the account's is counted alongside for the lock-out.
pub fn decide_attempt(identifier: SignInCounter, account: Option<SignInCounter>, throttle: &SignInThrottle, now: Millis) -> Attempt {
    if identifier.blocked_until > now {
        return Attempt::Wait { retry_after: identifier.blocked_until - now };
    }
    let bump = |c: SignInCounter| {
        let failures = c.failures + 1;
        let delay = throttle.delay_after(failures);
        SignInCounter { failures, blocked_until: if delay > 0 { now + delay } else { c.blocked_until } }
    };
    Attempt::Proceed { identifier: bump(identifier), account: account.map(bump) }
}

/// After a failed attempt: whether the account reached the ceiling and locks until a recovery
/// or an administrator unlocks it (RL-1, RL-2). The answer to the client does not change.
pub fn decide_lockout(account: Option<(SignInCounter, UserStatus)>, lockout_after: i64) -> bool {
    matches!(account, Some((counter, UserStatus::Active)) if counter.failures >= lockout_after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SECOND;

    #[test]
    fn an_attempt_is_counted_before_it_is_evaluated_and_the_sixth_waits() {
        let throttle = SignInThrottle::default();
        let mut counter = SignInCounter::default();
        for _ in 0..5 {
            let attempt = decide_attempt(counter, None, &throttle, 0);
            let Attempt::Proceed { identifier, .. } = attempt else {
                unreachable!("the first five are evaluated, got {attempt:?}");
            };
            counter = identifier;
        }
        assert_eq!(counter.failures, 5);
        assert_eq!(decide_attempt(counter, None, &throttle, 0), Attempt::Wait { retry_after: SECOND });
    }

    #[test]
    fn only_an_active_account_at_the_ceiling_locks() {
        let at = SignInCounter { failures: 100, blocked_until: 0 };
        assert!(decide_lockout(Some((at, UserStatus::Active)), 100));
        assert!(!decide_lockout(Some((at, UserStatus::Suspended)), 100));
        assert!(!decide_lockout(Some((SignInCounter { failures: 99, blocked_until: 0 }, UserStatus::Active)), 100));
        assert!(!decide_lockout(None, 100));
    }
}

/// Where a right password leads: straight to `Success`, or, when the app sign-in rule asks for a
/// second factor, to its challenge (bounded by `window`; a choice first when the account has
/// both a TOTP app and passkeys). An account without one sets one up first when the enrollment
/// policy requires it, or when the rule asks for a second factor and users may enroll one of
/// the kinds `enroll` offers; otherwise a rule asking for one ends in a terminal step.
/// `enroll` is the policy as it applies on this server (`EnrollPolicy::on_server`).
pub fn after_password(
    (rule, enroll): (crate::policy::SignOnFactors, crate::policy::EnrollPolicy),
    enrolled: crate::interaction::FactorKinds,
    subject: &crate::interaction::Subject,
    user_id: &crate::UserId,
    window: Millis,
    now: Millis,
) -> crate::interaction::Step {
    use crate::interaction::Step;
    use crate::policy::SignOnFactors;
    let grant_expires_at = now + window;
    let subject = subject.clone();
    let may_enroll = enroll.offered().any();
    match (rule, enrolled.any()) {
        (SignOnFactors::PasswordAndSecondFactor, true) => match enrolled.single() {
            Some(factor) => Step::SignInFactorChallenge { subject, grant_expires_at, factor },
            None => Step::SignInFactorSelect { subject, grant_expires_at },
        },
        (_, false) if may_enroll && (enroll.any_required() || rule == SignOnFactors::PasswordAndSecondFactor) => {
            Step::SignInEnrollSelect { subject, grant_expires_at }
        }
        (SignOnFactors::PasswordAndSecondFactor, false) => Step::SignInFactorMissing { subject },
        (SignOnFactors::PasswordOnly, _) => Step::Success { user_id: user_id.clone() },
    }
}

#[cfg(test)]
mod second_factor_tests {
    use super::*;
    use crate::interaction::{FactorKind, FactorKinds, Step, Subject};
    use crate::policy::{EnrollPolicy, EnrollRequirement, SignOnFactors};

    const NONE: FactorKinds = FactorKinds { totp: false, webauthn: false };
    const TOTP: FactorKinds = FactorKinds { totp: true, webauthn: false };

    fn totp_only(e: EnrollRequirement) -> EnrollPolicy {
        EnrollPolicy { totp: e, webauthn: EnrollRequirement::NotAllowed }
    }

    #[test]
    fn a_right_password_opens_only_what_the_rules_allow() {
        use EnrollRequirement::{NotAllowed, Optional, Required};
        use SignOnFactors::{PasswordAndSecondFactor as TwoFa, PasswordOnly as OneFa};
        let user = crate::UserId::from_trusted("00uX".to_owned());
        let subject = Subject::new("x@example.com", Some(user.clone()));
        let after = |rule, enroll, has| after_password((rule, totp_only(enroll)), has, &subject, &user, 10, 5);
        let success = Step::Success { user_id: user.clone() };
        let challenge = Step::SignInFactorChallenge { subject: subject.clone(), grant_expires_at: 15, factor: FactorKind::Totp };
        let enroll = Step::SignInEnrollSelect { subject: subject.clone(), grant_expires_at: 15 };
        // 1FA: the password is enough, unless set-up is required of everybody.
        assert_eq!(after(OneFa, Optional, NONE), success);
        assert_eq!(after(OneFa, NotAllowed, NONE), success);
        assert_eq!(after(OneFa, Optional, TOTP), success);
        assert_eq!(after(OneFa, Required, NONE), enroll);
        // 2FA: an enrolled factor is asked for; without one, set-up if users may, else nothing.
        for e in [Required, Optional, NotAllowed] {
            assert_eq!(after(TwoFa, e, TOTP), challenge);
        }
        assert_eq!(after(TwoFa, Required, NONE), enroll);
        assert_eq!(after(TwoFa, Optional, NONE), enroll);
        assert_eq!(after(TwoFa, NotAllowed, NONE), Step::SignInFactorMissing { subject: subject.clone() });
    }

    #[test]
    fn passkeys_are_challenged_chosen_and_offered_like_a_totp_app() {
        use EnrollRequirement::{NotAllowed, Optional, Required};
        let user = crate::UserId::from_trusted("00uX".to_owned());
        let subject = Subject::new("x@example.com", Some(user.clone()));
        let two_fa = |enroll, has| after_password((SignOnFactors::PasswordAndSecondFactor, enroll), has, &subject, &user, 10, 5);
        let passkey_only = FactorKinds { totp: false, webauthn: true };
        let both = FactorKinds { totp: true, webauthn: true };
        let policy = EnrollPolicy { totp: NotAllowed, webauthn: Optional };
        assert_eq!(
            two_fa(policy, passkey_only),
            Step::SignInFactorChallenge { subject: subject.clone(), grant_expires_at: 15, factor: FactorKind::Webauthn }
        );
        assert_eq!(two_fa(policy, both), Step::SignInFactorSelect { subject: subject.clone(), grant_expires_at: 15 });
        assert_eq!(two_fa(policy, NONE), Step::SignInEnrollSelect { subject: subject.clone(), grant_expires_at: 15 });
        // A server without a relying party offers no passkey, so that set-up is not possible.
        assert_eq!(two_fa(policy.on_server(false), NONE), Step::SignInFactorMissing { subject: subject.clone() });
        let one_fa = after_password(
            (SignOnFactors::PasswordOnly, EnrollPolicy { totp: NotAllowed, webauthn: Required }),
            NONE,
            &subject,
            &user,
            10,
            5,
        );
        assert_eq!(one_fa, Step::SignInEnrollSelect { subject: subject.clone(), grant_expires_at: 15 });
    }
}
