//! Signing-key rotation schedule (shared/README "Keys"): publish the new key first, sign with it
//! only after every JWKS cache has seen it, and keep the old key published until the last token
//! it signed has expired.
use crate::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Rotate when the newest key is this old; `None` turns scheduled rotation off.
    pub rotate_after: Option<Millis>,
    /// From publication to first signature; at least the JWKS cache lifetime plus the key-ring
    /// reload interval, so no verifier meets a `kid` it has not fetched.
    pub publish_delay: Millis,
    /// The longest lifetime of a token a key signs (access and ID tokens).
    pub token_lifetime: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPlan {
    pub publish_at: Millis,
    pub sign_from: Millis,
    /// When every older key retires: the last token signed before `sign_from` has expired by
    /// then (a minute of margin for clock skew between processes and verifiers).
    pub retire_old_at: Millis,
}

impl RotationPolicy {
    pub fn plan(&self, now: Millis) -> RotationPlan {
        let sign_from = now.saturating_add(self.publish_delay);
        RotationPlan {
            publish_at: now,
            sign_from,
            retire_old_at: sign_from.saturating_add(self.token_lifetime).saturating_add(crate::MINUTE),
        }
    }

    /// Whether the schedule asks for a new key, given when the newest one was created.
    pub fn is_due(&self, newest_created_at: Option<Millis>, now: Millis) -> bool {
        match (self.rotate_after, newest_created_at) {
            (_, None) => true,
            (Some(every), Some(created)) => now.saturating_sub(created) >= every,
            (None, Some(_)) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DAY, MINUTE};

    #[test]
    fn the_new_key_signs_after_publication_and_the_old_retires_after_its_tokens() {
        let policy = RotationPolicy { rotate_after: Some(90 * DAY), publish_delay: 10 * MINUTE, token_lifetime: 10 * MINUTE };
        let plan = policy.plan(1_000);
        assert_eq!(plan.publish_at, 1_000);
        assert_eq!(plan.sign_from, 1_000 + 10 * MINUTE);
        assert_eq!(plan.retire_old_at, 1_000 + 21 * MINUTE);
        assert!(!policy.is_due(Some(0), 89 * DAY));
        assert!(policy.is_due(Some(0), 90 * DAY));
        assert!(!RotationPolicy { rotate_after: None, ..policy }.is_due(Some(0), 900 * DAY));
    }
}
