//! One-time recovery codes: generation, parsing and the keyed hash we store.
//!
//! Decisions (shared/README "One-time codes", security-checklist OTP-1…8): N decimal digits
//! (6 by default, 6–10) drawn from the OS CSPRNG with rejection sampling, 10-minute lifetime,
//! single use, 5 wrong answers per code, one live code per account, and an account-wide
//! consecutive-failure counter that a new code does not reset. Only
//! HMAC-SHA-256(key, transaction ‖ purpose ‖ code) is stored, so a database-only leak does not
//! let anyone brute-force the small code space offline.
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::{Millis, DAY, MINUTE};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpPolicy {
    pub digits: usize,
    pub lifetime: Millis,
    pub max_attempts_per_code: i64,
    /// Consecutive failures (all codes, all transactions) before the account backs off.
    pub account_backoff_after: i64,
    pub account_backoff_base: Millis,
    pub account_backoff_max: Millis,
    /// Never more than this many consecutive failures per account; an administrator's `unlock`
    /// is then the only way to clear the counter (NIST SP 800-63B-4 §3.2.2 caps it at 100).
    pub account_ceiling: i64,
}

impl Default for OtpPolicy {
    fn default() -> Self {
        Self {
            digits: 6,
            lifetime: 10 * MINUTE,
            max_attempts_per_code: 5,
            account_backoff_after: 20,
            account_backoff_base: 15 * MINUTE,
            account_backoff_max: DAY,
            account_ceiling: 100,
        }
    }
}

impl OtpPolicy {
    pub fn validate(&self, allow_unsafe: bool) -> Result<(), String> {
        if !(6..=10).contains(&self.digits) {
            return Err("otp digits must be between 6 and 10".to_owned());
        }
        if !allow_unsafe && !(5 * MINUTE..=60 * MINUTE).contains(&self.lifetime) {
            return Err("otp lifetime must be between 5 and 60 minutes".to_owned());
        }
        if !(1..=10).contains(&self.max_attempts_per_code) {
            return Err("otp max_attempts must be between 1 and 10".to_owned());
        }
        if self.account_ceiling > 100 || self.account_backoff_after > self.account_ceiling {
            return Err("otp account_ceiling must be at most 100 and above account_backoff_after".to_owned());
        }
        Ok(())
    }

    /// How long the account must wait after its `failures`-th consecutive failure: nothing
    /// below the threshold, then 15 min doubling per further failure, capped at 24 h.
    pub fn account_backoff(&self, failures: i64) -> Millis {
        if failures < self.account_backoff_after {
            return 0;
        }
        let doublings = u32::try_from(failures - self.account_backoff_after).unwrap_or(u32::MAX).min(20);
        self.account_backoff_base.saturating_mul(1i64 << doublings).min(self.account_backoff_max)
    }

    /// A fresh code from `rng`, by rejection sampling (no modulo bias, OTP-1). The randomness is
    /// passed in like the time: the server passes the operating system's CSPRNG (`OsRng`),
    /// tests may pass a seeded generator to get the same codes every run.
    pub fn generate(&self, rng: &mut (impl RngCore + rand::CryptoRng)) -> Otp {
        let mut code = String::with_capacity(self.digits);
        while code.len() < self.digits {
            let byte = (rng.next_u32() & 0xff) as u8;
            // 250 = 25 × 10: bytes ≥ 250 are redrawn so every digit is equally likely.
            if byte < 250 {
                code.push(char::from(b'0' + byte % 10));
            }
        }
        Otp(SecretString::from(code))
    }

    /// Parses a submitted code. Anything but exactly `digits` ASCII digits is malformed, which
    /// the adapter answers with a 400 that does not count as an attempt (OTP-7).
    pub fn parse(&self, raw: &str) -> Result<Otp, OtpError> {
        let trimmed = raw.trim();
        if trimmed.len() != self.digits || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OtpError::Malformed { digits: self.digits });
        }
        Ok(Otp(SecretString::from(trimmed.to_owned())))
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OtpError {
    #[error("the code must be exactly {digits} digits")]
    Malformed { digits: usize },
}

/// A one-time code. `Debug` prints nothing.
#[derive(Clone)]
pub struct Otp(SecretString);

impl Otp {
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The stored form: hex HMAC-SHA-256 over the transaction id, the purpose, the subject the
    /// code is mailed for and the code, so the same digits are useless in any other
    /// transaction, for any other purpose or for any other subject (OTP-6; the takeover
    /// finding answered a transaction with a code mailed for another subject).
    pub fn mac(&self, key: &[u8], transaction_id: &str, purpose: &str, subject: &str) -> String {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for HMAC.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
            return String::new();
        };
        for part in [transaction_id, purpose, subject, self.expose()] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        let bytes = mac.finalize().into_bytes();
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// What a code that was never sent stores in place of its MAC: a first challenge over the mail
/// limit still gets a code row, so that its answers are counted and evaluated like any other
/// (the same for a real account and an unknown identifier). Before, that row held the MAC of a
/// random code: unknown to everybody, yet a guess could still hit it, beside the account's
/// real live code. This value has a MAC's length (the comparison costs the same) but not its
/// alphabet (`Otp::mac` is hex), so no submitted code matches it, and the store's
/// one-live-code invariant does not count it as a code.
/// Random like a bearer secret (`OsRng`), so rows never share a value, though nothing is decided
/// on its bits.
pub fn unsent_code_mac() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let tail: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{UNSENT_CODE_PREFIX}{}", &tail[UNSENT_CODE_PREFIX.len()..])
}

/// The prefix of every `unsent_code_mac`; ':' never occurs in a hex MAC.
pub const UNSENT_CODE_PREFIX: &str = "unsent:";

impl std::fmt::Debug for Otp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Otp(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_code_matches_an_unsent_codes_stored_value() {
        let stored = unsent_code_mac();
        let real = OtpPolicy::default().parse("123456").expect("a code").mac(b"key", "tx", "recovery", "subject");
        assert_eq!(stored.len(), real.len(), "the comparison costs the same as for a real code");
        assert!(stored.starts_with(UNSENT_CODE_PREFIX));
        assert!(real.bytes().all(|b| b.is_ascii_hexdigit()), "a MAC is hex, so it never has the prefix");
    }

    #[test]
    fn generated_codes_have_the_configured_length() {
        let policy = OtpPolicy { digits: 8, ..OtpPolicy::default() };
        for _ in 0..100 {
            let code = policy.generate(&mut rand::rngs::OsRng);
            assert_eq!(code.expose().len(), 8);
            assert!(code.expose().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn a_seeded_generator_gives_the_same_codes() {
        use rand::SeedableRng;
        let policy = OtpPolicy::default();
        let mut a = rand::rngs::StdRng::seed_from_u64(7);
        let mut b = rand::rngs::StdRng::seed_from_u64(7);
        assert_eq!(policy.generate(&mut a).expose(), policy.generate(&mut b).expose());
    }

    #[test]
    fn digits_are_roughly_uniform() {
        let policy = OtpPolicy::default();
        let mut counts = [0u32; 10];
        for _ in 0..2000 {
            for b in policy.generate(&mut rand::rngs::OsRng).expose().bytes() {
                if let Some(c) = counts.get_mut(usize::from(b - b'0')) {
                    *c += 1;
                }
            }
        }
        // 12,000 digits: each expected 1,200; a biased generator would be far outside ±25 %.
        assert!(counts.iter().all(|&c| (900..1500).contains(&c)), "{counts:?}");
    }

    #[test]
    fn malformed_codes_are_refused() {
        let policy = OtpPolicy::default();
        for bad in ["12345", "1234567", "12a456", "", "１２３４５６"] {
            assert!(policy.parse(bad).is_err(), "{bad:?}");
        }
        assert!(policy.parse(" 123456 ").is_ok());
    }

    #[test]
    fn the_mac_binds_transaction_and_purpose() {
        let code = OtpPolicy::default().parse("123456").expect("valid");
        let a = code.mac(b"key", "tx1", "recovery", "identifier:a");
        assert_ne!(a, code.mac(b"key", "tx2", "recovery", "identifier:a"));
        assert_ne!(a, code.mac(b"key", "tx1", "signin", "identifier:a"));
        assert_ne!(a, code.mac(b"key", "tx1", "recovery", "identifier:b"));
        assert_ne!(a, code.mac(b"other", "tx1", "recovery", "identifier:a"));
        assert_eq!(a, code.mac(b"key", "tx1", "recovery", "identifier:a"));
    }

    #[test]
    fn account_backoff_starts_at_the_threshold_and_doubles_to_a_day() {
        let p = OtpPolicy::default();
        assert_eq!(p.account_backoff(19), 0);
        assert_eq!(p.account_backoff(20), 15 * MINUTE);
        assert_eq!(p.account_backoff(21), 30 * MINUTE);
        assert_eq!(p.account_backoff(99), DAY);
    }
}
