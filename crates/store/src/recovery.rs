//! Recovery codes and the recovery-mail log: load under lock, let the domain decide, apply.
//!
//! Each public operation is one write transaction. It reads what the decision needs under a
//! lock (PostgreSQL row locks; SQLite's immediate transaction), calls the pure function in
//! `latchkey_domain::recovery`, and writes the effects together with the outbox rows they cause,
//! so a crash leaves all of it or none (security-checklist §3).
use latchkey_domain::audit::{EventType, Outcome, Party, SecurityEvent};
use latchkey_domain::containment::NoticeSubject;
use latchkey_domain::interaction::{FactorKind, Step, Subject};
use latchkey_domain::policy::RecoveryStepUp;
use latchkey_domain::recovery::{
    decide_answer, decide_factor_answer, decide_mail, mail_event, AnswerDecision, AnswerEffect, AnswerOutcome, AnswerSnapshot,
    FactorAnswerSnapshot, FactorProof, LiveCode, MailHistory, StepUpFacts, TotpFactorState,
};
use latchkey_domain::signin::{self, Attempt, SignInCounter};
use latchkey_domain::throttle::{MailDecision, MailLimits, SignInThrottle};
use latchkey_domain::{Millis, OtpPolicy, UserId, UserStatus};
use sqlx::Row;

use crate::interactions::{advance, lock_step, read_step, set_interaction_code};
use crate::outbox::{enqueue, enqueue_suppressed, NewMessage};
use crate::password_change::PasswordChange;
use crate::SecurityNotice;
use crate::{get_i64, get_opt_str, get_str, random_id, EventContext, InteractionRecord, Result, Store, StoreError, Tx, UserRecord};

pub struct NewChallenge<'a> {
    pub interaction_id: &'a str,
    /// The version the caller read; the step must not have moved since (the code and the email
    /// were composed for that step's subject).
    pub expected_version: i64,
    /// The step after this request: the challenge for `select → challenge`, or the current
    /// challenge itself for a resend.
    pub next_step: &'a Step,
    /// `true` for `select → challenge`, `false` for a resend.
    pub is_first: bool,
    pub subject: &'a Subject,
    /// MAC of the code that is mailed (bound to transaction, purpose and subject).
    pub code_mac: String,
    pub code_lifetime: Millis,
    pub limits: &'a MailLimits,
    /// Composes the ForgotPassword email for the account read inside the transaction, or for
    /// the decoy account (`None`) when the identifier names none; a decoy or a refused email is
    /// written as a suppressed row so every path writes the same (security-checklist §4).
    pub compose: NoticeComposer<'a>,
    /// Where the request came from, for the System Log.
    pub context: &'a EventContext,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeOutcome {
    /// A new code is live (mailed when the subject is a real account).
    Issued { mailed: bool },
    /// Over the mail limits: nothing sent; a first challenge gets a code nobody knows.
    Throttled { retry_after: Millis },
}

/// What a challenge or resend did, and the transaction as it committed.
#[derive(Debug, Clone)]
pub struct IssuedChallenge {
    pub outcome: ChallengeOutcome,
    pub record: InteractionRecord,
}

/// A submitted code, MAC'd by the caller for this transaction and the step's subject.
pub struct CodeCheck<'a> {
    pub interaction_id: &'a str,
    /// MAC of the submitted code for each subject it could be bound to is not needed: the
    /// caller MACs with the subject of the step it read, and the store re-reads the step under
    /// lock and refuses if the subject changed.
    pub submitted_mac: &'a str,
    pub subject_key: &'a str,
    pub policy: &'a OtpPolicy,
    pub grant_lifetime: Millis,
    pub context: &'a EventContext,
}

/// A second-factor answer at a recovery's step-up, a sign-in's second step or a set-up during
/// sign-in. The caller opened the TOTP factor's secret and found which step the value matches,
/// or ran webauthn-rs against the transaction's ceremony (`proof`); replay and every limit are
/// decided here, under lock.
pub struct FactorCheck<'a> {
    pub interaction_id: &'a str,
    /// The TOTP factor the caller checked the value against; a different factor under lock
    /// (removed and enrolled again meanwhile) makes the value count as wrong.
    pub factor_id: &'a str,
    pub proof: FactorProof,
    /// The stored ceremony a passkey's answer was verified against: it counts only while it is
    /// still the transaction's (every move of the step ends it).
    pub ceremony: Option<&'a str>,
    pub policy: &'a OtpPolicy,
    pub grant_lifetime: Millis,
    pub context: &'a EventContext,
    /// The interaction code to issue (digest, expiry) if this answer completes a sign-in.
    pub interaction_code: (&'a str, Millis),
    /// The AuthenticatorEnrolled notice, when the answer is the first value of a TOTP app set
    /// up during sign-in (queued only if it activates the factor).
    pub enrolled_notice: Option<&'a SecurityNotice>,
}

/// The back-off notice is composed only when the decision asks for it, with the account it is
/// for (`None`: the decoy, for an unknown identifier).
pub type NoticeComposer<'a> = &'a (dyn Fn(Option<&UserRecord>) -> std::result::Result<NewMessage, String> + Send + Sync);

pub struct ResetCompletion<'a> {
    pub interaction_id: &'a str,
    pub expected_version: i64,
    pub change: PasswordChange<'a>,
    pub interaction_code_digest: &'a str,
    pub interaction_code_expires_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInGate {
    Open,
    Wait { retry_after: Millis },
}

impl Store {
    /// Issues a recovery code for a transaction, within the identifier's and the account's
    /// mail limits; the previous live code of the account, of the identifier and of this
    /// transaction ends (one live code, OTP-5).
    ///
    /// `None`: the transaction moved since `expected_version`; nothing was written.
    pub async fn issue_recovery_code(&self, req: NewChallenge<'_>, now: Millis) -> Result<Option<IssuedChallenge>> {
        let mut tx = self.write_tx().await?;
        // Serialises concurrent requests for one subject before the limits are read.
        crate::counters::lock(&mut tx, self, req.subject).await?;
        let Some(record) = advance(&mut tx, req.interaction_id, req.expected_version, req.next_step).await? else {
            return Ok(None);
        };
        // The account is read here, under the same lock; an unknown identifier reads the decoy
        // id, which names nobody, so both cost the same statement.
        let account = crate::users::user_in_tx(&mut tx, req.subject.user_id.as_ref().unwrap_or(&UserId::decoy())).await?;
        let deliver = req.subject.user_id.is_some() && account.is_some();
        let message = (req.compose)(account.as_ref()).map_err(StoreError::Compose)?;
        let identifier_key = req.subject.identifier_key().storage_key();
        let user_id = req.subject.user_id.as_ref().map(UserId::as_str);
        let mut history = MailHistory::default();
        for row in sqlx::query(
            "SELECT subject_key, user_id, sent_at FROM recovery_mail_log WHERE (subject_key = $1 OR user_id = $2) AND sent_at > $3",
        )
        .bind(&identifier_key)
        .bind(user_id)
        .bind(now - latchkey_domain::DAY)
        .fetch_all(&mut *tx)
        .await?
        {
            let sent_at = get_i64(&row, "sent_at")?;
            if get_str(&row, "subject_key")? == identifier_key {
                history.identifier.push(sent_at);
            }
            if user_id.is_some() && get_opt_str(&row, "user_id")?.as_deref() == user_id {
                history.account.push(sent_at);
            }
        }
        let decision = decide_mail(&history, req.limits, now);
        crate::system_log::record(&mut tx, &mail_event(req.subject, &decision, deliver), req.context, now).await?;
        let outcome = match decision {
            MailDecision::Send => {
                end_live_codes(&mut tx, req.subject, req.interaction_id).await?;
                insert_code(&mut tx, req.interaction_id, req.subject, &req.code_mac, now, now + req.code_lifetime).await?;
                sqlx::query("INSERT INTO recovery_mail_log (subject_key, user_id, sent_at) VALUES ($1, $2, $3)")
                    .bind(&identifier_key)
                    .bind(user_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let mailed = deliver;
                if mailed {
                    enqueue(&mut tx, &message, now).await?;
                } else {
                    enqueue_suppressed(&mut tx, &message, now).await?;
                }
                ChallengeOutcome::Issued { mailed }
            }
            MailDecision::Refuse { retry_after } => {
                // A first challenge over the limit still needs a code row so that answers are
                // evaluated the same way; its stored value matches no code (the code was not
                // mailed, so none may open anything). The account's live code elsewhere is
                // left alone, so flooding cannot revoke it.
                if req.is_first {
                    let unsent = latchkey_domain::otp::unsent_code_mac();
                    insert_code(&mut tx, req.interaction_id, req.subject, &unsent, now, now + req.code_lifetime).await?;
                }
                enqueue_suppressed(&mut tx, &message, now).await?;
                ChallengeOutcome::Throttled { retry_after }
            }
        };
        tx.commit().await?;
        Ok(Some(IssuedChallenge { outcome, record }))
    }

    /// Answers a submitted code: loads the step, its live code and the counters under lock,
    /// lets `decide_answer` decide, applies the effects and commits. Returns the outcome and
    /// the transaction as it committed, or `None` when the transaction expired meanwhile.
    pub async fn attempt_recovery_code(
        &self,
        check: CodeCheck<'_>,
        notice: NoticeComposer<'_>,
        now: Millis,
    ) -> Result<Option<(AnswerOutcome, InteractionRecord)>> {
        let mut tx = self.write_tx().await?;
        // The store's lock order: the subject's counters, then the transaction's row, then its
        // code, as `issue_recovery_code` takes them. (Row first, counters last deadlocked an
        // answer racing a resend of the same transaction on PostgreSQL: a 500, §3 row 5.) An
        // unlocked read names the subject; the step is checked again under its own lock.
        let Some(seen) = read_step(&mut tx, check.interaction_id, now).await? else {
            return Ok(None);
        };
        let Step::RecoveryChallenge { subject } = &seen.step else {
            return Ok(Some((AnswerOutcome::NotAvailable, seen)));
        };
        let subject = subject.clone();
        if subject.identifier_key().storage_key() != check.subject_key {
            // The step moved to another subject after the caller read it: the MAC was computed
            // for the old one. Nothing is decided on it.
            return Ok(Some((AnswerOutcome::NotAvailable, seen)));
        }
        let counters = crate::counters::lock(&mut tx, self, &subject).await?;
        let Some(record) = lock_step(&mut tx, self, check.interaction_id, now).await? else {
            return Ok(None);
        };
        let step = record.step.clone();
        if !matches!(&step, Step::RecoveryChallenge { subject: locked } if *locked == subject) {
            // The step moved between the read and the lock (a right answer, a cancel).
            return Ok(Some((AnswerOutcome::NotAvailable, record)));
        }
        // Only a code issued in this transaction for this step's subject is ever considered.
        let row = sqlx::query(&format!(
            "SELECT id, user_id, code_mac, attempts, expires_at FROM recovery_codes \
             WHERE interaction_id = $1 AND subject_key = $2 AND superseded = 0 AND consumed_at IS NULL \
             ORDER BY created_at DESC LIMIT 1{}",
            self.dialect().for_update()
        ))
        .bind(check.interaction_id)
        .bind(check.subject_key)
        .fetch_optional(&mut *tx)
        .await?;
        let (code_id, code) = match row {
            Some(row) => (
                Some(get_str(&row, "id")?),
                Some(LiveCode {
                    user_id: get_opt_str(&row, "user_id")?.map(UserId::from_trusted),
                    mac: get_str(&row, "code_mac")?,
                    attempts: get_i64(&row, "attempts")?,
                    expires_at: get_i64(&row, "expires_at")?,
                }),
            ),
            None => (None, None),
        };
        let step_up = step_up_facts(&mut tx, subject.user_id.as_ref()).await?;
        let snapshot = AnswerSnapshot {
            step: step.clone(),
            code,
            identifier: counters.identifier.otp,
            account: counters.account.map(|c| c.otp),
            step_up,
        };
        let decision = decide_answer(&snapshot, check.submitted_mac, check.policy, check.grant_lifetime, now);
        let outcome = decision.outcome;
        let next = apply_answer(&mut tx, decision, (record, &subject, code_id.as_deref()), (notice, check.context), None, now).await?;
        tx.commit().await?;
        Ok(Some((outcome, next)))
    }

    /// Answers a second-factor value (a recovery's step-up, or a sign-in's second step) the
    /// same way as a code: the step, the account's active TOTP factor and the counters are read
    /// under lock, `decide_factor_answer` decides, the effects are applied in the same
    /// transaction.
    pub async fn attempt_factor(
        &self,
        check: FactorCheck<'_>,
        notice: NoticeComposer<'_>,
        now: Millis,
    ) -> Result<Option<(AnswerOutcome, InteractionRecord)>> {
        let mut tx = self.write_tx().await?;
        // Any second-factor step is taken here; whether its window is still open is the decision's.
        let factor_step = |step: &Step| match (step.answered_factor(), step.factor_challenged(Millis::MIN)) {
            (Some(kind), Ok(subject)) => Some((kind, subject.clone())),
            _ => None,
        };
        // The store's lock order, as in `attempt_recovery_code`: the subject's counters (named by
        // an unlocked read), then the transaction's row, checked to name the same subject, then
        // the factor.
        let Some(seen) = read_step(&mut tx, check.interaction_id, now).await? else {
            return Ok(None);
        };
        let Some((_, subject)) = factor_step(&seen.step) else {
            return Ok(Some((AnswerOutcome::NotAvailable, seen)));
        };
        let counters = crate::counters::lock(&mut tx, self, &subject).await?;
        let Some(record) = lock_step(&mut tx, self, check.interaction_id, now).await? else {
            return Ok(None);
        };
        let kind = match factor_step(&record.step) {
            Some((kind, locked)) if locked == subject => kind,
            _ => return Ok(Some((AnswerOutcome::NotAvailable, record))),
        };
        let user_id = subject.user_id.clone().unwrap_or_else(UserId::decoy);
        let mut snapshot = FactorAnswerSnapshot {
            step: record.step.clone(),
            factor: None,
            passkeys: vec![],
            ceremony_live: false,
            credential_taken: false,
            identifier: counters.identifier.otp,
            account: counters.account.map(|c| c.otp),
        };
        let mut proof = check.proof;
        match kind {
            FactorKind::Totp => {
                // A set-up answers for the pending factor it created; every other step for the active one.
                let status = if matches!(record.step, Step::SignInEnrollTotp { .. }) { "PENDING_ACTIVATION" } else { "ACTIVE" };
                let factor = crate::factors::totp_in_tx(&mut tx, self, &user_id, status).await?;
                snapshot.factor =
                    factor.map(|f| TotpFactorState { last_used_step: f.last_used_step.and_then(|s| u64::try_from(s).ok()), id: f.id });
                // A factor other than the one the value was checked against matches nothing.
                if let FactorProof::Totp(matched) = &mut proof {
                    if snapshot.factor.as_ref().is_none_or(|f| f.id != check.factor_id) {
                        *matched = None;
                    }
                }
            }
            FactorKind::Webauthn => {
                snapshot.passkeys = crate::factors::passkey_ids_in_tx(&mut tx, self, &user_id).await?;
                // The ceremony the answer was checked against is still this step's: the row is
                // locked, and every move of the step (a racing answer's too) cleared it.
                snapshot.ceremony_live = check.ceremony.is_some() && record.webauthn_ceremony.as_deref() == check.ceremony;
                if let FactorProof::NewPasskey(Some((_, passkey))) = &proof {
                    snapshot.credential_taken = crate::factors::credential_taken_in_tx(&mut tx, &passkey.credential_id).await?;
                }
            }
        }
        let decision = decide_factor_answer(&snapshot, proof, check.policy, check.grant_lifetime, now);
        let outcome = decision.outcome;
        let factor_context = FactorContext { interaction_code: check.interaction_code, enrolled_notice: check.enrolled_notice };
        let next = apply_answer(&mut tx, decision, (record, &subject, None), (notice, check.context), Some(factor_context), now).await?;
        tx.commit().await?;
        Ok(Some((outcome, next)))
    }

    /// Sets the new password and finishes the transaction in one commit, through the one
    /// password pipeline (`password_change::apply`), with the interaction code to redeem.
    /// Returns the finished transaction, or `None` when it had moved (nothing changed).
    pub async fn complete_reset(&self, req: ResetCompletion<'_>, now: Millis) -> Result<Option<InteractionRecord>> {
        let mut tx = self.write_tx().await?;
        let step = Step::Success { user_id: req.change.user_id.clone() };
        if advance(&mut tx, req.interaction_id, req.expected_version, &step).await?.is_none() {
            return Ok(None);
        }
        set_interaction_code(&mut tx, req.interaction_id, req.interaction_code_digest, req.interaction_code_expires_at, now).await?;
        crate::interactions::set_last_login(&mut tx, req.change.user_id, now).await?;
        let user_id = req.change.user_id.clone();
        crate::password_change::apply(&mut tx, req.change, now).await?;
        // The resetting browser signs in with the new password: its code is for that one.
        let credential = crate::interactions::current_credential(&mut tx, &user_id).await?;
        let record = crate::interactions::set_credential(&mut tx, req.interaction_id, credential).await?;
        tx.commit().await?;
        Ok(Some(record))
    }

    /// Starts a password sign-in attempt: under lock, `signin::decide_attempt` says whether the
    /// identifier may be evaluated now and, if so, the attempt is counted as a failure at once
    /// (cleared again by `record_sign_in_success`), so parallel attempts cannot slip past the
    /// throttle between a check and a later count.
    pub async fn begin_sign_in(&self, subject: &Subject, throttle: &SignInThrottle, now: Millis) -> Result<SignInGate> {
        let mut tx = self.write_tx().await?;
        let counters = crate::counters::lock(&mut tx, self, subject).await?;
        let counter = |c: crate::counters::Counters| SignInCounter { failures: c.signin_failures, blocked_until: c.signin_blocked_until };
        let decision = signin::decide_attempt(counter(counters.identifier), counters.account.map(counter), throttle, now);
        let gate = match decision {
            Attempt::Wait { retry_after } => SignInGate::Wait { retry_after },
            Attempt::Proceed { identifier, account } => {
                let pair = |c: SignInCounter| (c.failures, c.blocked_until);
                crate::counters::set_sign_in(&mut tx, subject, pair(identifier), account.map(pair)).await?;
                SignInGate::Open
            }
        };
        tx.commit().await?;
        Ok(gate)
    }

    /// After a failed attempt (already counted by `begin_sign_in`): locks the account when it
    /// reached the ceiling (`signin::decide_lockout`). An unknown identifier reads the decoy
    /// account, so both cost the same statements. Returns whether the account was locked.
    /// The failure (and the lock) are logged in the same transaction.
    pub async fn finish_failed_sign_in(&self, subject: &Subject, lockout_after: i64, context: &EventContext, now: Millis) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let counters = crate::counters::lock(&mut tx, self, subject).await?;
        let id = subject.user_id.clone().unwrap_or_else(UserId::decoy);
        let status = sqlx::query("SELECT status FROM users WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| get_str(&r, "status"))
            .transpose()?
            .and_then(|s| UserStatus::parse(&s));
        let account = match (counters.account, status, &subject.user_id) {
            (Some(c), Some(status), Some(_)) => {
                Some((SignInCounter { failures: c.signin_failures, blocked_until: c.signin_blocked_until }, status))
            }
            _ => None,
        };
        let lock = signin::decide_lockout(account, lockout_after);
        if lock {
            sqlx::query("UPDATE users SET status = $1, status_changed_at = $2, last_updated_at = $2 WHERE id = $3")
                .bind(UserStatus::LockedOut.as_str())
                .bind(now)
                .bind(id.as_str())
                .execute(&mut *tx)
                .await?;
        }
        let actor = Party::subject(subject);
        let failed = SecurityEvent::new(EventType::SessionStart, Outcome::Failure("INVALID_CREDENTIALS"), actor.clone()).warn();
        crate::system_log::record(&mut tx, &failed, context, now).await?;
        if lock {
            let locked = SecurityEvent::new(EventType::AccountLock, Outcome::Success, actor.clone()).target(actor).warn();
            crate::system_log::record(&mut tx, &locked, context, now).await?;
        }
        tx.commit().await?;
        Ok(lock)
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

    /// Test and audit helper: the most attempts any stored code has taken.
    pub async fn max_code_attempts(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COALESCE(MAX(attempts), 0) AS n FROM recovery_codes").fetch_one(self.pool()).await?;
        Ok(row.try_get::<i64, _>("n")?)
    }

    /// Test and audit helper: how many codes are live (unconsumed, not superseded, unexpired).
    pub async fn live_code_count(&self, now: Millis) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM recovery_codes WHERE consumed_at IS NULL AND superseded = 0 AND expires_at > $1")
            .bind(now)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<i64, _>("n")?)
    }
}

/// What a right code leads to: the password policy's step-up, and whether the account has an
/// active second factor. One statement, also for an unknown identifier (the decoy id), so both
/// cost the same.
async fn step_up_facts(tx: &mut Tx, user_id: Option<&UserId>) -> Result<StepUpFacts> {
    let row = sqlx::query(
        "SELECT (SELECT policy_value FROM policy_values WHERE policy_key = 'recovery_step_up') AS step_up, \
         (SELECT COUNT(*) FROM factors WHERE user_id = $1 AND status = 'ACTIVE') AS active_factors",
    )
    .bind(user_id.unwrap_or(&UserId::decoy()).as_str())
    .fetch_one(&mut **tx)
    .await?;
    let policy = match get_opt_str(&row, "step_up")? {
        None => RecoveryStepUp::default(),
        Some(text) => RecoveryStepUp::parse(&text).ok_or_else(|| StoreError::Corrupt(format!("recovery_step_up {text:?}")))?,
    };
    Ok(StepUpFacts { policy, has_second_factor: get_i64(&row, "active_factors")? > 0 })
}

/// What only a second factor's answer brings to `apply_answer`.
struct FactorContext<'a> {
    interaction_code: (&'a str, Millis),
    enrolled_notice: Option<&'a SecurityNotice>,
}

/// Applies an answer's effects (a code's or a second factor's) to the transaction locked as
/// `record`, and returns the transaction as it now stands.
async fn apply_answer(
    tx: &mut Tx,
    decision: AnswerDecision,
    (record, subject, code_id): (InteractionRecord, &Subject, Option<&str>),
    (notice, context): (NoticeComposer<'_>, &EventContext),
    factor: Option<FactorContext<'_>>,
    now: Millis,
) -> Result<InteractionRecord> {
    let mut next = record;
    for effect in decision.effects {
        match effect {
            AnswerEffect::MoveTo(to) => {
                next = crate::interactions::set_step(tx, &next, &to).await?;
            }
            AnswerEffect::ConsumeCode => {
                sqlx::query("UPDATE recovery_codes SET consumed_at = $1 WHERE id = $2").bind(now).bind(code_id).execute(&mut **tx).await?;
            }
            AnswerEffect::CountCodeAttempt => {
                sqlx::query("UPDATE recovery_codes SET attempts = attempts + 1 WHERE id = $1").bind(code_id).execute(&mut **tx).await?;
            }
            AnswerEffect::UseTotpStep { factor_id, step } => crate::factors::mark_step_used(tx, &factor_id, step, now).await?,
            AnswerEffect::UsePasskey { factor_id, updated } => {
                crate::factors::use_passkey_in_tx(tx, &factor_id, updated.as_deref(), now).await?;
            }
            AnswerEffect::AddPasskey { factor_id, passkey } => {
                let user_id = subject.user_id.clone().ok_or_else(|| StoreError::Corrupt("a passkey added for no account".to_owned()))?;
                let added = crate::factors::add_passkey_in_tx(tx, &user_id, &factor_id, &passkey, now).await?;
                if let Some(notice) = factor.as_ref().and_then(|f| f.enrolled_notice) {
                    crate::containment::queue_notice(tx, &user_id, NoticeSubject::AuthenticatorEnrolled, Some(&added), notice, now).await?;
                }
            }
            AnswerEffect::ProveMethods(methods) => {
                next = crate::interactions::set_methods(tx, &next.id, methods).await?;
            }
            AnswerEffect::ActivateFactor { factor_id, step } => {
                let active = crate::factors::activate_in_tx(tx, &factor_id, step, now).await?;
                if let Some(notice) = factor.as_ref().and_then(|f| f.enrolled_notice) {
                    let user_id = UserId::from_trusted(active.user_id.clone());
                    crate::containment::queue_notice(tx, &user_id, NoticeSubject::AuthenticatorEnrolled, Some(&active), notice, now)
                        .await?;
                }
            }
            AnswerEffect::IssueInteractionCode => {
                let (digest, expires_at) = factor
                    .as_ref()
                    .map(|f| f.interaction_code)
                    .ok_or_else(|| StoreError::Corrupt("a sign-in completed without a code to issue".to_owned()))?;
                if let Step::Success { user_id } = &next.step {
                    crate::interactions::set_last_login(tx, user_id, now).await?;
                }
                next = set_interaction_code(tx, &next.id, digest, expires_at, now).await?;
            }
            AnswerEffect::SetCounters { identifier, account } => crate::counters::set_otp(tx, subject, identifier, account).await?,
            AnswerEffect::QueueLockoutNotice { to } => {
                // The account is read inside the transaction; an unknown identifier reads
                // the decoy id, which names nobody, so both cost the same query.
                let id = to.unwrap_or_else(UserId::decoy);
                let account = crate::users::user_in_tx(tx, &id).await?;
                let message = notice(account.as_ref()).map_err(StoreError::Compose)?;
                if account.is_some() {
                    enqueue(tx, &message, now).await?;
                } else {
                    enqueue_suppressed(tx, &message, now).await?;
                }
            }
            AnswerEffect::Record(event) => crate::system_log::record(tx, &event, context, now).await?,
        }
    }
    Ok(next)
}

/// Ends every live code that a new one replaces: the account's (one live code per account,
/// OTP-5), the identifier's, and this transaction's. One statement for every kind of subject.
async fn end_live_codes(tx: &mut Tx, subject: &Subject, interaction_id: &str) -> Result<()> {
    sqlx::query(
        "UPDATE recovery_codes SET superseded = 1 WHERE (user_id = $1 OR subject_key = $2 OR interaction_id = $3) \
         AND consumed_at IS NULL AND superseded = 0",
    )
    .bind(subject.user_id.as_ref().map(UserId::as_str))
    .bind(subject.identifier_key().storage_key())
    .bind(interaction_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ends the live codes of one transaction (cancel, re-identify: `Step::ends_codes`).
pub(crate) async fn end_transaction_codes(tx: &mut Tx, interaction_id: &str) -> Result<()> {
    sqlx::query("UPDATE recovery_codes SET superseded = 1 WHERE interaction_id = $1 AND consumed_at IS NULL AND superseded = 0")
        .bind(interaction_id)
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
    .bind(subject.identifier_key().storage_key())
    .bind(subject.user_id.as_ref().map(|u| u.as_str().to_owned()))
    .bind(mac)
    .bind(now)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Ends every live code of an account and every other transaction of its at a step that
/// carries a proof or a grant (`ACCOUNT_BOUND_STEP_KINDS`): after a password change, an email
/// change, a suspension or a deletion (security-checklist OTP-5).
pub(crate) async fn end_account_flows(tx: &mut Tx, user_id: &UserId, now: Millis, except_interaction: Option<&str>) -> Result<()> {
    sqlx::query("UPDATE recovery_codes SET superseded = 1 WHERE user_id = $1 AND consumed_at IS NULL AND superseded = 0")
        .bind(user_id.as_str())
        .execute(&mut **tx)
        .await?;
    // Every step of the account's that carries a proof or a grant (the second-factor steps of
    // recovery and sign-in too, which once outlived the change and could still set a password
    // or activate a TOTP app set up under the old one).
    let kinds = latchkey_domain::interaction::ACCOUNT_BOUND_STEP_KINDS.map(|k| format!("'{k}'")).join(", ");
    sqlx::query(&format!(
        "UPDATE interactions SET expires_at = $1 WHERE user_id = $2 AND id <> $3 AND expires_at > $1 AND step IN ({kinds})"
    ))
    .bind(now)
    .bind(user_id.as_str())
    .bind(except_interaction.unwrap_or(""))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
