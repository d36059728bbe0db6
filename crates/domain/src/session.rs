//! Identity-provider sessions and the OpenID Connect re-authentication rules (`prompt`,
//! `max_age`). Deadlines are computed here so every adapter applies the same lifetimes
//! (security-checklist SES-4: 1 h idle, 24 h absolute by default).
use crate::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle: Millis,
    pub absolute: Millis,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self { idle: crate::HOUR, absolute: 24 * crate::HOUR }
    }
}

/// When a session created or used at `now` expires: the idle deadline never passes the
/// absolute one, so activity cannot stretch a session beyond its absolute lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionDeadlines {
    pub idle_expires_at: Millis,
    pub expires_at: Millis,
}

impl SessionPolicy {
    pub fn new_session(&self, now: Millis) -> SessionDeadlines {
        let expires_at = now.saturating_add(self.absolute);
        SessionDeadlines { idle_expires_at: now.saturating_add(self.idle).min(expires_at), expires_at }
    }

    /// The idle deadline after activity at `now`.
    pub fn touched(&self, now: Millis, expires_at: Millis) -> Millis {
        now.saturating_add(self.idle).min(expires_at)
    }
}

/// What `/v1/authorize` does with the browser's session (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizeDecision {
    /// Issue a code for the session's user without showing the page.
    UseSession,
    /// Show the sign-in page.
    SignIn,
    /// `prompt=none` and the user would have to sign in: answer `login_required`.
    LoginRequired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    Default,
    None,
    Login,
}

impl Prompt {
    /// `prompt` is a space-separated list; `none` with anything else is an error, and values we
    /// do not implement (`consent`, `select_account`) are refused rather than ignored.
    pub fn parse(raw: Option<&str>) -> Result<Self, &'static str> {
        let values: Vec<&str> = raw.unwrap_or_default().split(' ').filter(|v| !v.is_empty()).collect();
        match values.as_slice() {
            [] => Ok(Self::Default),
            ["none"] => Ok(Self::None),
            ["login"] => Ok(Self::Login),
            _ if values.contains(&"none") => Err("prompt=none cannot be combined with other values"),
            _ => Err("prompt supports only none and login"),
        }
    }
}

/// `session_auth_time` is when the session's user last authenticated, if the browser has a live
/// session; `max_age` is in seconds.
pub fn decide_authorize(prompt: Prompt, max_age: Option<i64>, session_auth_time: Option<Millis>, now: Millis) -> AuthorizeDecision {
    let fresh = session_auth_time.is_some_and(|auth_time| match max_age {
        Some(max_age) => now.saturating_sub(auth_time) <= max_age.saturating_mul(crate::SECOND),
        None => true,
    });
    match (prompt, fresh) {
        (Prompt::Login, _) => AuthorizeDecision::SignIn,
        (_, true) => AuthorizeDecision::UseSession,
        (Prompt::None, false) => AuthorizeDecision::LoginRequired,
        (Prompt::Default, false) => AuthorizeDecision::SignIn,
    }
}

/// `max_age`: a non-negative integer number of seconds.
pub fn parse_max_age(raw: Option<&str>) -> Result<Option<i64>, &'static str> {
    match raw {
        None | Some("") => Ok(None),
        Some(v) => v.parse::<i64>().ok().filter(|v| *v >= 0).map(Some).ok_or("max_age must be a non-negative integer"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HOUR, MINUTE, SECOND};

    #[test]
    fn idle_deadline_never_passes_the_absolute_one() {
        let policy = SessionPolicy::default();
        let d = policy.new_session(0);
        assert_eq!((d.idle_expires_at, d.expires_at), (HOUR, 24 * HOUR));
        assert_eq!(policy.touched(24 * HOUR - MINUTE, d.expires_at), 24 * HOUR);
    }

    #[test]
    fn prompt_and_max_age_decide_whether_the_page_is_shown() {
        let now = 10 * HOUR;
        assert_eq!(decide_authorize(Prompt::None, None, None, now), AuthorizeDecision::LoginRequired);
        assert_eq!(decide_authorize(Prompt::None, None, Some(now - HOUR), now), AuthorizeDecision::UseSession);
        assert_eq!(decide_authorize(Prompt::Login, None, Some(now), now), AuthorizeDecision::SignIn);
        assert_eq!(decide_authorize(Prompt::Default, Some(60), Some(now - 61 * SECOND), now), AuthorizeDecision::SignIn);
        assert_eq!(decide_authorize(Prompt::None, Some(60), Some(now - 61 * SECOND), now), AuthorizeDecision::LoginRequired);
        assert_eq!(decide_authorize(Prompt::Default, Some(60), Some(now - 59 * SECOND), now), AuthorizeDecision::UseSession);
        assert!(Prompt::parse(Some("none login")).is_err());
        assert!(Prompt::parse(Some("consent")).is_err());
        assert_eq!(parse_max_age(Some("-1")), Err("max_age must be a non-negative integer"));
    }
}

/// What a sign-in proved, as the ID token's `amr` (RFC 8176): the password alone, the password
/// and a one-time value from a TOTP app, or the password and a passkey (`hwk`: proof of
/// possession of a key held by an authenticator; `user`: the user-presence test every WebAuthn
/// assertion carries; webauthn-rs requires user verification of a passkey too). Carried from the transaction
/// to the browser session, the code and every refresh family it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMethods {
    #[default]
    Password,
    PasswordAndOtp,
    PasswordAndPasskey,
}

impl AuthMethods {
    /// The stored form; `parse` reads it back.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "pwd",
            Self::PasswordAndOtp => "pwd otp mfa",
            Self::PasswordAndPasskey => "pwd hwk user mfa",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Password, Self::PasswordAndOtp, Self::PasswordAndPasskey].into_iter().find(|m| m.as_str() == value)
    }

    /// The `amr` claim's values.
    pub fn values(self) -> Vec<String> {
        self.as_str().split(' ').map(str::to_owned).collect()
    }
}

#[cfg(test)]
mod auth_methods_tests {
    use super::AuthMethods;

    #[test]
    fn methods_round_trip_and_name_rfc_8176_values() {
        for m in [AuthMethods::Password, AuthMethods::PasswordAndOtp, AuthMethods::PasswordAndPasskey] {
            assert_eq!(AuthMethods::parse(m.as_str()), Some(m));
        }
        assert_eq!(AuthMethods::PasswordAndOtp.values(), ["pwd", "otp", "mfa"]);
        assert_eq!(AuthMethods::PasswordAndPasskey.values(), ["pwd", "hwk", "user", "mfa"]);
        assert_eq!(AuthMethods::parse("sms"), None);
    }
}
