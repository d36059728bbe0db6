//! The "Not you?" links of security notices (`latchkey_domain::containment`): written with the
//! notice in the transaction of the change it reports, looked at by the link's GET, and spent by
//! its confirmation, which contains the account in one transaction.
//!
//! Only the SHA-256 of each 256-bit token is stored (like `password_tokens.rs`). A token is bound
//! to its account, to what its notice reported and to when; it is single use and expires by the
//! database clock.
use latchkey_domain::audit::{EventType, Outcome, Party, SecurityEvent};
use latchkey_domain::containment::{factor_cutoff, NoticeSubject};
use latchkey_domain::{Millis, UserId};

use crate::factors::FactorRecord;
use crate::outbox::{enqueue, NewMessage};
use crate::{get_i64, get_opt_str, get_str, EventContext, Result, Store, StoreError, Tx};

/// A security notice composed by the caller (the store cannot seal) with its "Not you?" link:
/// the message that carries the link, and what is stored of the link's token.
#[derive(Debug, Clone)]
pub struct SecurityNotice {
    pub message: NewMessage,
    /// Hex SHA-256 of the link's token; the token itself is only in the sealed message.
    pub token_digest: String,
    pub expires_at: Millis,
}

/// A live link, as its page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainmentTokenRecord {
    pub user_id: UserId,
    pub subject: NoticeSubject,
    /// The factor an authenticator notice was about (Okta's `factorType`).
    pub factor_type: Option<String>,
    /// When the reported change happened.
    pub notice_at: Millis,
    pub expires_at: Millis,
}

/// What a confirmed report did, for the page that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Containment {
    pub notice: ContainmentTokenRecord,
    pub sessions_ended: u64,
    pub refresh_tokens_revoked: u64,
    pub factors_removed: Vec<FactorRecord>,
}

/// Stores the notice's link bound to `user_id`, `subject` and `now`, and queues the notice: in
/// the caller's transaction, so the link exists exactly when the change and its email do.
pub(crate) async fn queue_notice(
    tx: &mut Tx,
    user_id: &UserId,
    subject: NoticeSubject,
    factor: Option<&FactorRecord>,
    notice: &SecurityNotice,
    now: Millis,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO containment_tokens (id, user_id, token_digest, subject, factor_id, factor_type, notice_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(crate::random_id())
    .bind(user_id.as_str())
    .bind(&notice.token_digest)
    .bind(subject.as_str())
    .bind(factor.map(|f| f.id.clone()))
    .bind(factor.map(|f| f.factor_type.clone()))
    .bind(now)
    .bind(notice.expires_at)
    .execute(&mut **tx)
    .await?;
    enqueue(tx, &notice.message, now).await
}

const LIVE: &str = "token_digest = $1 AND used_at IS NULL AND expires_at > $2";

fn record_of(row: &sqlx::any::AnyRow) -> Result<ContainmentTokenRecord> {
    let subject = get_str(row, "subject")?;
    Ok(ContainmentTokenRecord {
        user_id: UserId::from_trusted(get_str(row, "user_id")?),
        subject: NoticeSubject::parse(&subject).ok_or_else(|| StoreError::Corrupt(format!("notice subject {subject:?}")))?,
        factor_type: get_opt_str(row, "factor_type")?,
        notice_at: get_i64(row, "notice_at")?,
        expires_at: get_i64(row, "expires_at")?,
    })
}

impl Store {
    /// The live link with this digest, if any. Reads only: the link's GET uses it, and a mail
    /// scanner opening the link must change nothing.
    pub async fn live_containment_token(&self, token_digest: &str, now: Millis) -> Result<Option<ContainmentTokenRecord>> {
        let row = sqlx::query(&format!("SELECT user_id, subject, factor_type, notice_at, expires_at FROM containment_tokens WHERE {LIVE}"))
            .bind(token_digest)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(record_of).transpose()
    }

    /// The owner confirmed "this wasn't me": in one transaction, spends the link, ends every
    /// session and refresh token of the account and every access token issued so far (the
    /// cutoff `oauth/bearer.rs` and refresh rotation check, as `clear_user_sessions` with
    /// `oauthTokens=true`), removes the factors enrolled since 24 hours before the notice, and
    /// records the report in the System Log with the account as the actor. `None` when the link
    /// is unknown, used, expired, or its account is gone: nothing changed.
    pub async fn contain_account(&self, token_digest: &str, context: &EventContext, now: Millis) -> Result<Option<Containment>> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(&format!(
            "SELECT id, user_id, subject, factor_type, notice_at, expires_at FROM containment_tokens WHERE {LIVE}{}",
            self.dialect().for_update()
        ))
        .bind(token_digest)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let notice = record_of(&row)?;
        let user_id = &notice.user_id;
        let account = sqlx::query(&format!("SELECT id FROM users WHERE id = $1{}", self.dialect().for_update()))
            .bind(user_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if account.is_none() {
            return Ok(None);
        }
        let spent = sqlx::query("UPDATE containment_tokens SET used_at = $1 WHERE id = $2 AND used_at IS NULL")
            .bind(now)
            .bind(get_str(&row, "id")?)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if spent != 1 {
            return Ok(None);
        }
        let sessions_ended = crate::sessions::end_user_sessions(&mut tx, user_id, None, now).await?;
        let refresh_tokens_revoked = crate::refresh_tokens::revoke_user_refresh_tokens(&mut tx, user_id, now).await?;
        crate::revocations::cut_off_tokens(&mut tx, user_id, now).await?;
        let factors_removed =
            crate::factors::remove_factors_enrolled_since(&mut tx, user_id, factor_cutoff(notice.notice_at), context, now).await?;
        let me = Party::user_id(user_id);
        let event = SecurityEvent::new(EventType::ReportSuspiciousActivity, Outcome::Success, me.clone())
            .target(me)
            .warn()
            .detail("notice", notice.subject.as_str())
            .detail("noticeAt", notice.notice_at.to_string())
            .detail("sessionsEnded", sessions_ended.to_string())
            .detail("refreshTokensRevoked", refresh_tokens_revoked.to_string())
            .detail("factorsRemoved", factors_removed.iter().map(|f| f.id.as_str()).collect::<Vec<_>>().join(","));
        crate::system_log::record(&mut tx, &event, context, now).await?;
        tx.commit().await?;
        Ok(Some(Containment { notice, sessions_ended, refresh_tokens_revoked, factors_removed }))
    }
}
