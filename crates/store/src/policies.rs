//! The organisation's policy values (`latchkey_domain::policy`), one row per value; a value
//! never written reads as its default. Decisions read the values they need inside their own
//! write transaction (`recovery::step_up_facts`), so a change takes effect for every process at
//! its next request.
use latchkey_domain::audit::{EventType, Party};
use latchkey_domain::interaction::FactorKinds;
use latchkey_domain::policy::{EnrollPolicy, EnrollRequirement, Policies, PolicyValue, SignOnFactors};
use latchkey_domain::{Millis, UserId};

use crate::{get_i64, get_str, Audit, Result, Store, StoreError};

/// The policy values and when any of them last changed (`None`: never; all defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredPolicies {
    pub policies: Policies,
    pub last_updated_at: Option<Millis>,
}

impl Store {
    pub async fn policies(&self) -> Result<StoredPolicies> {
        let mut conn = self.pool().acquire().await?;
        read(&mut conn).await
    }

    /// Writes `values` and records `event_type` about `target` (the policy or rule the
    /// administrator changed), in one transaction.
    pub async fn set_policy_values(
        &self,
        values: &[PolicyValue],
        (event_type, target): (EventType, Party),
        audit: &Audit<'_>,
        now: Millis,
    ) -> Result<StoredPolicies> {
        let mut tx = self.write_tx().await?;
        for value in values {
            sqlx::query(
                "INSERT INTO policy_values (policy_key, policy_value, last_updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (policy_key) DO UPDATE SET policy_value = excluded.policy_value, last_updated_at = excluded.last_updated_at",
            )
            .bind(value.key())
            .bind(value.text())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        audit.record(&mut tx, event_type, target, now).await?;
        let stored = read(&mut tx).await?;
        tx.commit().await?;
        Ok(stored)
    }
}

/// What the second step of a sign-in depends on: the app sign-in rule, the enrollment policy and
/// which kinds of second factor the account has active. One statement, inside the sign-in's own
/// transaction.
pub(crate) struct SignOnFacts {
    pub rule: SignOnFactors,
    pub enroll: EnrollPolicy,
    pub enrolled: FactorKinds,
}

pub(crate) async fn sign_on_facts(tx: &mut crate::Tx, user_id: &UserId) -> Result<SignOnFacts> {
    let row = sqlx::query(
        "SELECT (SELECT policy_value FROM policy_values WHERE policy_key = 'sign_on_factors') AS rule, \
         (SELECT policy_value FROM policy_values WHERE policy_key = 'totp_enroll') AS enroll, \
         (SELECT policy_value FROM policy_values WHERE policy_key = 'webauthn_enroll') AS webauthn_enroll, \
         (SELECT COUNT(*) FROM factors WHERE user_id = $1 AND status = 'ACTIVE' AND factor_type <> $2) AS active_totp, \
         (SELECT COUNT(*) FROM factors WHERE user_id = $1 AND status = 'ACTIVE' AND factor_type = $2) AS active_passkeys",
    )
    .bind(user_id.as_str())
    .bind(crate::factors::WEBAUTHN_FACTOR_TYPE)
    .fetch_one(&mut **tx)
    .await?;
    let rule = match crate::get_opt_str(&row, "rule")? {
        None => SignOnFactors::default(),
        Some(text) => SignOnFactors::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("sign_on_factors {text:?}")))?,
    };
    let requirement = |column: &str| -> Result<EnrollRequirement> {
        match crate::get_opt_str(&row, column)? {
            None => Ok(EnrollRequirement::default()),
            Some(text) => EnrollRequirement::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("{column} {text:?}"))),
        }
    };
    let enroll = EnrollPolicy { totp: requirement("enroll")?, webauthn: requirement("webauthn_enroll")? };
    let enrolled = FactorKinds { totp: get_i64(&row, "active_totp")? > 0, webauthn: get_i64(&row, "active_passkeys")? > 0 };
    Ok(SignOnFacts { rule, enroll, enrolled })
}

async fn read(conn: &mut sqlx::AnyConnection) -> Result<StoredPolicies> {
    let mut stored = StoredPolicies { policies: Policies::default(), last_updated_at: None };
    for row in sqlx::query("SELECT policy_key, policy_value, last_updated_at FROM policy_values").fetch_all(&mut *conn).await? {
        let (key, value) = (get_str(&row, "policy_key")?, get_str(&row, "policy_value")?);
        if !stored.policies.apply_stored(&key, &value) {
            return Err(StoreError::Corrupt(format!("policy value {key} = {value:?} is not one Latchkey writes")));
        }
        let at = get_i64(&row, "last_updated_at")?;
        stored.last_updated_at = Some(stored.last_updated_at.map_or(at, |t| t.max(at)));
    }
    Ok(stored)
}
