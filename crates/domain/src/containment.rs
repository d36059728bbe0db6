//! "Not you?": the containment link every security notice carries (PasswordChanged,
//! AuthenticatorEnrolled, AuthenticatorReset), what it is bound to, and what confirming it ends.
//!
//! A notice's link is a single-use bearer token bound to one account, to what the notice was
//! about and to when that happened. Opening it only shows the notice again; confirming "this
//! wasn't me" ends every session and token of the account and removes the authenticators
//! enrolled since shortly before the notice, because whoever changed the account may have added
//! one to keep a way back in.
use crate::{Millis, DAY, HOUR};

/// What a notice reported, as its link remembers it (the `subject` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeSubject {
    PasswordChanged,
    AuthenticatorEnrolled,
    AuthenticatorRemoved,
}

impl NoticeSubject {
    pub const ALL: [NoticeSubject; 3] = [Self::PasswordChanged, Self::AuthenticatorEnrolled, Self::AuthenticatorRemoved];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordChanged => "password_changed",
            Self::AuthenticatorEnrolled => "authenticator_enrolled",
            Self::AuthenticatorRemoved => "authenticator_removed",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// How long a notice's link works by default (`recovery.not_me_token_secs`): a week, so a
/// notice read after a weekend can still be acted on.
pub const DEFAULT_LINK_LIFETIME: Millis = 7 * DAY;

/// How far before the notice the authenticators removed by a confirmation reach. An intruder
/// who changed the password or added an authenticator may have enrolled one shortly before
/// (the notice is sent when the change completes); an authenticator older than that predates
/// the incident and stays, so the owner is not locked out of their own second factor.
pub const FACTOR_LOOKBACK: Millis = 24 * HOUR;

/// The enrollment time from which a confirmed report removes authenticators.
pub fn factor_cutoff(notice_at: Millis) -> Millis {
    notice_at.saturating_sub(FACTOR_LOOKBACK)
}

/// Whether a stored link may still be confirmed: never used, and not expired by `now`.
pub fn is_live(used_at: Option<Millis>, expires_at: Millis, now: Millis) -> bool {
    used_at.is_none() && now < expires_at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_round_trip() {
        for subject in NoticeSubject::ALL {
            assert_eq!(NoticeSubject::parse(subject.as_str()), Some(subject));
        }
        assert_eq!(NoticeSubject::parse("PasswordChanged"), None);
    }

    #[test]
    fn a_link_lives_until_it_is_used_or_expires() {
        assert!(is_live(None, 10, 9));
        assert!(!is_live(None, 10, 10), "expiry is exclusive");
        assert!(!is_live(Some(5), 10, 6), "single use");
    }

    #[test]
    fn removal_reaches_a_day_before_the_notice() {
        assert_eq!(factor_cutoff(2 * DAY), DAY);
        assert_eq!(factor_cutoff(0), -DAY);
    }
}
