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

/// The version of an account's password a sign-in proved: its `password_changed_at`, or 0 for
/// an account whose password predates that column. Stored with transactions and refresh tokens
/// (`credential_at`), where NULL means a row from before versions were recorded.
pub fn credential_version(password_changed_at: Option<Millis>) -> Millis {
    password_changed_at.unwrap_or(0)
}

/// Whether the password a sign-in proved is still the account's (security-checklist §3.6): an
/// interaction code redeems, and a refresh family rotates, only then. `proved` is the version
/// the sign-in recorded; a transaction from before versions were recorded compares its
/// `auth_time` with the change instead.
pub fn proof_is_current(proved: Option<Millis>, auth_time: Millis, password_changed_at: Option<Millis>) -> bool {
    match proved {
        Some(proved) => proved == credential_version(password_changed_at),
        None => password_changed_at.is_none_or(|changed| auth_time >= changed),
    }
}

/// Whether an access token (its `iat` and `auth_time`, in seconds) still speaks for the account:
/// not from a sign-in before the last password change, and issued after the administrator's
/// token cutoff. `iat` has second precision: a token from the very second of a password change
/// is given the benefit of the doubt (the reset flow itself just issued it), and the sign-in
/// counts too, so an exchange that read the account just before a reset committed cannot mint a
/// live token for a sign-in the reset ended. A token from the very second of a revocation is
/// refused: the revocation is the point.
pub fn access_token_is_live(issued_at_secs: i64, auth_time_secs: i64, password_changed_at: Option<Millis>, cutoff: Option<Millis>) -> bool {
    let signed_in = auth_time_secs.min(issued_at_secs);
    let before_change = password_changed_at.is_some_and(|changed| signed_in < changed / 1000);
    let revoked = cutoff.is_some_and(|cutoff| issued_at_secs <= cutoff / 1000);
    !before_change && !revoked
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_sign_in_proves_only_the_password_of_its_version() {
        assert!(proof_is_current(Some(0), 5, None), "an account never changed is version 0");
        assert!(proof_is_current(Some(1_000), 5, Some(1_000)));
        assert!(!proof_is_current(Some(1_000), 5_000, Some(2_000)), "a change after the sign-in ends it, whatever the clocks");
        assert!(!proof_is_current(Some(0), 5_000, Some(2_000)));
        // Rows from before versions were recorded compare times.
        assert!(proof_is_current(None, 3_000, Some(2_000)));
        assert!(!proof_is_current(None, 1_000, Some(2_000)));
        assert!(proof_is_current(None, 1_000, None));
    }

    #[test]
    fn an_access_token_dies_with_the_password_change_and_the_cutoff() {
        // Signed in and issued at 10 s.
        assert!(access_token_is_live(10, 10, None, None));
        assert!(access_token_is_live(10, 10, Some(10_500), None), "the very second of the change: benefit of the doubt");
        assert!(!access_token_is_live(10, 10, Some(11_000), None));
        assert!(!access_token_is_live(12, 10, Some(11_000), None), "a later iat does not revive a sign-in the change ended");
        assert!(!access_token_is_live(10, 10, None, Some(10_400)), "the very second of a revocation: refused");
        assert!(access_token_is_live(11, 11, None, Some(10_400)));
    }
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
