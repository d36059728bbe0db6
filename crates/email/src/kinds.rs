//! Which email a message is: the seven templates Latchkey sends, under Okta's template names.

use std::fmt;

/// An email template, named as Okta names it (the `kind` column of the outbox and the
/// `{templateName}` of Okta's email-customization API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EmailKind {
    /// The recovery email: a one-time code and/or a link that continues recovery.
    ForgotPassword,
    /// Notice after a password was changed or reset (security-checklist NOT-1).
    PasswordChanged,
    /// Notice that too many wrong codes or passwords paused recovery/sign-in. Okta calls this
    /// template `AccountLockout`.
    LockoutNotice,
    /// Invitation to set a first password.
    UserActivation,
    /// An administrator started a password reset for the user.
    PasswordResetByAdmin,
    /// Notice that an authenticator (a second factor) was enrolled, with a "Not you?" link.
    AuthenticatorEnrolled,
    /// Notice that an authenticator was removed, with a "Not you?" link. Okta's template for
    /// authenticators that were reset or removed.
    AuthenticatorReset,
}

impl EmailKind {
    pub const ALL: [EmailKind; 7] = [
        EmailKind::ForgotPassword,
        EmailKind::PasswordChanged,
        EmailKind::LockoutNotice,
        EmailKind::UserActivation,
        EmailKind::PasswordResetByAdmin,
        EmailKind::AuthenticatorEnrolled,
        EmailKind::AuthenticatorReset,
    ];

    /// Okta's template name; also the outbox `kind` column and the template file stem.
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::ForgotPassword => "ForgotPassword",
            EmailKind::PasswordChanged => "PasswordChanged",
            EmailKind::LockoutNotice => "AccountLockout",
            EmailKind::UserActivation => "UserActivation",
            EmailKind::PasswordResetByAdmin => "PasswordResetByAdmin",
            EmailKind::AuthenticatorEnrolled => "AuthenticatorEnrolled",
            EmailKind::AuthenticatorReset => "AuthenticatorReset",
        }
    }

    /// Inverse of [`EmailKind::as_str`]. Also accepts `LockoutNotice`, the Rust name, so a row
    /// written by either spelling opens.
    pub fn parse(s: &str) -> Option<Self> {
        if s == "LockoutNotice" {
            return Some(EmailKind::LockoutNotice);
        }
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the message carries a secret (code or link) and must expire with it.
    pub fn carries_secret(self) -> bool {
        matches!(self, EmailKind::ForgotPassword | EmailKind::UserActivation | EmailKind::PasswordResetByAdmin)
    }

    /// Whether the message is a security notice carrying a "Not you?" link
    /// (`${request.reportSuspiciousActivityToken}`). The link only opens a page that asks before
    /// it changes anything, so the notice is delivered even after the link expired.
    pub fn carries_not_me_link(self) -> bool {
        matches!(self, EmailKind::PasswordChanged | EmailKind::AuthenticatorEnrolled | EmailKind::AuthenticatorReset)
    }
}

impl fmt::Display for EmailKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in EmailKind::ALL {
            assert_eq!(EmailKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EmailKind::parse("LockoutNotice"), Some(EmailKind::LockoutNotice));
        assert_eq!(EmailKind::parse("forgotpassword"), None);
    }
}
