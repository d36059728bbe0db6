//! Sign-in throttling and recovery-mail limits as pure decisions over counts and timestamps.
//! The store gathers the inputs atomically (database time, row locks); these functions decide.
use crate::{Millis, DAY, HOUR, MINUTE, SECOND};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInThrottle {
    /// Consecutive failures allowed before delays start (security-checklist RL-1).
    pub free_failures: i64,
    pub first_delay: Millis,
    pub max_delay: Millis,
}

impl Default for SignInThrottle {
    fn default() -> Self {
        Self { free_failures: 5, first_delay: SECOND, max_delay: 15 * MINUTE }
    }
}

impl SignInThrottle {
    /// Delay imposed after the `failures`-th consecutive failure: 1 s, doubling, up to 15 min.
    pub fn delay_after(&self, failures: i64) -> Millis {
        if failures < self.free_failures {
            return 0;
        }
        let doublings = u32::try_from(failures - self.free_failures).unwrap_or(u32::MAX).min(30);
        self.first_delay.saturating_mul(1i64 << doublings).min(self.max_delay)
    }
}

/// Recovery-mail limits per submitted identifier (shared/README "Recovery email limits").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailLimits {
    pub min_gap: Millis,
    pub per_hour: usize,
    pub per_day: usize,
}

impl Default for MailLimits {
    fn default() -> Self {
        Self { min_gap: 30 * SECOND, per_hour: 5, per_day: 10 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailDecision {
    Send,
    /// Refused: nothing is sent and the live code stays; `retry_after` is when one would be.
    Refuse {
        retry_after: Millis,
    },
}

impl MailLimits {
    /// Decides from the send times of the last 24 hours (any order).
    pub fn decide(&self, sent_at: &[Millis], now: Millis) -> MailDecision {
        let mut recent: Vec<Millis> = sent_at.iter().copied().filter(|t| now - t < DAY).collect();
        recent.sort_unstable();
        let mut retry_after: Millis = 0;
        if let Some(last) = recent.last() {
            if now - last < self.min_gap {
                retry_after = retry_after.max(last + self.min_gap - now);
            }
        }
        let in_hour: Vec<Millis> = recent.iter().copied().filter(|t| now - t < HOUR).collect();
        if in_hour.len() >= self.per_hour {
            let idx = in_hour.len() - self.per_hour;
            if let Some(oldest) = in_hour.get(idx) {
                retry_after = retry_after.max(oldest + HOUR - now);
            }
        }
        if recent.len() >= self.per_day {
            let idx = recent.len() - self.per_day;
            if let Some(oldest) = recent.get(idx) {
                retry_after = retry_after.max(oldest + DAY - now);
            }
        }
        if retry_after > 0 {
            MailDecision::Refuse { retry_after }
        } else {
            MailDecision::Send
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_delays_double_from_one_second() {
        let t = SignInThrottle::default();
        assert_eq!(t.delay_after(4), 0);
        assert_eq!(t.delay_after(5), SECOND);
        assert_eq!(t.delay_after(6), 2 * SECOND);
        assert_eq!(t.delay_after(60), 15 * MINUTE);
    }

    #[test]
    fn mail_needs_a_gap_and_respects_hourly_and_daily_budgets() {
        let limits = MailLimits::default();
        let now = 10 * DAY;
        assert_eq!(limits.decide(&[], now), MailDecision::Send);
        assert_eq!(limits.decide(&[now - 10 * SECOND], now), MailDecision::Refuse { retry_after: 20 * SECOND });
        let five_in_hour: Vec<Millis> = (1..=5).map(|i| now - i * 5 * MINUTE).collect();
        assert_eq!(limits.decide(&five_in_hour, now), MailDecision::Refuse { retry_after: 35 * MINUTE });
        let ten_in_day: Vec<Millis> = (1..=10).map(|i| now - i * 2 * HOUR).collect();
        assert!(matches!(limits.decide(&ten_in_day, now), MailDecision::Refuse { .. }));
        let old: Vec<Millis> = (1..=10).map(|i| now - DAY - i).collect();
        assert_eq!(limits.decide(&old, now), MailDecision::Send);
    }
}
