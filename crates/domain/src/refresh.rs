//! Refresh-token rules (security-checklist OA-7, RFC 9700 §4.14): every use rotates the token,
//! a rotated token presented again means it was stolen (or the client is broken), and the whole
//! family dies. Idle and absolute lifetimes bound how long a family lives.
use crate::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshPolicy {
    pub idle: Millis,
    pub absolute: Millis,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        Self { idle: 7 * crate::DAY, absolute: 30 * crate::DAY }
    }
}

/// A stored refresh token as the rules need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshState {
    pub idle_expires_at: Millis,
    pub family_expires_at: Millis,
    pub rotated: bool,
    pub revoked: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshDecision {
    /// Issue a successor in the same family and mark this one rotated.
    Rotate { idle_expires_at: Millis },
    /// A rotated token came back: revoke the whole family.
    RevokeFamily,
    /// Expired or revoked: refuse, change nothing.
    Refuse,
}

impl RefreshPolicy {
    /// The deadlines of a new family started at `now`.
    pub fn new_family(&self, now: Millis) -> (Millis, Millis) {
        let family_expires_at = now.saturating_add(self.absolute);
        (now.saturating_add(self.idle).min(family_expires_at), family_expires_at)
    }

    pub fn decide(&self, token: RefreshState, now: Millis) -> RefreshDecision {
        if token.revoked {
            return RefreshDecision::Refuse;
        }
        if token.rotated {
            return RefreshDecision::RevokeFamily;
        }
        if now >= token.idle_expires_at || now >= token.family_expires_at {
            return RefreshDecision::Refuse;
        }
        RefreshDecision::Rotate { idle_expires_at: now.saturating_add(self.idle).min(token.family_expires_at) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DAY;

    #[test]
    fn rotation_reuse_and_lifetimes() {
        let policy = RefreshPolicy::default();
        let (idle, family) = policy.new_family(0);
        let live = RefreshState { idle_expires_at: idle, family_expires_at: family, rotated: false, revoked: false };
        assert_eq!(policy.decide(live, DAY), RefreshDecision::Rotate { idle_expires_at: 8 * DAY });
        assert_eq!(policy.decide(RefreshState { rotated: true, ..live }, DAY), RefreshDecision::RevokeFamily);
        assert_eq!(policy.decide(RefreshState { revoked: true, rotated: true, ..live }, DAY), RefreshDecision::Refuse);
        assert_eq!(policy.decide(live, 7 * DAY), RefreshDecision::Refuse, "idle limit");
        let late = RefreshState { idle_expires_at: 31 * DAY, ..live };
        assert_eq!(policy.decide(late, 30 * DAY), RefreshDecision::Refuse, "absolute limit");
        assert_eq!(policy.decide(live, 6 * DAY), RefreshDecision::Rotate { idle_expires_at: 13 * DAY });
    }
}
