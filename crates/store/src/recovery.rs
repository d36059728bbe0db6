//! Recovery codes, per-subject failure counters and the recovery-mail log.
//!
//! Each public operation is one write transaction that reads what it decides on under a lock
//! (PostgreSQL row locks; SQLite's immediate transaction) and writes the result together with
//! the outbox row it causes, so a crash leaves all of it or none (security-checklist §3).
use latchkey_domain::interaction::{Step, Subject};
use latchkey_domain::throttle::{MailDecision, MailLimits, SignInThrottle};
use latchkey_domain::{Millis, OtpPolicy, UserId, UserStatus};
use sqlx::Row;

use crate::interactions::{advance, set_interaction_code};
use crate::outbox::{enqueue, enqueue_suppressed, NewMessage};
use crate::{get_i64, get_opt_str, get_str, random_id, Result, Store, Tx};

pub struct NewChallenge<'a> {
    pub interaction_id: &'a str,
    pub expected_version: i64,
    /// `Some` when the request moves the transaction (select → challenge); `None` for a resend.
    pub next_step: Option<&'a Step>,
    pub subject: &'a Subject,
    /// MAC of the code that is mailed, or of a random code nobody knows (decoy).
    pub code_mac: String,
    pub code_lifetime: Millis,
    pub limits: &'a MailLimits,
    /// The email to queue for a real, recoverable account; for an unknown subject a decoy of
    /// the same size, written as a suppressed row so both cost the same (never sent).
    pub message: Option<NewMessage>,
    /// Whether `message` goes to a real account (else it is the decoy, written suppressed).
    pub deliver: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeOutcome {
    /// A new code is live (mailed when the subject is a real account).
    Issued { mailed: bool },
    /// Over the mail limits: nothing sent, the live code (if any) kept.
    Throttled { retry_after: Millis },
    /// The transaction moved meanwhile; nothing was written.
    Stale,
}

/// A submitted code, checked against the transaction's live code.
pub struct CodeCheck<'a> {
    pub interaction_id: &'a str,
    pub expected_version: i64,
    pub submitted_mac: &'a str,
    /// The step a right answer moves to; `None` for an unknown subject (never verifiable).
    pub verified_step: Option<&'a Step>,
    pub policy: &'a OtpPolicy,
    /// Queued once when the account starts backing off.
    pub lockout_notice: Option<NewMessage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeAttempt {
    /// The code was right; the transaction moved to the reset step.
    Verified,
    /// Wrong code; counted against the code and the account.
    Wrong,
    /// No live code: expired, used, superseded, or out of attempts.
    Dead,
    /// The account is backing off after too many failures.
    Blocked {
        retry_after: Millis,
    },
    Stale,
}

pub struct ResetCompletion<'a> {
    pub interaction_id: &'a str,
    pub expected_version: i64,
    pub user_id: &'a UserId,
    pub password_hash: &'a str,
    pub interaction_code_digest: &'a str,
    pub interaction_code_expires_at: Millis,
    pub message: Option<NewMessage>,
    /// The session of the browser completing the reset, kept alive; `None` ends every session
    /// of the account (the client's `revokeSessions`).
    pub keep_session_digest: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInGate {
    Open,
    Wait { retry_after: Millis },
}

struct Counters {
    signin_failures: i64,
    signin_blocked_until: Millis,
    otp_failures: i64,
    otp_blocked_until: Millis,
    otp_notice_sent: bool,
}

impl Store {
    /// Issues a recovery code for a transaction, within the subject's mail limits.
    pub async fn issue_recovery_code(&self, req: NewChallenge<'_>, now: Millis) -> Result<ChallengeOutcome> {
        let mut tx = self.write_tx().await?;
        // Serialises concurrent requests for one subject before the limit is read.
        lock_counters(&mut tx, self, &req.subject.key).await?;
        let sent: Vec<Millis> = sqlx::query("SELECT sent_at FROM recovery_mail_log WHERE subject_key = $1 AND sent_at > $2")
            .bind(&req.subject.key)
            .bind(now - latchkey_domain::DAY)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| get_i64(row, "sent_at"))
            .collect::<Result<_>>()?;
        let decision = req.limits.decide(&sent, now);
        if let Some(step) = req.next_step {
            if !advance(&mut tx, req.interaction_id, req.expected_version, step).await? {
                return Ok(ChallengeOutcome::Stale);
            }
        }
        let outcome = match decision {
            MailDecision::Send => {
                supersede_codes(&mut tx, &req.subject.key).await?;
                insert_code(&mut tx, req.interaction_id, req.subject, &req.code_mac, now, now + req.code_lifetime).await?;
                sqlx::query("INSERT INTO recovery_mail_log (subject_key, sent_at) VALUES ($1, $2)")
                    .bind(&req.subject.key)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let mailed = match req.message {
                    Some(message) if req.deliver && req.subject.user_id.is_some() => {
                        enqueue(&mut tx, &message, now).await?;
                        true
                    }
                    Some(decoy) => {
                        enqueue_suppressed(&mut tx, &decoy, now).await?;
                        false
                    }
                    None => false,
                };
                ChallengeOutcome::Issued { mailed }
            }
            MailDecision::Refuse { retry_after } => {
                // A first challenge over the limit still needs a code row so that answers are
                // evaluated the same way; it gets one nobody knows. The account's live code in
                // another transaction is left alone, so flooding cannot revoke it.
                if req.next_step.is_some() {
                    insert_code(&mut tx, req.interaction_id, req.subject, &req.code_mac, now, now + req.code_lifetime).await?;
                }
                ChallengeOutcome::Throttled { retry_after }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Checks a submitted code MAC against the transaction's live code, atomically.
    pub async fn attempt_recovery_code(&self, check: CodeCheck<'_>, now: Millis) -> Result<CodeAttempt> {
        let CodeCheck { interaction_id, expected_version, submitted_mac, verified_step, policy, lockout_notice } = check;
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(&format!(
            "SELECT id, subject_key, user_id, code_mac, attempts, expires_at FROM recovery_codes \
             WHERE interaction_id = $1 AND superseded = 0 AND consumed_at IS NULL \
             ORDER BY created_at DESC LIMIT 1{}",
            self.dialect().for_update()
        ))
        .bind(interaction_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(CodeAttempt::Dead);
        };
        let code_id = get_str(&row, "id")?;
        let subject_key = get_str(&row, "subject_key")?;
        let has_user = get_opt_str(&row, "user_id")?.is_some();
        let counters = lock_counters(&mut tx, self, &subject_key).await?;
        if counters.otp_failures >= policy.account_ceiling {
            return Ok(CodeAttempt::Blocked { retry_after: policy.account_backoff_max });
        }
        if counters.otp_blocked_until > now {
            return Ok(CodeAttempt::Blocked { retry_after: counters.otp_blocked_until - now });
        }
        if get_i64(&row, "expires_at")? <= now || get_i64(&row, "attempts")? >= policy.max_attempts_per_code {
            return Ok(CodeAttempt::Dead);
        }
        let matches = latchkey_domain::secret::constant_time_eq(&get_str(&row, "code_mac")?, submitted_mac);
        if matches && has_user {
            let Some(step) = verified_step else {
                return Ok(CodeAttempt::Dead);
            };
            if !advance(&mut tx, interaction_id, expected_version, step).await? {
                return Ok(CodeAttempt::Stale);
            }
            sqlx::query("UPDATE recovery_codes SET consumed_at = $1 WHERE id = $2").bind(now).bind(&code_id).execute(&mut *tx).await?;
            sqlx::query("UPDATE subject_counters SET otp_failures = 0, otp_blocked_until = 0, otp_notice_sent = 0 WHERE subject_key = $1")
                .bind(&subject_key)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(CodeAttempt::Verified);
        }
        let failures = counters.otp_failures + 1;
        let backoff = policy.account_backoff(failures);
        let notice_due = backoff > 0 && !counters.otp_notice_sent;
        sqlx::query("UPDATE recovery_codes SET attempts = attempts + 1 WHERE id = $1").bind(&code_id).execute(&mut *tx).await?;
        sqlx::query("UPDATE subject_counters SET otp_failures = $1, otp_blocked_until = $2, otp_notice_sent = $3 WHERE subject_key = $4")
            .bind(failures)
            .bind(if backoff > 0 { now + backoff } else { 0 })
            .bind(i64::from(counters.otp_notice_sent || notice_due))
            .bind(&subject_key)
            .execute(&mut *tx)
            .await?;
        if notice_due {
            if let Some(message) = lockout_notice.filter(|_| has_user) {
                enqueue(&mut tx, &message, now).await?;
            }
        }
        tx.commit().await?;
        Ok(CodeAttempt::Wrong)
    }

    /// Sets the new password and finishes the transaction in one commit: the hash, the status
    /// (a locked-out account is unlocked by a completed recovery, RL-2), cleared counters, every
    /// other live code and recovery transaction of the account ended (OTP-5), the interaction
    /// code, the PasswordChanged notice, and the account's other sessions and every refresh
    /// token ended (SES-1).
    pub async fn complete_reset(&self, req: ResetCompletion<'_>, now: Millis) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let step = Step::Success { user_id: req.user_id.clone() };
        if !advance(&mut tx, req.interaction_id, req.expected_version, &step).await? {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE users SET password_hash = $1, password_changed_at = $2, last_updated_at = $2, last_login_at = $2, \
             status = CASE WHEN status = $3 THEN $4 ELSE status END WHERE id = $5",
        )
        .bind(req.password_hash)
        .bind(now)
        .bind(UserStatus::LockedOut.as_str())
        .bind(UserStatus::Active.as_str())
        .bind(req.user_id.as_str())
        .execute(&mut *tx)
        .await?;
        let key = Subject::new("", Some(req.user_id.clone())).key;
        clear_counters(&mut tx, &key).await?;
        invalidate_account_recovery(&mut tx, req.user_id, now, Some(req.interaction_id)).await?;
        set_interaction_code(&mut tx, req.interaction_id, req.interaction_code_digest, req.interaction_code_expires_at, now).await?;
        // In the same commit as the new password, so a crash can never leave a session or
        // refresh token minted with the old credential alive (security-checklist SES-1, §3.10).
        crate::sessions::end_user_sessions(&mut tx, req.user_id, req.keep_session_digest, now).await?;
        crate::refresh_tokens::revoke_user_refresh_tokens(&mut tx, req.user_id, now).await?;
        if let Some(message) = &req.message {
            enqueue(&mut tx, message, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Whether a password sign-in for this subject may be evaluated now.
    pub async fn sign_in_gate(&self, subject_key: &str, now: Millis) -> Result<SignInGate> {
        let row = sqlx::query("SELECT signin_blocked_until FROM subject_counters WHERE subject_key = $1")
            .bind(subject_key)
            .fetch_optional(self.pool())
            .await?;
        let until = row.map(|r| get_i64(&r, "signin_blocked_until")).transpose()?.unwrap_or(0);
        Ok(if until > now { SignInGate::Wait { retry_after: until - now } } else { SignInGate::Open })
    }

    /// Counts a failed sign-in and returns the new consecutive count.
    pub async fn record_sign_in_failure(&self, subject_key: &str, throttle: &SignInThrottle, now: Millis) -> Result<i64> {
        let mut tx = self.write_tx().await?;
        let counters = lock_counters(&mut tx, self, subject_key).await?;
        let failures = counters.signin_failures + 1;
        let delay = throttle.delay_after(failures);
        sqlx::query("UPDATE subject_counters SET signin_failures = $1, signin_blocked_until = $2 WHERE subject_key = $3")
            .bind(failures)
            .bind(if delay > 0 { now + delay } else { counters.signin_blocked_until })
            .bind(subject_key)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(failures)
    }

    pub async fn record_sign_in_success(&self, subject_key: &str) -> Result<()> {
        sqlx::query("UPDATE subject_counters SET signin_failures = 0, signin_blocked_until = 0 WHERE subject_key = $1")
            .bind(subject_key)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Queues a message outside any other state change (notices, admin mail).
    pub async fn enqueue_message(&self, message: &NewMessage, now: Millis) -> Result<()> {
        let mut tx = self.write_tx().await?;
        enqueue(&mut tx, message, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Test and audit helper: the recovery codes stored for a transaction as (mac, attempts).
    pub async fn recovery_codes_of(&self, interaction_id: &str) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT code_mac, attempts FROM recovery_codes WHERE interaction_id = $1 ORDER BY created_at")
            .bind(interaction_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok((get_str(r, "code_mac")?, get_i64(r, "attempts")?))).collect()
    }

    /// The subject's consecutive OTP failures (for audits and tests).
    pub async fn otp_failures(&self, subject_key: &str) -> Result<i64> {
        let row = sqlx::query("SELECT otp_failures FROM subject_counters WHERE subject_key = $1")
            .bind(subject_key)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| get_i64(&r, "otp_failures")).transpose()?.unwrap_or(0))
    }
}

/// Creates the subject's counter row if needed and locks it for this transaction.
async fn lock_counters(tx: &mut Tx, store: &Store, subject_key: &str) -> Result<Counters> {
    sqlx::query(
        "INSERT INTO subject_counters (subject_key, signin_failures, signin_blocked_until, otp_failures, otp_blocked_until, otp_notice_sent) \
         VALUES ($1, 0, 0, 0, 0, 0) ON CONFLICT (subject_key) DO NOTHING",
    )
    .bind(subject_key)
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query(&format!(
        "SELECT signin_failures, signin_blocked_until, otp_failures, otp_blocked_until, otp_notice_sent \
         FROM subject_counters WHERE subject_key = $1{}",
        store.dialect().for_update()
    ))
    .bind(subject_key)
    .fetch_one(&mut **tx)
    .await?;
    Ok(Counters {
        signin_failures: row.try_get::<i64, _>("signin_failures")?,
        signin_blocked_until: row.try_get::<i64, _>("signin_blocked_until")?,
        otp_failures: row.try_get::<i64, _>("otp_failures")?,
        otp_blocked_until: row.try_get::<i64, _>("otp_blocked_until")?,
        otp_notice_sent: row.try_get::<i64, _>("otp_notice_sent")? != 0,
    })
}

pub(crate) async fn clear_counters(tx: &mut Tx, subject_key: &str) -> Result<()> {
    sqlx::query(
        "UPDATE subject_counters SET signin_failures = 0, signin_blocked_until = 0, otp_failures = 0, \
         otp_blocked_until = 0, otp_notice_sent = 0 WHERE subject_key = $1",
    )
    .bind(subject_key)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn supersede_codes(tx: &mut Tx, subject_key: &str) -> Result<()> {
    sqlx::query("UPDATE recovery_codes SET superseded = 1 WHERE subject_key = $1 AND consumed_at IS NULL AND superseded = 0")
        .bind(subject_key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

async fn insert_code(tx: &mut Tx, interaction_id: &str, subject: &Subject, mac: &str, now: Millis, expires_at: Millis) -> Result<()> {
    sqlx::query(
        "INSERT INTO recovery_codes (id, interaction_id, subject_key, user_id, code_mac, attempts, superseded, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, 0, 0, $6, $7)",
    )
    .bind(random_id())
    .bind(interaction_id)
    .bind(&subject.key)
    .bind(subject.user_id.as_ref().map(|u| u.as_str().to_owned()))
    .bind(mac)
    .bind(now)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ends every live code and every other recovery transaction of an account: after a password
/// change, an email change, a suspension or a deletion (security-checklist OTP-5).
pub(crate) async fn invalidate_account_recovery(
    tx: &mut Tx,
    user_id: &UserId,
    now: Millis,
    except_interaction: Option<&str>,
) -> Result<()> {
    supersede_codes(tx, &Subject::new("", Some(user_id.clone())).key).await?;
    sqlx::query(
        "UPDATE interactions SET expires_at = $1 WHERE user_id = $2 AND id <> $3 AND expires_at > $1 \
         AND step IN ('recovery_select', 'recovery_challenge', 'recovery_reset')",
    )
    .bind(now)
    .bind(user_id.as_str())
    .bind(except_interaction.unwrap_or(""))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
