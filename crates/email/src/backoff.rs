//! When to try a deferred message again: exponential back-off with jitter.
//!
//! Doubling spreads retries out while a relay is down without hammering it; the cap keeps a
//! long outage from pushing the next try past the code's lifetime; the ±20 % jitter keeps
//! messages deferred together (one outage) from all coming back in the same instant.

use std::time::Duration;

use rand::Rng;

/// Delay before the next try after `attempts` failed ones (1 = the first try failed):
/// `base · 2^(attempts−1)`, capped at `max`, times a random factor in [0.8, 1.2], and never
/// more than `max`.
pub(crate) fn delay(attempts: i64, base: Duration, max: Duration) -> Duration {
    let jitter = rand::thread_rng().gen_range(0.8..=1.2);
    delay_with_jitter(attempts, base, max, jitter)
}

fn delay_with_jitter(attempts: i64, base: Duration, max: Duration, jitter: f64) -> Duration {
    // 2^30 × any sane base is already far past any cap; the clamp keeps the shift defined.
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let raw = base.saturating_mul(1u32 << exponent).min(max);
    raw.mul_f64(jitter).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn doubles_per_attempt_and_caps() {
        let (base, max) = (MS(1000), MS(60_000));
        assert_eq!(delay_with_jitter(1, base, max, 1.0), MS(1000));
        assert_eq!(delay_with_jitter(2, base, max, 1.0), MS(2000));
        assert_eq!(delay_with_jitter(4, base, max, 1.0), MS(8000));
        assert_eq!(delay_with_jitter(10, base, max, 1.0), max);
        assert_eq!(delay_with_jitter(i64::MAX, base, max, 1.0), max);
        assert_eq!(delay_with_jitter(0, base, max, 1.0), MS(1000));
    }

    #[test]
    fn jitter_stays_within_twenty_percent_and_under_the_cap() {
        for _ in 0..1000 {
            let d = delay(3, MS(1000), MS(60_000));
            assert!(d >= MS(3200) && d <= MS(4800), "{d:?}");
            assert!(delay(20, MS(1000), MS(60_000)) <= MS(60_000));
        }
    }
}
