//! Consecutive-failure counters (`subject_counters`), one row per `CounterKey`: the submitted
//! identifier's row drives every visible limit, the account's row the silent account-wide
//! protections (see `latchkey_domain::interaction::CounterKey`).
use latchkey_domain::interaction::{CounterKey, Subject};
use latchkey_domain::recovery::OtpCounter;
use latchkey_domain::Millis;
use sqlx::Row;

use crate::{Result, Store, Tx};

/// Both rows of a subject, read under lock.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SubjectCounters {
    pub identifier: Counters,
    pub account: Option<Counters>,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counters {
    pub signin_failures: i64,
    pub signin_blocked_until: Millis,
    pub otp: OtpCounter,
}

/// Creates the subject's counter rows if needed and locks them for this transaction. An unknown
/// identifier runs the same two statements with its identifier key twice, so both kinds of
/// subject cost the same (the enumeration bench measures it).
pub(crate) async fn lock(tx: &mut Tx, store: &Store, subject: &Subject) -> Result<SubjectCounters> {
    let (identifier, second) = keys(subject);
    let account = subject.account_key().map(|k| k.storage_key());
    sqlx::query(
        "INSERT INTO subject_counters (subject_key, signin_failures, signin_blocked_until, otp_failures, otp_blocked_until, otp_notice_sent) \
         VALUES ($1, 0, 0, 0, 0, 0), ($2, 0, 0, 0, 0, 0) ON CONFLICT (subject_key) DO NOTHING",
    )
    .bind(&identifier)
    .bind(&second)
    .execute(&mut **tx)
    .await?;
    let rows = sqlx::query(&format!(
        "SELECT subject_key, signin_failures, signin_blocked_until, otp_failures, otp_blocked_until, otp_notice_sent \
         FROM subject_counters WHERE subject_key IN ($1, $2) ORDER BY subject_key{}",
        store.dialect().for_update()
    ))
    .bind(&identifier)
    .bind(&second)
    .fetch_all(&mut **tx)
    .await?;
    let mut counters = SubjectCounters::default();
    for row in rows {
        let read = Counters {
            signin_failures: row.try_get::<i64, _>("signin_failures")?,
            signin_blocked_until: row.try_get::<i64, _>("signin_blocked_until")?,
            otp: OtpCounter {
                failures: row.try_get::<i64, _>("otp_failures")?,
                blocked_until: row.try_get::<i64, _>("otp_blocked_until")?,
                notice_sent: row.try_get::<i64, _>("otp_notice_sent")? != 0,
            },
        };
        let key: String = row.try_get("subject_key")?;
        if key == identifier {
            counters.identifier = read;
        }
        if account.as_deref() == Some(key.as_str()) {
            counters.account = Some(read);
        }
    }
    Ok(counters)
}

/// Writes the identifier's and, for a real account, the account's OTP counter in one
/// statement; an unknown identifier runs the same statement with its key twice, so both kinds
/// of subject cost the same (finding 5: one more statement for real accounts was measurable).
pub(crate) async fn set_otp(tx: &mut Tx, subject: &Subject, identifier: OtpCounter, account: Option<OtpCounter>) -> Result<()> {
    let (first, second) = keys(subject);
    let account = account.unwrap_or(identifier);
    sqlx::query(
        "UPDATE subject_counters SET \
         otp_failures = CASE WHEN subject_key = $1 THEN $3 ELSE $6 END, \
         otp_blocked_until = CASE WHEN subject_key = $1 THEN $4 ELSE $7 END, \
         otp_notice_sent = CASE WHEN subject_key = $1 THEN $5 ELSE $8 END \
         WHERE subject_key IN ($1, $2)",
    )
    .bind(&first)
    .bind(&second)
    .bind(identifier.failures)
    .bind(identifier.blocked_until)
    .bind(i64::from(identifier.notice_sent))
    .bind(account.failures)
    .bind(account.blocked_until)
    .bind(i64::from(account.notice_sent))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The same for the sign-in counters (failures, blocked until).
pub(crate) async fn set_sign_in(tx: &mut Tx, subject: &Subject, identifier: (i64, Millis), account: Option<(i64, Millis)>) -> Result<()> {
    let (first, second) = keys(subject);
    let account = account.unwrap_or(identifier);
    sqlx::query(
        "UPDATE subject_counters SET \
         signin_failures = CASE WHEN subject_key = $1 THEN $3 ELSE $5 END, \
         signin_blocked_until = CASE WHEN subject_key = $1 THEN $4 ELSE $6 END \
         WHERE subject_key IN ($1, $2)",
    )
    .bind(&first)
    .bind(&second)
    .bind(identifier.0)
    .bind(identifier.1)
    .bind(account.0)
    .bind(account.1)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The identifier's key and the account's (the identifier's again for an unknown one).
fn keys(subject: &Subject) -> (String, String) {
    let identifier = subject.identifier_key().storage_key();
    let account = subject.account_key().map(|k| k.storage_key()).unwrap_or_else(|| identifier.clone());
    (identifier, account)
}

/// Clears every counter of the given keys (a completed recovery, an unlock).
pub(crate) async fn clear(tx: &mut Tx, keys: &[String]) -> Result<()> {
    // In key order, as `lock` takes them: a password change clearing the account's key before
    // its identifier's deadlocked with a sign-in holding the identifier's (found by the cluster
    // test of a reset racing old-password sign-ins).
    let mut keys = keys.to_vec();
    keys.sort();
    keys.dedup();
    for key in &keys {
        sqlx::query(
            "UPDATE subject_counters SET signin_failures = 0, signin_blocked_until = 0, otp_failures = 0, \
             otp_blocked_until = 0, otp_notice_sent = 0 WHERE subject_key = $1",
        )
        .bind(key)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The keys of every counter that concerns an account: its own, and those of its login and
/// email as identifiers (cleared together when the account proves itself).
pub(crate) async fn keys_of_account(tx: &mut Tx, user_id: &latchkey_domain::UserId) -> Result<Vec<String>> {
    let mut keys = vec![CounterKey::Account(user_id.clone()).storage_key()];
    if let Some(row) = sqlx::query("SELECT login_canonical, email_canonical FROM users WHERE id = $1")
        .bind(user_id.as_str())
        .fetch_optional(&mut **tx)
        .await?
    {
        for column in ["login_canonical", "email_canonical"] {
            keys.push(CounterKey::Identifier(row.try_get::<String, _>(column)?).storage_key());
        }
    }
    Ok(keys)
}

impl Store {
    /// The OTP failures counted under a key (for audits and tests).
    pub async fn otp_failures(&self, key: &CounterKey) -> Result<i64> {
        let row = sqlx::query("SELECT otp_failures FROM subject_counters WHERE subject_key = $1")
            .bind(key.storage_key())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get::<i64, _>("otp_failures")).transpose()?.unwrap_or(0))
    }
}
