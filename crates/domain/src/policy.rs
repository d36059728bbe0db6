//! The organisation's authentication policies, in the few values Latchkey's decisions read.
//!
//! Okta expresses these as policy objects with rules (Latchkey honours the `PASSWORD` policy's
//! recovery rule, the `ACCESS_POLICY` rule's factor mode and the `MFA_ENROLL` policy's TOTP
//! and passkey settings); the admin adapter renders and parses those shapes, and the store
//! keeps only what a decision needs, so a decision never interprets JSON.

/// What a password recovery needs after the emailed code (the password rule's
/// `actions.selfServicePasswordReset.requirement.stepUp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecoveryStepUp {
    /// The emailed code alone opens the reset form.
    #[default]
    NotRequired,
    /// After the code, the user must also answer one enrolled second factor (Okta's
    /// `stepUp.required: true` with no `methods`: any enrolled authenticator). A user with none
    /// cannot reset the password by themselves: a mailbox is then not enough to take the account.
    AnySecondFactor,
}

impl RecoveryStepUp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotRequired => "NOT_REQUIRED",
            Self::AnySecondFactor => "ANY_SECOND_FACTOR",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::NotRequired, Self::AnySecondFactor].into_iter().find(|v| v.as_str() == value)
    }
}

/// What an app sign-in needs (Okta's `ACCESS_POLICY` rule,
/// `actions.appSignOn.verificationMethod.factorMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignOnFactors {
    /// `1FA`: the password alone.
    #[default]
    PasswordOnly,
    /// `2FA`: the password, then any enrolled second factor. An account without one cannot
    /// sign in until an administrator enrolls one.
    PasswordAndSecondFactor,
}

impl SignOnFactors {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordOnly => "1FA",
            Self::PasswordAndSecondFactor => "2FA",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::PasswordOnly, Self::PasswordAndSecondFactor].into_iter().find(|v| v.as_str() == value)
    }
}

/// Whether users enroll a TOTP app (or a passkey) themselves during sign-in (Okta's
/// `MFA_ENROLL` policy, `settings.authenticators[key=google_otp|webauthn].enroll.self`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnrollRequirement {
    /// Every sign-in of an account without one asks to set one up first.
    Required,
    /// Offered when a sign-in needs a second factor the account does not have yet (`2FA`).
    #[default]
    Optional,
    /// Never by the user: only an administrator enrolls one.
    NotAllowed,
}

impl EnrollRequirement {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "REQUIRED",
            Self::Optional => "OPTIONAL",
            Self::NotAllowed => "NOT_ALLOWED",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Required, Self::Optional, Self::NotAllowed].into_iter().find(|v| v.as_str() == value)
    }
}

/// The enrollment policy's setting for each kind of second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EnrollPolicy {
    pub totp: EnrollRequirement,
    pub webauthn: EnrollRequirement,
}

impl EnrollPolicy {
    pub fn of(self, kind: crate::interaction::FactorKind) -> EnrollRequirement {
        match kind {
            crate::interaction::FactorKind::Totp => self.totp,
            crate::interaction::FactorKind::Webauthn => self.webauthn,
        }
    }

    /// As it applies on a server that can (`passkeys_available`) or cannot offer passkeys (no
    /// relying party configured): a passkey it cannot register is never offered nor required.
    pub fn on_server(self, passkeys_available: bool) -> Self {
        Self { webauthn: if passkeys_available { self.webauthn } else { EnrollRequirement::NotAllowed }, ..self }
    }

    /// The kinds a user may set up themselves (TOTP first).
    pub fn offered(self) -> crate::interaction::FactorKinds {
        crate::interaction::FactorKinds {
            totp: self.totp != EnrollRequirement::NotAllowed,
            webauthn: self.webauthn != EnrollRequirement::NotAllowed,
        }
    }

    /// Whether any kind is `REQUIRED`: an account without a second factor then sets one up at
    /// every sign-in (one of the offered kinds: Latchkey asks for one second factor, not one of
    /// each kind).
    pub fn any_required(self) -> bool {
        self.totp == EnrollRequirement::Required || self.webauthn == EnrollRequirement::Required
    }
}

/// The values of every policy, as one snapshot. A missing stored value means its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Policies {
    pub recovery_step_up: RecoveryStepUp,
    pub sign_on: SignOnFactors,
    pub totp_enroll: EnrollRequirement,
    pub webauthn_enroll: EnrollRequirement,
}

impl Policies {
    pub fn enroll(self) -> EnrollPolicy {
        EnrollPolicy { totp: self.totp_enroll, webauthn: self.webauthn_enroll }
    }
}

/// One stored policy value: its name in the store and its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyValue {
    RecoveryStepUp(RecoveryStepUp),
    SignOn(SignOnFactors),
    TotpEnroll(EnrollRequirement),
    WebauthnEnroll(EnrollRequirement),
}

impl PolicyValue {
    /// The store's key for this value.
    pub fn key(self) -> &'static str {
        match self {
            Self::RecoveryStepUp(_) => "recovery_step_up",
            Self::SignOn(_) => "sign_on_factors",
            Self::TotpEnroll(_) => "totp_enroll",
            Self::WebauthnEnroll(_) => "webauthn_enroll",
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Self::RecoveryStepUp(v) => v.as_str(),
            Self::SignOn(v) => v.as_str(),
            Self::TotpEnroll(v) | Self::WebauthnEnroll(v) => v.as_str(),
        }
    }
}

impl Policies {
    /// Applies a stored `(key, text)` pair; `false` for a key or text Latchkey does not write.
    pub fn apply_stored(&mut self, key: &str, text: &str) -> bool {
        match key {
            "recovery_step_up" => RecoveryStepUp::parse(text).map(|v| self.recovery_step_up = v).is_some(),
            "sign_on_factors" => SignOnFactors::parse(text).map(|v| self.sign_on = v).is_some(),
            "totp_enroll" => EnrollRequirement::parse(text).map(|v| self.totp_enroll = v).is_some(),
            "webauthn_enroll" => EnrollRequirement::parse(text).map(|v| self.webauthn_enroll = v).is_some(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_round_trip_and_unknown_ones_are_refused() {
        let mut policies = Policies::default();
        for value in [
            PolicyValue::RecoveryStepUp(RecoveryStepUp::AnySecondFactor),
            PolicyValue::SignOn(SignOnFactors::PasswordAndSecondFactor),
            PolicyValue::TotpEnroll(EnrollRequirement::NotAllowed),
            PolicyValue::WebauthnEnroll(EnrollRequirement::Required),
        ] {
            assert!(policies.apply_stored(value.key(), value.text()));
        }
        assert_eq!(
            policies,
            Policies {
                recovery_step_up: RecoveryStepUp::AnySecondFactor,
                sign_on: SignOnFactors::PasswordAndSecondFactor,
                totp_enroll: EnrollRequirement::NotAllowed,
                webauthn_enroll: EnrollRequirement::Required,
            }
        );
        assert!(!policies.apply_stored("recovery_step_up", "SOMETIMES"));
        assert!(!policies.apply_stored("nonsense", "NOT_REQUIRED"));
    }
}
