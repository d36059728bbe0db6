//! Passwords and the password policy.
//!
//! Rules (shared/README, NIST SP 800-63B-4 §3.1.1.2, security-checklist PWD-1…4): length is
//! counted in Unicode code points after NFKC, minimum 15 (never configurable below 8), maximum
//! 128 code points and 512 bytes; no composition rules; a blocklist made of zxcvbn's embedded
//! common-password and dictionary lists plus context words (login, names, email, service name),
//! applied through zxcvbn's guessability score. The same NFKC form is hashed at set and verify,
//! and nothing is trimmed, case-folded or truncated.
use secrecy::{ExposeSecret, SecretString};
use unicode_normalization::UnicodeNormalization;

/// Hard input bound checked before anything else (security-checklist INP-4, STO-2): a 1 MiB
/// password must be refused without ever reaching the hasher.
pub const MAX_PASSWORD_BYTES: usize = 512;
/// The smallest minimum length an operator may configure.
pub const MIN_LENGTH_FLOOR: usize = 8;

/// A password as received, already NFKC-normalised. `Debug` prints nothing.
#[derive(Clone)]
pub struct Password(SecretString);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordInputError {
    #[error("the password must be at most {MAX_PASSWORD_BYTES} bytes long")]
    TooManyBytes,
    #[error("the password must not be empty")]
    Empty,
}

impl Password {
    /// Bounds the raw input and normalises it. Policy is checked separately because sign-in
    /// must accept any stored password, whatever today's policy says.
    pub fn parse(raw: &str) -> Result<Self, PasswordInputError> {
        if raw.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordInputError::TooManyBytes);
        }
        if raw.is_empty() {
            return Err(PasswordInputError::Empty);
        }
        Ok(Self(SecretString::from(raw.nfkc().collect::<String>())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn code_points(&self) -> usize {
        self.expose().chars().count()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub max_length: usize,
    /// Minimum zxcvbn score (0–4). 3 means "safely unguessable: moderate protection from an
    /// offline slow-hash scenario", which is what a blocklist of common and breached passwords
    /// plus context words is meant to buy.
    pub min_strength: u8,
    /// Words that make a password guessable for this service (e.g. "latchkey", the org name).
    pub service_words: Vec<String>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_length: 15, max_length: 128, min_strength: 3, service_words: vec!["latchkey".to_owned()] }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyViolation {
    TooShort { min: usize },
    TooLong { max: usize },
    TooGuessable { reason: String },
    ContainsLogin,
}

impl std::fmt::Display for PolicyViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooShort { min } => write!(f, "At least {min} characters"),
            Self::TooLong { max } => write!(f, "At most {max} characters"),
            Self::TooGuessable { reason } if reason.is_empty() => f.write_str("Not a common password or one that is easy to guess"),
            Self::TooGuessable { reason } => write!(f, "Not a common password or one that is easy to guess: {reason}"),
            Self::ContainsLogin => f.write_str("Does not contain your username"),
        }
    }
}

/// What the policy knows about the account, so a password built from it can be refused.
#[derive(Debug, Default)]
pub struct PasswordContext<'a> {
    pub login: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
}

/// How much of a password the strength estimate reads (see `PasswordPolicy::check`).
pub const STRENGTH_INPUT_LIMIT: usize = 64;

impl PasswordPolicy {
    /// Refuses a configuration below the documented floor, with a message naming the fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.min_length < MIN_LENGTH_FLOOR {
            return Err(format!("password min_length must be at least {MIN_LENGTH_FLOOR}"));
        }
        if self.max_length < 64 || self.max_length > 128 || self.max_length < self.min_length {
            return Err("password max_length must be between 64 and 128 and not below min_length".to_owned());
        }
        if self.min_strength > 4 {
            return Err("password min_strength is a zxcvbn score from 0 to 4".to_owned());
        }
        Ok(())
    }

    /// Checks a new password (CPU-bound: callers run it off the async runtime, see the
    /// server's `PasswordHasher::check_and_hash`). Returns every violated rule so the user sees them all at once.
    pub fn check(&self, password: &Password, context: &PasswordContext<'_>) -> Vec<PolicyViolation> {
        let mut violations = Vec::new();
        let length = password.code_points();
        if length < self.min_length {
            violations.push(PolicyViolation::TooShort { min: self.min_length });
        }
        if length > self.max_length {
            // Beyond the maximum the strength estimate is pointless (and zxcvbn is super-linear).
            violations.push(PolicyViolation::TooLong { max: self.max_length });
            return violations;
        }
        let lowered = password.expose().to_lowercase();
        let login = context.login.to_lowercase();
        if login.chars().count() >= 3 && lowered.contains(&login) {
            violations.push(PolicyViolation::ContainsLogin);
        }
        let email_local = context.email.split('@').next().unwrap_or_default().to_lowercase();
        let mut inputs: Vec<&str> = vec![context.login, context.email, &email_local, context.first_name, context.last_name];
        inputs.extend(self.service_words.iter().map(String::as_str));
        inputs.retain(|w| !w.is_empty());
        // zxcvbn's matching is super-linear: a crafted 128-character password once took a second
        // of CPU (finding 9). The estimate reads at most the first `STRENGTH_INPUT_LIMIT` code
        // points; a password whose prefix is strong is strong, and a long one whose prefix is
        // weak is refused, which errs on the safe side.
        let bounded: String = password.expose().chars().take(STRENGTH_INPUT_LIMIT).collect();
        let estimate = zxcvbn::zxcvbn(&bounded, &inputs);
        let score = u8::from(estimate.score());
        if score < self.min_strength {
            let reason = estimate.feedback().and_then(|f| f.warning()).map(|w| w.to_string()).unwrap_or_default();
            violations.push(PolicyViolation::TooGuessable { reason });
        }
        violations
    }

    /// Human-readable list of the rules, for the IDX policy text and error parameters.
    pub fn describe(&self) -> Vec<String> {
        vec![
            format!("At least {} characters", self.min_length),
            format!("At most {} characters", self.max_length),
            "Not a common password or one that is easy to guess".to_owned(),
            "Does not contain your username".to_owned(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pw: &str) -> Vec<PolicyViolation> {
        let ctx = PasswordContext { login: "jane.doe@example.com", email: "jane.doe@example.com", first_name: "Jane", last_name: "Doe" };
        PasswordPolicy::default().check(&Password::parse(pw).expect("input ok"), &ctx)
    }

    #[test]
    fn a_long_lowercase_passphrase_is_accepted() {
        assert!(check("correct horse battery staple orbit").is_empty());
    }

    #[test]
    fn fourteen_code_points_is_too_short_and_fifteen_accented_letters_count_as_fifteen() {
        assert!(check("abcdefghijklmn").contains(&PolicyViolation::TooShort { min: 15 }));
        let accented = "é".repeat(15);
        assert!(!check(&accented).contains(&PolicyViolation::TooShort { min: 15 }));
    }

    #[test]
    fn common_and_contextual_passwords_are_refused() {
        for pw in ["passwordpassword1", "latchkeylatchkey1", "jane.doe@example.com123456789"] {
            assert!(check(pw).iter().any(|v| matches!(v, PolicyViolation::TooGuessable { .. } | PolicyViolation::ContainsLogin)), "{pw}");
        }
    }

    #[test]
    fn over_long_input_is_refused_before_policy() {
        assert_eq!(Password::parse(&"a".repeat(513)).err(), Some(PasswordInputError::TooManyBytes));
        assert!(check(&"Zq9!".repeat(33)).contains(&PolicyViolation::TooLong { max: 128 }));
    }

    #[test]
    fn nfc_and_nfd_forms_normalise_to_the_same_secret() {
        let nfc = Password::parse("caf\u{e9} au lait tous les matins").expect("ok");
        let nfd = Password::parse("cafe\u{301} au lait tous les matins").expect("ok");
        assert_eq!(nfc.expose(), nfd.expose());
    }

    #[test]
    fn trailing_space_is_significant() {
        let a = Password::parse("pass phrase that is long ").expect("ok");
        let b = Password::parse("pass phrase that is long").expect("ok");
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn the_strength_estimate_reads_a_bounded_prefix() {
        // A weak first 64 characters cannot be rescued by a strong tail: the estimate never
        // reads past STRENGTH_INPUT_LIMIT, which bounds zxcvbn's super-linear work (finding 9).
        let weak_prefix = "a".repeat(STRENGTH_INPUT_LIMIT);
        let strong_tail = " orbit lantern quiet mosaic 7 river";
        assert!(check(&format!("{weak_prefix}{strong_tail}")).iter().any(|v| matches!(v, PolicyViolation::TooGuessable { .. })));
        // A crafted 128-character input is estimated on 64 of them (no timing asserted here).
        let crafted: String = "1a!".repeat(43).chars().take(128).collect();
        let _ = check(&crafted);
    }
}
