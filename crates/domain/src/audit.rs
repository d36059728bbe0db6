//! Security events: what the System Log records about a change, decided with the change.
//!
//! A decision that changes security state returns the event that records it as one more
//! effect, and the store writes it in the same transaction as the change (so the log never
//! shows a reset that did not happen, nor misses one that did). The vocabulary follows Okta's
//! System Log event types where Okta documents one; `EventType::as_str` lists our choices and
//! `docs/system-log.md` explains the ones Okta does not name.
use crate::interaction::Subject;
use crate::UserId;

/// What happened, as an Okta `eventType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// A password sign-in was evaluated (success or failure).
    SessionStart,
    /// The user signed out of Latchkey.
    SessionEnd,
    /// An administrator ended every session of a user.
    SessionClear,
    /// The account locked after repeated sign-in failures.
    AccountLock,
    /// An administrator unlocked the account.
    AccountUnlock,
    /// Someone asked for a recovery email (sent, throttled, or for no account).
    RecoveryEmailRequested,
    /// An emailed recovery code was checked.
    RecoveryCodeVerify,
    /// The password was reset through recovery.
    PasswordReset,
    /// The password was set otherwise (set-password link, administrator).
    PasswordUpdate,
    UserCreate,
    UserActivate,
    UserSuspend,
    UserUnsuspend,
    UserDeactivate,
    UserDelete,
    ProfileUpdate,
    /// Tokens were issued at the token endpoint.
    TokenGrant,
    /// A token was revoked (RFC 7009).
    TokenRevoke,
    /// An email was handed to the relay, or given up on.
    EmailDelivery,
    /// A second factor's enrollment started.
    FactorEnroll,
    /// A second factor was activated with its first value.
    FactorActivate,
    /// A second factor's value was checked.
    FactorVerify,
    /// A passkey's assertion was checked.
    PasskeyVerify,
    /// A second factor was removed.
    FactorDeactivate,
    /// An administrator changed a brand theme (colours, variants, logo, favicon).
    ThemeUpdate,
    /// The database was restored from a backup; every session and refresh token ended.
    SystemRestore,
    /// An administrator changed a policy's settings (the enrollment policy).
    PolicyUpdate,
    /// An administrator changed a policy rule (recovery's step-up, the app sign-in factors).
    PolicyRuleUpdate,
    /// The account's owner confirmed a notice's "Not you?" link: every session and token ended,
    /// recently enrolled authenticators removed.
    ReportSuspiciousActivity,
    // Admin changes of clients, email templates, the outbox and signing keys (issue 15 review).
    /// An administrator registered an OAuth client.
    AppCreate,
    /// An administrator changed an OAuth client's settings.
    AppUpdate,
    /// An administrator deleted an OAuth client.
    AppDelete,
    /// An administrator replaced an OAuth client's secret (`lifecycle/newSecret`).
    AppSecretRotate,
    /// An administrator created, replaced or deleted an email template customization.
    EmailTemplateUpdate,
    /// An administrator queued an unsent email again.
    EmailResend,
    /// A new signing key was added and the older ones scheduled to retire.
    SigningKeyRollover,
}

impl EventType {
    pub const ALL: [EventType; 36] = [
        Self::SessionStart,
        Self::SessionEnd,
        Self::SessionClear,
        Self::AccountLock,
        Self::AccountUnlock,
        Self::RecoveryEmailRequested,
        Self::RecoveryCodeVerify,
        Self::PasswordReset,
        Self::PasswordUpdate,
        Self::UserCreate,
        Self::UserActivate,
        Self::UserSuspend,
        Self::UserUnsuspend,
        Self::UserDeactivate,
        Self::UserDelete,
        Self::ProfileUpdate,
        Self::TokenGrant,
        Self::TokenRevoke,
        Self::EmailDelivery,
        Self::FactorEnroll,
        Self::FactorActivate,
        Self::FactorVerify,
        Self::PasskeyVerify,
        Self::FactorDeactivate,
        Self::ThemeUpdate,
        Self::SystemRestore,
        Self::PolicyUpdate,
        Self::PolicyRuleUpdate,
        Self::ReportSuspiciousActivity,
        Self::AppCreate,
        Self::AppUpdate,
        Self::AppDelete,
        Self::AppSecretRotate,
        Self::EmailTemplateUpdate,
        Self::EmailResend,
        Self::SigningKeyRollover,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SessionStart => "user.session.start",
            Self::SessionEnd => "user.session.end",
            Self::SessionClear => "user.session.clear",
            Self::AccountLock => "user.account.lock",
            Self::AccountUnlock => "user.account.unlock",
            // Okta names the email it sends, not the request; ours records the request with
            // its outcome, so an administrator sees throttled and unknown-identifier requests.
            Self::RecoveryEmailRequested => "system.email.password_reset.sent_message",
            Self::RecoveryCodeVerify => "user.authentication.auth_via_mfa",
            Self::PasswordReset => "user.account.reset_password",
            Self::PasswordUpdate => "user.account.update_password",
            Self::UserCreate => "user.lifecycle.create",
            Self::UserActivate => "user.lifecycle.activate",
            Self::UserSuspend => "user.lifecycle.suspend",
            Self::UserUnsuspend => "user.lifecycle.unsuspend",
            Self::UserDeactivate => "user.lifecycle.deactivate",
            Self::UserDelete => "user.lifecycle.delete.completed",
            Self::ProfileUpdate => "user.account.update_profile",
            Self::TokenGrant => "app.oauth2.as.token.grant",
            Self::TokenRevoke => "app.oauth2.as.token.revoke",
            Self::EmailDelivery => "system.email.delivery",
            Self::FactorEnroll => "user.mfa.factor.update",
            Self::FactorActivate => "user.mfa.factor.activate",
            Self::FactorVerify => "user.authentication.auth_via_mfa.totp",
            Self::PasskeyVerify => "user.authentication.auth_via_mfa.webauthn",
            Self::FactorDeactivate => "user.mfa.factor.deactivate",
            Self::ThemeUpdate => "brand.theme.update",
            Self::SystemRestore => "system.backup.restore",
            Self::PolicyUpdate => "policy.lifecycle.update",
            Self::PolicyRuleUpdate => "policy.rule.update",
            Self::ReportSuspiciousActivity => "user.account.report_suspicious_activity_by_enduser",
            Self::AppCreate => "application.lifecycle.create",
            Self::AppUpdate => "application.lifecycle.update",
            Self::AppDelete => "application.lifecycle.delete",
            // Ours: Okta's catalog has no event for a replaced client secret.
            Self::AppSecretRotate => "app.oauth2.client.secret.rotate",
            // Ours: Okta does not document an event for email customizations.
            Self::EmailTemplateUpdate => "system.email.template.update",
            // Ours: Okta has no resend of a queued message.
            Self::EmailResend => "system.email.resend",
            Self::SigningKeyRollover => "app.oauth2.as.key.rollover",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }

    /// The human sentence Okta calls `displayMessage`.
    pub fn display_message(self) -> &'static str {
        match self {
            Self::SessionStart => "User login to Latchkey",
            Self::SessionEnd => "User logout from Latchkey",
            Self::SessionClear => "Clear user sessions",
            Self::AccountLock => "Max sign in attempts exceeded",
            Self::AccountUnlock => "Unlock user account",
            Self::RecoveryEmailRequested => "Password reset email requested",
            Self::RecoveryCodeVerify => "Authentication of user via email code",
            Self::PasswordReset => "Reset password",
            Self::PasswordUpdate => "Update password for user",
            Self::UserCreate => "Create user",
            Self::UserActivate => "Activate user",
            Self::UserSuspend => "Suspend user",
            Self::UserUnsuspend => "Unsuspend user",
            Self::UserDeactivate => "Deactivate user",
            Self::UserDelete => "Delete user",
            Self::ProfileUpdate => "Update user profile",
            Self::TokenGrant => "OAuth 2.0 token grant",
            Self::TokenRevoke => "OAuth 2.0 token revocation",
            Self::EmailDelivery => "Email delivery",
            Self::FactorEnroll => "Enroll factor",
            Self::FactorActivate => "Activate factor",
            Self::FactorVerify => "Authentication of user via TOTP",
            Self::PasskeyVerify => "Authentication of user via a passkey",
            Self::FactorDeactivate => "Reset factor for user",
            Self::ThemeUpdate => "Update brand theme",
            Self::SystemRestore => "Database restored from a backup",
            Self::PolicyUpdate => "Update policy",
            Self::PolicyRuleUpdate => "Update policy rule",
            Self::ReportSuspiciousActivity => "User report suspicious activity",
            Self::AppCreate => "Add application",
            Self::AppUpdate => "Update application",
            Self::AppDelete => "Delete application",
            Self::AppSecretRotate => "Rotate client secret",
            Self::EmailTemplateUpdate => "Update email template customization",
            Self::EmailResend => "Resend email",
            Self::SigningKeyRollover => "Signing key rollover",
        }
    }
}

impl From<crate::user::Lifecycle> for EventType {
    fn from(lifecycle: crate::user::Lifecycle) -> Self {
        use crate::user::Lifecycle;
        match lifecycle {
            Lifecycle::Activate => Self::UserActivate,
            Lifecycle::Deactivate => Self::UserDeactivate,
            Lifecycle::Suspend => Self::UserSuspend,
            Lifecycle::Unsuspend => Self::UserUnsuspend,
            Lifecycle::Unlock => Self::AccountUnlock,
        }
    }
}

/// Okta's `outcome.result`, with its optional reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure(&'static str),
    /// Refused by a limit or a rule, not by a wrong secret.
    Deny(&'static str),
}

impl Outcome {
    pub fn result(&self) -> &'static str {
        match self {
            Self::Success => "SUCCESS",
            Self::Failure(_) => "FAILURE",
            Self::Deny(_) => "DENY",
        }
    }

    pub fn reason(&self) -> Option<&'static str> {
        match self {
            Self::Success => None,
            Self::Failure(reason) | Self::Deny(reason) => Some(reason),
        }
    }
}

/// Okta's `severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Warn,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "INFO",
            Self::Warn => "WARN",
        }
    }
}

/// An actor or a target: Okta's `{id, type, alternateId, displayName}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// `None` when the identifier names no account: the log says what was typed, not who.
    pub id: Option<String>,
    pub kind: &'static str,
    pub alternate_id: Option<String>,
    pub display_name: Option<String>,
}

impl Party {
    /// A user by id, with the login or identifier that was used as `alternateId`.
    pub fn user(id: &UserId, login: &str) -> Self {
        Self { id: Some(id.as_str().to_owned()), kind: "User", alternate_id: Some(login.to_owned()), display_name: None }
    }

    /// Whoever typed the subject's identifier: the account when there is one, else only the
    /// identifier (the System Log is for administrators, who may see unknown identifiers).
    pub fn subject(subject: &Subject) -> Self {
        Self {
            id: subject.user_id.as_ref().map(|u| u.as_str().to_owned()),
            kind: "User",
            alternate_id: Some(subject.identifier.clone()),
            display_name: None,
        }
    }

    /// A user known only by id (the target of a change whose login is not at hand).
    pub fn user_id(id: &UserId) -> Self {
        Self { id: Some(id.as_str().to_owned()), kind: "User", alternate_id: None, display_name: None }
    }

    /// An OAuth client.
    pub fn client(client_id: &str) -> Self {
        Self { id: Some(client_id.to_owned()), kind: "PublicClientApp", alternate_id: Some(client_id.to_owned()), display_name: None }
    }

    /// A policy or policy rule, by its Okta id and name.
    pub fn policy(id: &str, name: &str) -> Self {
        Self { id: Some(id.to_owned()), kind: "PolicyEntity", alternate_id: None, display_name: Some(name.to_owned()) }
    }

    /// Latchkey itself (the outbox worker, the purge loop).
    pub fn system() -> Self {
        Self {
            id: Some("latchkey".to_owned()),
            kind: "SystemPrincipal",
            alternate_id: Some("system@latchkey".to_owned()),
            display_name: Some("Latchkey".to_owned()),
        }
    }

    /// The administrator behind the admin API's token.
    pub fn admin() -> Self {
        Self {
            id: Some("admin".to_owned()),
            kind: "User",
            alternate_id: Some("admin API token".to_owned()),
            display_name: Some("Administrator".to_owned()),
        }
    }
}

/// One security event, decided with the change it records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEvent {
    pub event_type: EventType,
    pub outcome: Outcome,
    pub severity: Severity,
    pub actor: Party,
    pub target: Option<Party>,
    /// Okta's `debugContext.debugData`: non-secret facts (never a password, code or token).
    pub detail: Vec<(&'static str, String)>,
}

impl SecurityEvent {
    pub fn new(event_type: EventType, outcome: Outcome, actor: Party) -> Self {
        Self { event_type, outcome, severity: Severity::Info, actor, target: None, detail: vec![] }
    }

    pub fn target(mut self, target: Party) -> Self {
        self.target = Some(target);
        self
    }

    pub fn warn(mut self) -> Self {
        self.severity = Severity::Warn;
        self
    }

    pub fn detail(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.detail.push((key, value.into()));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip_and_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert!(seen.insert(t.as_str()), "{} twice", t.as_str());
        }
        assert_eq!(EventType::parse("user.session.nope"), None);
    }

    #[test]
    fn an_unknown_identifier_is_logged_by_what_was_typed() {
        let party = Party::subject(&Subject::new("nobody@example.com", None));
        assert_eq!(party.id, None);
        assert_eq!(party.alternate_id.as_deref(), Some("nobody@example.com"));
    }
}
