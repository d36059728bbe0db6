//! Time-based one-time passwords (RFC 6238) as Google Authenticator and Okta's `google_otp`
//! use them: HMAC-SHA1, six digits, 30-second steps, one step of clock skew either way. The
//! arithmetic is `totp-rs`'s; what is decided here is which step a value belongs to and that a
//! step, once used, is never accepted again (a value seen over a shoulder or replayed from a
//! log is dead as soon as its owner used it).
use rand::RngCore;
use totp_rs::{Algorithm, TOTP};

use crate::Millis;

/// 160 bits, the HMAC-SHA1 block-size recommendation of RFC 4226 §4.
pub const SECRET_BYTES: usize = 20;

/// A shared secret. Never logged; stored only sealed (`secret::seal`).
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(…)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a TOTP secret must be {SECRET_BYTES} bytes")]
pub struct BadSecret;

impl TotpSecret {
    pub fn generate(rng: &mut impl RngCore) -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The bytes of a stored secret, after opening it.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, BadSecret> {
        if bytes.len() == SECRET_BYTES {
            Ok(Self(bytes))
        } else {
            Err(BadSecret)
        }
    }

    /// A secret as people type it (unpadded or padded RFC 4648 base32, any case).
    pub fn from_base32(text: &str) -> Result<Self, BadSecret> {
        let bytes = totp_rs::Secret::Encoded(text.trim().trim_end_matches('=').to_uppercase()).to_bytes().map_err(|_| BadSecret)?;
        Self::from_bytes(bytes)
    }

    pub fn expose_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Unpadded RFC 4648 base32, what people type into an authenticator app.
    pub fn base32(&self) -> String {
        self.totp(&TotpPolicy::default(), None, String::new()).get_secret_base32()
    }

    fn totp(&self, policy: &TotpPolicy, issuer: Option<String>, account: String) -> TOTP {
        // `new_unchecked`: the length is ours (20 bytes) and labels are checked by `otpauth_uri`.
        TOTP::new_unchecked(Algorithm::SHA1, policy.digits, policy.skew_steps, policy.step_secs, self.0.clone(), issuer, account)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotpPolicy {
    pub digits: usize,
    pub step_secs: u64,
    pub skew_steps: u8,
}

impl Default for TotpPolicy {
    fn default() -> Self {
        Self { digits: 6, step_secs: 30, skew_steps: 1 }
    }
}

impl TotpPolicy {
    /// Whether `submitted` has the shape of a value at all (checked before anything is counted).
    pub fn is_well_formed(&self, submitted: &str) -> bool {
        submitted.len() == self.digits && submitted.bytes().all(|b| b.is_ascii_digit())
    }
}

/// The newest time step within the skew whose value is `submitted`, whether or not it was used
/// before; the caller decides on replay under its own lock (`recovery::decide_factor_answer`).
pub fn matching_step(secret: &TotpSecret, policy: &TotpPolicy, submitted: &str, now: Millis) -> Option<u64> {
    match decide(secret, policy, submitted, None, now) {
        TotpCheck::Accepted { step } => Some(step),
        TotpCheck::Replayed | TotpCheck::Wrong => None,
    }
}

/// The `otpauth://totp/…` URI an authenticator app scans. `:` separates issuer and account in
/// the label, so it is removed from both.
pub fn otpauth_uri(secret: &TotpSecret, policy: &TotpPolicy, issuer: &str, account: &str) -> String {
    let clean = |s: &str| s.replace(':', "");
    secret.totp(policy, Some(clean(issuer)), clean(account)).get_url()
}

/// What a submitted value is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpCheck {
    /// Right for `step`, which is newer than any step used before: record it as used.
    Accepted {
        step: u64,
    },
    /// Right, but for a step already used (or older): refused like a wrong value.
    Replayed,
    Wrong,
}

/// Checks `submitted` at `now` against the steps within the skew, newest first, and refuses a
/// step at or before `last_used_step`. The store records the accepted step with a conditional
/// update (`last_used_step < step`), so two processes can never both accept one value.
pub fn decide(secret: &TotpSecret, policy: &TotpPolicy, submitted: &str, last_used_step: Option<u64>, now: Millis) -> TotpCheck {
    if !policy.is_well_formed(submitted) {
        return TotpCheck::Wrong;
    }
    let totp = secret.totp(policy, None, String::new());
    let current = u64::try_from(now).unwrap_or(0) / 1000 / policy.step_secs;
    let skew = u64::from(policy.skew_steps);
    let matched = (current.saturating_sub(skew)..=current + skew)
        .rev()
        .find(|step| crate::secret::constant_time_eq(&totp.generate(step * policy.step_secs), submitted));
    match matched {
        None => TotpCheck::Wrong,
        Some(step) if last_used_step.is_some_and(|used| step <= used) => TotpCheck::Replayed,
        Some(step) => TotpCheck::Accepted { step },
    }
}

/// The value an authenticator app shows at `now` (tests and the CLI's self-check use it).
pub fn value_at(secret: &TotpSecret, policy: &TotpPolicy, now: Millis) -> String {
    secret.totp(policy, None, String::new()).generate(u64::try_from(now).unwrap_or(0) / 1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SECOND;

    /// RFC 6238 Appendix B, SHA-1: the ASCII secret "12345678901234567890".
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec()).expect("20 bytes")
    }

    #[test]
    fn rfc_6238_test_vectors() {
        let eight = TotpPolicy { digits: 8, ..TotpPolicy::default() };
        for (time, expected) in [(59, "94287082"), (1_111_111_109, "07081804"), (1_234_567_890, "89005924"), (2_000_000_000, "69279037")] {
            assert_eq!(value_at(&rfc_secret(), &eight, time * SECOND), expected, "T = {time}");
        }
    }

    #[test]
    fn one_step_of_skew_either_way_and_no_more() {
        let policy = TotpPolicy::default();
        let now = 1_000_000 * SECOND;
        let at = |offset: i64| value_at(&rfc_secret(), &policy, now + offset * 30 * SECOND);
        let step = |offset: i64| u64::try_from(now / 1000 / 30 + offset).expect("positive");
        assert_eq!(decide(&rfc_secret(), &policy, &at(0), None, now), TotpCheck::Accepted { step: step(0) });
        assert_eq!(decide(&rfc_secret(), &policy, &at(-1), None, now), TotpCheck::Accepted { step: step(-1) });
        assert_eq!(decide(&rfc_secret(), &policy, &at(1), None, now), TotpCheck::Accepted { step: step(1) });
        assert_eq!(decide(&rfc_secret(), &policy, &at(2), None, now), TotpCheck::Wrong);
        assert_eq!(decide(&rfc_secret(), &policy, &at(-2), None, now), TotpCheck::Wrong);
    }

    #[test]
    fn a_used_step_and_older_ones_are_refused() {
        let policy = TotpPolicy::default();
        let now = 1_000_000 * SECOND;
        let value = value_at(&rfc_secret(), &policy, now);
        let TotpCheck::Accepted { step } = decide(&rfc_secret(), &policy, &value, None, now) else {
            unreachable!("the current value is accepted");
        };
        assert_eq!(decide(&rfc_secret(), &policy, &value, Some(step), now), TotpCheck::Replayed);
        let previous = value_at(&rfc_secret(), &policy, now - 30 * SECOND);
        assert_eq!(decide(&rfc_secret(), &policy, &previous, Some(step), now), TotpCheck::Replayed, "no going back");
        let next = value_at(&rfc_secret(), &policy, now + 30 * SECOND);
        assert!(matches!(decide(&rfc_secret(), &policy, &next, Some(step), now + 30 * SECOND), TotpCheck::Accepted { .. }));
    }

    #[test]
    fn malformed_values_are_wrong_without_computing() {
        let policy = TotpPolicy::default();
        for value in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            assert_eq!(decide(&rfc_secret(), &policy, value, None, 0), TotpCheck::Wrong, "{value:?}");
        }
    }

    #[test]
    fn the_uri_names_issuer_and_account_and_carries_the_secret() {
        let secret = rfc_secret();
        let uri = otpauth_uri(&secret, &TotpPolicy::default(), "Latch:key", "ada@example.com");
        assert!(uri.starts_with("otpauth://totp/Latchkey:ada%40example.com?"), "{uri}");
        assert!(uri.contains(&format!("secret={}", secret.base32())), "{uri}");
        assert!(uri.contains("issuer=Latchkey"), "{uri}");
        assert_eq!(format!("{secret:?}"), "TotpSecret(…)");
        assert_eq!(TotpSecret::from_base32(&secret.base32().to_lowercase()), Ok(secret));
        assert_eq!(TotpSecret::from_base32("not base32!"), Err(BadSecret));
    }
}
