//! The recovery funnel's names: the steps a password recovery passes and how each attempt at a
//! step ended. Data only; the server and the email worker count them (`/metrics`), so both
//! crates agree on the names without knowing each other.
//!
//! A code from the emailed link and a typed code arrive the same way (`challenge/answer`), so
//! the funnel has one `code_verified` step and no split the wire cannot see.

/// The Prometheus counter every step is counted in, labelled `step` and `outcome`.
pub const RECOVERY_FUNNEL: &str = "latchkey_recovery_funnel_total";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelStep {
    /// An identifier was submitted to the recovery form.
    Started,
    /// The ForgotPassword email was written to the outbox.
    EmailQueued,
    /// The relay accepted the ForgotPassword email.
    Delivered,
    /// A code (typed or from the link) opened the reset form.
    CodeVerified,
    /// The new password was set.
    PasswordReset,
    /// The reset transaction's interaction code was redeemed for tokens.
    SignedIn,
}

impl FunnelStep {
    pub const ALL: [Self; 6] = [Self::Started, Self::EmailQueued, Self::Delivered, Self::CodeVerified, Self::PasswordReset, Self::SignedIn];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::EmailQueued => "email_queued",
            Self::Delivered => "delivered",
            Self::CodeVerified => "code_verified",
            Self::PasswordReset => "password_reset",
            Self::SignedIn => "signed_in",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FunnelOutcome {
    /// The step was passed.
    Ok,
    /// A limit refused the attempt (429, or mail held back by the mail limits).
    Throttled,
    /// The attempt was refused on its merits (wrong code, weak password, mail rejected, …).
    Failed,
}

impl FunnelOutcome {
    pub const ALL: [Self; 3] = [Self::Ok, Self::Throttled, Self::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Throttled => "throttled",
            Self::Failed => "failed",
        }
    }
}
