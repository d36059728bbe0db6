//! Second factors (Okta's Factors API): enrolled authenticators with their sealed secrets.
//!
//! A TOTP value is accepted by one conditional update (`last_used_step < step`), so two
//! processes answering the same value race to one winner and a replay always loses.
use latchkey_domain::audit::{EventType, Outcome, Party, SecurityEvent};
use latchkey_domain::containment::NoticeSubject;
use latchkey_domain::{Millis, UserId};

use crate::containment::{queue_notice, SecurityNotice};
use crate::{random_id, Audit, Result, Store, StoreError};

/// Okta's `factorType` and `provider` for a TOTP app such as Google Authenticator.
pub const TOTP_FACTOR_TYPE: &str = "token:software:totp";
pub const TOTP_PROVIDER: &str = "GOOGLE";
/// Okta's `factorType` and `provider` for a passkey (WebAuthn).
pub const WEBAUTHN_FACTOR_TYPE: &str = "webauthn";
pub const WEBAUTHN_PROVIDER: &str = "FIDO";

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FactorRecord {
    pub id: String,
    pub user_id: String,
    pub factor_type: String,
    pub provider: String,
    /// `PENDING_ACTIVATION` until a first value is answered, then `ACTIVE`.
    pub status: String,
    /// Sealed by the caller (`crypto`); opened only to check a value.
    pub secret_sealed: String,
    pub last_used_step: Option<i64>,
    /// The name the user gave it on the account page (migration 0015); `None` shows the default.
    pub display_name: Option<String>,
    /// A passkey's credential id (base64url) and webauthn-rs' credential, JSON (migration 0017).
    pub credential_id: Option<String>,
    pub credential: Option<String>,
    pub created_at: Millis,
    pub last_updated_at: Millis,
}

pub(crate) const COLUMNS: &str =
    "id, user_id, factor_type, provider, status, secret_sealed, last_used_step, display_name, credential_id, credential, created_at, \
     last_updated_at";

/// How `Store::add_session_passkey` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyAdded {
    Added,
    /// The registration was answered already, replaced, or never started: nothing changed.
    Replayed,
    /// Another factor has this credential id: nothing was added (the registration is spent).
    Taken,
}

/// A factor id, made before the secret is sealed because the seal's context names it.
pub fn new_factor_id() -> String {
    format!("uft{}", random_id())
}

impl Store {
    /// Starts a TOTP enrollment: a pending factor with the sealed secret. A pending enrollment
    /// the user never finished is replaced; an active one must be removed first.
    pub async fn enroll_totp(
        &self,
        user_id: &UserId,
        id: &str,
        secret_sealed: &str,
        audit: &Audit<'_>,
        now: Millis,
    ) -> Result<FactorRecord> {
        let mut tx = self.write_tx().await?;
        let record = enroll_totp_in_tx(&mut tx, user_id, id, secret_sealed, audit, now).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Starts the set-up of a TOTP app during sign-in: the transaction moves to `next` (the
    /// enrollment step) and the pending factor is written, in one transaction. `None`: the
    /// transaction had moved; nothing changed.
    #[allow(clippy::too_many_arguments)]
    pub async fn begin_totp_enrollment(
        &self,
        (interaction_id, expected_version, next): (&str, i64, &latchkey_domain::interaction::Step),
        user_id: &UserId,
        factor_id: &str,
        secret_sealed: &str,
        audit: &Audit<'_>,
        now: Millis,
    ) -> Result<Option<(crate::InteractionRecord, FactorRecord)>> {
        let mut tx = self.write_tx().await?;
        let Some(record) = crate::interactions::advance(&mut tx, interaction_id, expected_version, next).await? else {
            return Ok(None);
        };
        let factor = enroll_totp_in_tx(&mut tx, user_id, factor_id, secret_sealed, audit, now).await?;
        tx.commit().await?;
        Ok(Some((record, factor)))
    }

    /// The user's pending TOTP factor (a set-up not yet answered), if any.
    pub async fn pending_totp(&self, user_id: &UserId) -> Result<Option<FactorRecord>> {
        let mut conn = self.pool().acquire().await?;
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM factors WHERE user_id = $1 AND factor_type = $2 AND status = 'PENDING_ACTIVATION'"
        ))
        .bind(user_id.as_str())
        .bind(TOTP_FACTOR_TYPE)
        .fetch_optional(&mut *conn)
        .await?)
    }

    pub async fn factors_of(&self, user_id: &UserId) -> Result<Vec<FactorRecord>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM factors WHERE user_id = $1 ORDER BY created_at, id"))
            .bind(user_id.as_str())
            .fetch_all(self.pool())
            .await?)
    }

    /// The user's active passkeys, oldest first (to start or check an authentication).
    pub async fn active_passkeys(&self, user_id: &UserId) -> Result<Vec<FactorRecord>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM factors WHERE user_id = $1 AND factor_type = $2 AND status = 'ACTIVE' ORDER BY created_at, id"
        ))
        .bind(user_id.as_str())
        .bind(WEBAUTHN_FACTOR_TYPE)
        .fetch_all(self.pool())
        .await?)
    }

    /// Keeps the passkey registration the account page started with the browser session
    /// (replacing an unfinished one). `false` when the session is gone.
    pub async fn start_session_passkey(&self, session_id: &str, user_id: &UserId, ceremony: &str) -> Result<bool> {
        let updated = sqlx::query("UPDATE sessions SET webauthn_ceremony = $1 WHERE id = $2 AND user_id = $3")
            .bind(ceremony)
            .bind(session_id)
            .bind(user_id.as_str())
            .execute(self.pool())
            .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// The passkey registration the session started, if one is waiting.
    pub async fn session_passkey(&self, session_id: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar::<_, Option<String>>("SELECT webauthn_ceremony FROM sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(self.pool())
            .await?
            .flatten())
    }

    /// Adds the passkey the session's registration produced, consuming that registration in the
    /// same transaction: only while `ceremony` is still the session's (an answer is accepted
    /// once), and only under a credential id no account has. Logs `user.mfa.factor.activate` and
    /// queues the AuthenticatorEnrolled notice with the factor.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_session_passkey(
        &self,
        (session_id, ceremony): (&str, &str),
        user_id: &UserId,
        factor_id: &str,
        passkey: &latchkey_domain::webauthn::NewPasskey,
        enrolled: &SecurityNotice,
        audit: &Audit<'_>,
        now: Millis,
    ) -> Result<PasskeyAdded> {
        let mut tx = self.write_tx().await?;
        let consumed =
            sqlx::query("UPDATE sessions SET webauthn_ceremony = NULL WHERE id = $1 AND user_id = $2 AND webauthn_ceremony = $3")
                .bind(session_id)
                .bind(user_id.as_str())
                .bind(ceremony)
                .execute(&mut *tx)
                .await?;
        if consumed.rows_affected() != 1 {
            return Ok(PasskeyAdded::Replayed);
        }
        if credential_taken_in_tx(&mut tx, &passkey.credential_id).await? {
            tx.commit().await?;
            return Ok(PasskeyAdded::Taken);
        }
        let added = add_passkey_in_tx(&mut tx, user_id, factor_id, passkey, now).await?;
        record_factor_event(&mut tx, EventType::FactorActivate, Outcome::Success, &added, audit, now).await?;
        queue_notice(&mut tx, user_id, NoticeSubject::AuthenticatorEnrolled, Some(&added), enrolled, now).await?;
        tx.commit().await?;
        Ok(PasskeyAdded::Added)
    }

    /// The user's active TOTP factor, if any (to open its secret before an answer is decided).
    pub async fn active_totp(&self, user_id: &UserId) -> Result<Option<FactorRecord>> {
        let mut conn = self.pool().acquire().await?;
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM factors WHERE user_id = $1 AND factor_type = $2 AND status = 'ACTIVE'"))
            .bind(user_id.as_str())
            .bind(TOTP_FACTOR_TYPE)
            .fetch_optional(&mut *conn)
            .await?)
    }

    pub async fn factor_of(&self, user_id: &UserId, id: &str) -> Result<Option<FactorRecord>> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM factors WHERE user_id = $1 AND id = $2"))
            .bind(user_id.as_str())
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// Records `step` as used (and activates a pending factor) unless that step or a newer one
    /// was used already. `None`: the value was replayed or raced; nothing changed. The outcome
    /// is logged either way. `enrolled` is the AuthenticatorEnrolled notice, queued with its
    /// "Not you?" link in this transaction when this use activates the factor (never for a
    /// factor that was active already, nor when nothing changed).
    pub async fn use_totp_step(
        &self,
        factor: &FactorRecord,
        step: i64,
        enrolled: Option<&SecurityNotice>,
        audit: &Audit<'_>,
        now: Millis,
    ) -> Result<Option<FactorRecord>> {
        let mut tx = self.write_tx().await?;
        // The status as this transaction finds it, under the row's lock: the caller's copy may
        // predate a racing activation, and only the use that activates the factor announces it.
        let status_before: Option<String> =
            sqlx::query_scalar(&format!("SELECT status FROM factors WHERE id = $1{}", self.dialect().for_update()))
                .bind(&factor.id)
                .fetch_optional(&mut *tx)
                .await?;
        let updated: Option<FactorRecord> = sqlx::query_as(&format!(
            "UPDATE factors SET last_used_step = $1, status = 'ACTIVE', last_updated_at = $2 \
             WHERE id = $3 AND (last_used_step IS NULL OR last_used_step < $1) RETURNING {COLUMNS}"
        ))
        .bind(step)
        .bind(now)
        .bind(&factor.id)
        .fetch_optional(&mut *tx)
        .await?;
        let event_type = if factor.status == "ACTIVE" { EventType::FactorVerify } else { EventType::FactorActivate };
        let outcome = if updated.is_some() { Outcome::Success } else { Outcome::Failure("REPLAYED") };
        record_factor_event(&mut tx, event_type, outcome, factor, audit, now).await?;
        if let (Some(active), Some(notice), Some("PENDING_ACTIVATION")) = (&updated, enrolled, status_before.as_deref()) {
            let user_id = UserId::from_trusted(active.user_id.clone());
            queue_notice(&mut tx, &user_id, NoticeSubject::AuthenticatorEnrolled, Some(active), notice, now).await?;
        }
        tx.commit().await?;
        Ok(updated)
    }

    /// A wrong value for `factor`, logged (activation by an administrator, or a challenge).
    pub async fn record_wrong_factor_value(&self, factor: &FactorRecord, audit: &Audit<'_>, now: Millis) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let event_type = if factor.status == "ACTIVE" { EventType::FactorVerify } else { EventType::FactorActivate };
        record_factor_event(&mut tx, event_type, Outcome::Failure("INVALID_PASSCODE"), factor, audit, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a factor and queues the AuthenticatorReset notice with its "Not you?" link in the
    /// same transaction; `false` when the user has no such factor (nothing is queued).
    pub async fn remove_factor(&self, user_id: &UserId, id: &str, notice: &SecurityNotice, audit: &Audit<'_>, now: Millis) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        if !remove_in_tx(&mut tx, user_id, id, notice, audit, now).await? {
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }
}

/// See `Store::enroll_totp`; in the caller's transaction.
async fn enroll_totp_in_tx(
    tx: &mut crate::Tx,
    user_id: &UserId,
    id: &str,
    secret_sealed: &str,
    audit: &Audit<'_>,
    now: Millis,
) -> Result<FactorRecord> {
    let active = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM factors WHERE user_id = $1 AND factor_type = $2 AND status = 'ACTIVE'")
        .bind(user_id.as_str())
        .bind(TOTP_FACTOR_TYPE)
        .fetch_one(&mut **tx)
        .await?;
    if active > 0 {
        return Err(StoreError::Conflict("an active factor of this type"));
    }
    sqlx::query("DELETE FROM factors WHERE user_id = $1 AND factor_type = $2 AND status = 'PENDING_ACTIVATION'")
        .bind(user_id.as_str())
        .bind(TOTP_FACTOR_TYPE)
        .execute(&mut **tx)
        .await?;
    let record: FactorRecord = sqlx::query_as(&format!(
        "INSERT INTO factors (id, user_id, factor_type, provider, status, secret_sealed, created_at, last_updated_at) \
         VALUES ($1, $2, $3, $4, 'PENDING_ACTIVATION', $5, $6, $6) RETURNING {COLUMNS}"
    ))
    .bind(id)
    .bind(user_id.as_str())
    .bind(TOTP_FACTOR_TYPE)
    .bind(TOTP_PROVIDER)
    .bind(secret_sealed)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    audit.record(tx, EventType::FactorEnroll, Party::user_id(user_id), now).await?;
    Ok(record)
}

/// [`Store::remove_factor`] inside the caller's write transaction (the account page's removal
/// first checks the password it verified is still the account's).
pub(crate) async fn remove_in_tx(
    tx: &mut crate::Tx,
    user_id: &UserId,
    id: &str,
    notice: &SecurityNotice,
    audit: &Audit<'_>,
    now: Millis,
) -> Result<bool> {
    let removed: Option<FactorRecord> = sqlx::query_as(&format!("DELETE FROM factors WHERE user_id = $1 AND id = $2 RETURNING {COLUMNS}"))
        .bind(user_id.as_str())
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(removed) = removed else { return Ok(false) };
    record_factor_event(tx, EventType::FactorDeactivate, Outcome::Success, &removed, audit, now).await?;
    queue_notice(tx, user_id, NoticeSubject::AuthenticatorRemoved, Some(&removed), notice, now).await?;
    Ok(true)
}

/// The user's TOTP factor with `status` (`ACTIVE`, or `PENDING_ACTIVATION` during a set-up),
/// locked for the rest of the caller's write transaction.
pub(crate) async fn totp_in_tx(tx: &mut crate::Tx, store: &Store, user_id: &UserId, status: &str) -> Result<Option<FactorRecord>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM factors WHERE user_id = $1 AND factor_type = $2 AND status = $3{}",
        store.dialect().for_update()
    ))
    .bind(user_id.as_str())
    .bind(TOTP_FACTOR_TYPE)
    .bind(status)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Activates a pending factor with the step of its first value; the caller decided under the
/// factor's lock.
pub(crate) async fn activate_in_tx(tx: &mut crate::Tx, factor_id: &str, step: u64, now: Millis) -> Result<FactorRecord> {
    let step = i64::try_from(step).map_err(|_| StoreError::Corrupt(format!("TOTP step {step} out of range")))?;
    sqlx::query_as(&format!(
        "UPDATE factors SET status = 'ACTIVE', last_used_step = $1, last_updated_at = $2 \
         WHERE id = $3 AND status = 'PENDING_ACTIVATION' RETURNING {COLUMNS}"
    ))
    .bind(step)
    .bind(now)
    .bind(factor_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| StoreError::Corrupt(format!("factor {factor_id} was activated twice under its lock")))
}

/// Records `step` as the factor's newest accepted step. The caller decided under the factor's
/// lock that it is newer; the condition stays in the statement all the same.
pub(crate) async fn mark_step_used(tx: &mut crate::Tx, factor_id: &str, step: u64, now: Millis) -> Result<()> {
    let step = i64::try_from(step).map_err(|_| StoreError::Corrupt(format!("TOTP step {step} out of range")))?;
    let updated = sqlx::query(
        "UPDATE factors SET last_used_step = $1, last_updated_at = $2 WHERE id = $3 AND (last_used_step IS NULL OR last_used_step < $1)",
    )
    .bind(step)
    .bind(now)
    .bind(factor_id)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() != 1 {
        return Err(StoreError::Corrupt(format!("factor {factor_id} accepted step {step} twice under its lock")));
    }
    Ok(())
}

/// Removes every factor of the user enrolled at or after `since` (a confirmed "Not you?"
/// report), logging each removal with the account as the actor. No notice: the owner is the
/// one who asked.
pub(crate) async fn remove_factors_enrolled_since(
    tx: &mut crate::Tx,
    user_id: &UserId,
    since: Millis,
    context: &crate::EventContext,
    now: Millis,
) -> Result<Vec<FactorRecord>> {
    let removed: Vec<FactorRecord> =
        sqlx::query_as(&format!("DELETE FROM factors WHERE user_id = $1 AND created_at >= $2 RETURNING {COLUMNS}"))
            .bind(user_id.as_str())
            .bind(since)
            .fetch_all(&mut **tx)
            .await?;
    let audit = Audit { actor: Party::user_id(user_id), context };
    for factor in &removed {
        record_factor_event(tx, EventType::FactorDeactivate, Outcome::Success, factor, &audit, now).await?;
    }
    Ok(removed)
}

pub(crate) async fn record_factor_event(
    tx: &mut crate::Tx,
    event_type: EventType,
    outcome: Outcome,
    factor: &FactorRecord,
    audit: &Audit<'_>,
    now: Millis,
) -> Result<()> {
    let mut event = SecurityEvent::new(event_type, outcome, audit.actor.clone())
        .target(Party::user_id(&UserId::from_trusted(factor.user_id.clone())))
        .detail("factorId", factor.id.clone())
        .detail("factorType", factor.factor_type.clone());
    if event.outcome != Outcome::Success {
        event = event.warn();
    }
    crate::system_log::record(tx, &event, audit.context, now).await
}

/// The ids of the user's active passkeys, locked for the rest of the caller's write transaction.
pub(crate) async fn passkey_ids_in_tx(tx: &mut crate::Tx, store: &Store, user_id: &UserId) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT id FROM factors WHERE user_id = $1 AND factor_type = $2 AND status = 'ACTIVE'{}",
        store.dialect().for_update()
    ))
    .bind(user_id.as_str())
    .bind(WEBAUTHN_FACTOR_TYPE)
    .fetch_all(&mut **tx)
    .await?)
}

/// Whether a credential id is registered already, to any account.
pub(crate) async fn credential_taken_in_tx(tx: &mut crate::Tx, credential_id: &str) -> Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM factors WHERE credential_id = $1").bind(credential_id).fetch_one(&mut **tx).await?;
    Ok(n > 0)
}

/// Adds an active passkey; the caller decided under lock that its credential id is new (the
/// unique index refuses a duplicate all the same).
pub(crate) async fn add_passkey_in_tx(
    tx: &mut crate::Tx,
    user_id: &UserId,
    factor_id: &str,
    passkey: &latchkey_domain::webauthn::NewPasskey,
    now: Millis,
) -> Result<FactorRecord> {
    Ok(sqlx::query_as(&format!(
        "INSERT INTO factors (id, user_id, factor_type, provider, status, secret_sealed, credential_id, credential, created_at, \
         last_updated_at) VALUES ($1, $2, $3, $4, 'ACTIVE', '', $5, $6, $7, $7) RETURNING {COLUMNS}"
    ))
    .bind(factor_id)
    .bind(user_id.as_str())
    .bind(WEBAUTHN_FACTOR_TYPE)
    .bind(WEBAUTHN_PROVIDER)
    .bind(&passkey.credential_id)
    .bind(&passkey.credential)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?)
}

/// Records a passkey's use, storing its credential back when the assertion moved its signature
/// counter or backup state (webauthn-rs' `AuthenticationResult`).
pub(crate) async fn use_passkey_in_tx(tx: &mut crate::Tx, factor_id: &str, updated: Option<&str>, now: Millis) -> Result<()> {
    sqlx::query("UPDATE factors SET credential = COALESCE($1, credential), last_updated_at = $2 WHERE id = $3 AND status = 'ACTIVE'")
        .bind(updated)
        .bind(now)
        .bind(factor_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
