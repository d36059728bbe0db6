//! Users and their lifecycle, in Okta's vocabulary.
use crate::identifier::Login;
use crate::{EmailAddress, Millis};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    pub fn generate() -> Self {
        Self(crate::secret::okta_style_id("00u"))
    }

    /// Ids come from our own storage or from a URL path; either way they are opaque.
    pub fn from_trusted(value: String) -> Self {
        Self(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An id no account has (generated ids are 20 characters of another alphabet): looked up
    /// in place of an unknown identifier's account, so both paths run the same queries.
    pub fn decoy() -> Self {
        Self("00u0decoy0000000000".to_owned())
    }
}

/// Okta's user statuses that Latchkey models.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserStatus {
    /// Created without activation.
    Staged,
    /// Activated but without a password yet (activation email pending).
    Provisioned,
    Active,
    /// Too many failed sign-ins; `unlock` or a completed recovery clears it.
    LockedOut,
    Suspended,
    /// Deactivated; only `activate` or `DELETE` apply.
    Deprovisioned,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staged => "STAGED",
            Self::Provisioned => "PROVISIONED",
            Self::Active => "ACTIVE",
            Self::LockedOut => "LOCKED_OUT",
            Self::Suspended => "SUSPENDED",
            Self::Deprovisioned => "DEPROVISIONED",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "STAGED" => Self::Staged,
            "PROVISIONED" => Self::Provisioned,
            "ACTIVE" => Self::Active,
            "LOCKED_OUT" => Self::LockedOut,
            "SUSPENDED" => Self::Suspended,
            "DEPROVISIONED" => Self::Deprovisioned,
            _ => return None,
        })
    }

    /// May this account sign in with a password?
    pub fn can_sign_in(self) -> bool {
        matches!(self, Self::Active)
    }

    /// May this account recover its password by email? A locked-out user can (RL-2: throttles
    /// never lock the owner out); suspended and deactivated users cannot.
    pub fn can_recover(self) -> bool {
        matches!(self, Self::Active | Self::LockedOut)
    }

    /// May the holder of an activation or admin-reset link set this account's password? A
    /// suspended or deactivated account stays closed whatever links are still around.
    pub fn can_set_password_by_link(self) -> bool {
        matches!(self, Self::Provisioned | Self::Active | Self::LockedOut)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Activate,
    Deactivate,
    Suspend,
    Unsuspend,
    Unlock,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("cannot {action} a user whose status is {status}")]
pub struct LifecycleError {
    pub action: &'static str,
    pub status: &'static str,
}

impl Lifecycle {
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "activate" => Self::Activate,
            "deactivate" => Self::Deactivate,
            "suspend" => Self::Suspend,
            "unsuspend" => Self::Unsuspend,
            "unlock" => Self::Unlock,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Activate => "activate",
            Self::Deactivate => "deactivate",
            Self::Suspend => "suspend",
            Self::Unsuspend => "unsuspend",
            Self::Unlock => "unlock",
        }
    }

    /// Okta's lifecycle rules. `has_password` decides whether activation lands in ACTIVE or
    /// PROVISIONED (a user without a password must set one through the activation email).
    pub fn apply(self, status: UserStatus, has_password: bool) -> Result<UserStatus, LifecycleError> {
        use UserStatus::*;
        let next = match (self, status) {
            (Self::Activate, Staged | Deprovisioned | Provisioned) => {
                if has_password {
                    Active
                } else {
                    Provisioned
                }
            }
            (Self::Deactivate, s) if s != Deprovisioned => Deprovisioned,
            (Self::Suspend, Active | LockedOut) => Suspended,
            (Self::Unsuspend, Suspended) => Active,
            (Self::Unlock, LockedOut | Active) => Active,
            _ => return Err(LifecycleError { action: self.name(), status: status.as_str() }),
        };
        Ok(next)
    }
}

/// Profile attributes Latchkey understands (Okta's base profile subset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub login: Login,
    pub email: EmailAddress,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub locale: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub status: UserStatus,
    pub profile: Profile,
    pub has_password: bool,
    pub created_at: Millis,
    pub activated_at: Option<Millis>,
    pub status_changed_at: Option<Millis>,
    pub last_login_at: Option<Millis>,
    pub last_updated_at: Millis,
    pub password_changed_at: Option<Millis>,
}

/// Checks a free-text profile attribute: bounded, and no control characters, so it can never
/// inject a header line into an email (security-checklist EML-1).
pub fn parse_profile_text(field: &'static str, value: &str) -> Result<String, String> {
    if value.chars().count() > 100 {
        return Err(format!("{field}: must be at most 100 characters"));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{field}: must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// A BCP 47-ish locale tag as Okta stores it (`fr`, `fr_FR`, `pt-BR`).
pub fn parse_locale(value: &str) -> Result<String, String> {
    let ok = !value.is_empty()
        && value.len() <= 35
        && value.split(['-', '_']).all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(value.to_owned())
    } else {
        Err("locale: must be a language tag such as en, fr or fr_FR".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_follows_okta_rules() {
        use UserStatus::*;
        assert_eq!(Lifecycle::Activate.apply(Staged, true), Ok(Active));
        assert_eq!(Lifecycle::Activate.apply(Staged, false), Ok(Provisioned));
        assert_eq!(Lifecycle::Suspend.apply(Active, true), Ok(Suspended));
        assert_eq!(Lifecycle::Unsuspend.apply(Suspended, true), Ok(Active));
        assert_eq!(Lifecycle::Unlock.apply(LockedOut, true), Ok(Active));
        assert_eq!(Lifecycle::Deactivate.apply(Active, true), Ok(Deprovisioned));
        assert!(Lifecycle::Suspend.apply(Deprovisioned, true).is_err());
        assert!(Lifecycle::Unsuspend.apply(Active, true).is_err());
        assert!(Lifecycle::Activate.apply(Active, true).is_err());
    }

    #[test]
    fn locked_out_users_can_still_recover() {
        assert!(UserStatus::LockedOut.can_recover());
        assert!(!UserStatus::Suspended.can_recover());
        assert!(!UserStatus::LockedOut.can_sign_in());
    }

    #[test]
    fn profile_text_refuses_header_injection() {
        assert!(parse_profile_text("firstName", "Jane\r\nBcc: x@y").is_err());
        assert!(parse_profile_text("firstName", "<script>").is_ok());
    }
}
