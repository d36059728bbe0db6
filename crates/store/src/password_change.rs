//! The one way a password is set: IDX reset, set-password links and the admin API all call
//! `apply`, inside the write transaction of the change that causes it, so no path can forget a
//! consequence and a crash leaves all of them or none (security-checklist SES-1, OTP-5, NOT-1,
//! §3.10; finding 2: the link path once left sessions and refresh tokens alive).
use latchkey_domain::audit::{EventType, Party};
use latchkey_domain::containment::NoticeSubject;
use latchkey_domain::{Millis, UserId, UserStatus};

use crate::containment::SecurityNotice;
use crate::{Audit, Result, Tx};

/// A new password for an account, with what its setting must end and announce.
pub struct PasswordChange<'a> {
    pub user_id: &'a UserId,
    pub hash: &'a str,
    /// The PasswordChanged notice with its "Not you?" link, composed by the caller for the
    /// account's address.
    pub notice: SecurityNotice,
    /// The session of the browser that completed an IDX reset, which stays signed in; every
    /// other session of the account ends. `None` ends them all.
    pub keep_session_digest: Option<&'a str>,
    /// The recovery transaction that is completing (kept; every other one ends).
    pub completing_interaction: Option<&'a str>,
    /// `PasswordReset` for recovery, `PasswordUpdate` otherwise: the System Log entry.
    pub event_type: EventType,
    /// Who set it (the user, or the administrator) and from where.
    pub audit: Audit<'a>,
}

/// Sets the hash and, in the same transaction: activates a PROVISIONED or unlocks a LOCKED_OUT
/// account (RL-2), clears the account's failure counters, ends every other live code and
/// recovery transaction, every other session and every refresh-token family, and queues the
/// PasswordChanged notice with its "Not you?" link, and logs the change.
pub(crate) async fn apply(tx: &mut Tx, change: PasswordChange<'_>, now: Millis) -> Result<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $1, password_changed_at = $2, last_updated_at = $2, \
         status_changed_at = CASE WHEN status IN ($3, $4) THEN $2 ELSE status_changed_at END, \
         activated_at = CASE WHEN activated_at IS NULL THEN $2 ELSE activated_at END, \
         status = CASE WHEN status IN ($3, $4) THEN $5 ELSE status END WHERE id = $6",
    )
    .bind(change.hash)
    .bind(now)
    .bind(UserStatus::LockedOut.as_str())
    .bind(UserStatus::Provisioned.as_str())
    .bind(UserStatus::Active.as_str())
    .bind(change.user_id.as_str())
    .execute(&mut **tx)
    .await?;
    let keys = crate::counters::keys_of_account(tx, change.user_id).await?;
    crate::counters::clear(tx, &keys).await?;
    crate::recovery::end_account_flows(tx, change.user_id, now, change.completing_interaction).await?;
    sqlx::query("UPDATE password_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
        .bind(now)
        .bind(change.user_id.as_str())
        .execute(&mut **tx)
        .await?;
    crate::sessions::end_user_sessions(tx, change.user_id, change.keep_session_digest, now).await?;
    crate::refresh_tokens::revoke_user_refresh_tokens(tx, change.user_id, now).await?;
    crate::containment::queue_notice(tx, change.user_id, NoticeSubject::PasswordChanged, None, &change.notice, now).await?;
    change.audit.record(tx, change.event_type, Party::user_id(change.user_id), now).await?;
    Ok(())
}
