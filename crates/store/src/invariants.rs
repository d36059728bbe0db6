//! The store's own invariants, stated as queries that must return nothing. Tests call
//! `Store::invariant_violations` after every step of the attacker model and at the end of the
//! attack tests, so a sequence that leaves a second live code or a deliverable decoy email
//! fails where it happens, not only when a later step trips over it.
use latchkey_domain::Millis;

use crate::{get_str, Result, Store};

/// The address every decoy email is composed for (the server's `mail::decoy_account`).
const DECOY_DOMAIN: &str = "%@decoy.latchkey.invalid";

const LIVE: &str = "c.superseded = 0 AND c.consumed_at IS NULL AND c.expires_at > $1";
/// A live code that was mailed: a throttled first challenge's row (`otp::unsent_code_mac`)
/// matches no code, so it is not a second code of its account or identifier.
const MAILED: &str = "c.code_mac NOT LIKE 'unsent:%'";

impl Store {
    /// Each broken invariant as a sentence naming the rows; empty when all hold.
    pub async fn invariant_violations(&self, now: Millis) -> Result<Vec<String>> {
        let checks: [(&str, String); 5] = [
            (
                "an account has more than one live recovery code",
                format!("SELECT c.user_id AS what FROM recovery_codes c WHERE {LIVE} AND {MAILED} AND c.user_id IS NOT NULL GROUP BY c.user_id HAVING COUNT(*) > 1"),
            ),
            (
                "an identifier has more than one live recovery code",
                format!("SELECT c.subject_key AS what FROM recovery_codes c WHERE {LIVE} AND {MAILED} GROUP BY c.subject_key HAVING COUNT(*) > 1"),
            ),
            (
                // A live code answers only at the challenge step of its own transaction, for
                // the subject and account it was issued to (the takeover's four layers).
                "a live code outlived the step it was issued for",
                format!(
                    "SELECT c.id AS what FROM recovery_codes c LEFT JOIN interactions i ON i.id = c.interaction_id \
                     WHERE {LIVE} AND (i.id IS NULL OR i.step <> 'recovery_challenge' OR i.subject_key <> c.subject_key \
                     OR COALESCE(i.user_id, '') <> COALESCE(c.user_id, ''))"
                ),
            ),
            (
                "an email for the decoy account is deliverable",
                format!("SELECT id AS what FROM outbox WHERE status <> 'suppressed' AND recipient LIKE '{DECOY_DOMAIN}'"),
            ),
            (
                // Payloads may hold a code: only messages still to be sent (or kept for an
                // administrator's resend after a failure) keep theirs.
                "a sent, suppressed or expired email still holds its payload",
                "SELECT id AS what FROM outbox WHERE status IN ('sent', 'suppressed', 'expired') AND payload IS NOT NULL".to_owned(),
            ),
        ];
        let mut broken = vec![];
        for (invariant, sql) in checks {
            let query = sqlx::query(&sql);
            let query = if sql.contains("$1") { query.bind(now) } else { query };
            let rows = query.fetch_all(self.pool()).await?;
            if !rows.is_empty() {
                let what = rows.iter().map(|r| get_str(r, "what")).collect::<Result<Vec<_>>>()?;
                broken.push(format!("{invariant}: {}", what.join(", ")));
            }
        }
        Ok(broken)
    }
}
