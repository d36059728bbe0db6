//! Set-password links sent by an administrator's action: the activation link
//! (`${activationLink}`) and the admin reset link (`${resetPasswordLink}` of
//! PasswordResetByAdmin). Only the SHA-256 of each 256-bit token is stored; a token is single
//! use, expires by the database clock, and a newer token for the same user ends the older ones.
use latchkey_domain::audit::{EventType, Outcome, Party, SecurityEvent};
use latchkey_domain::{Millis, UserId, UserStatus};

use crate::outbox::{enqueue, NewMessage};
use crate::password_change::PasswordChange;
use crate::{get_i64, get_str, Audit, Result, Store};

/// A token to store, with the email that carries it (written in the same transaction).
pub struct NewPasswordToken<'a> {
    pub user_id: &'a UserId,
    /// `activation` or `admin_reset`.
    pub purpose: &'a str,
    pub token_digest: &'a str,
    pub expires_at: Millis,
    /// `None` when the link is handed back to the administrator instead (`sendEmail=false`).
    pub message: Option<NewMessage>,
    /// The System Log event the link is issued under: `UserActivate` for an activation link,
    /// `PasswordReset` for an administrator's reset.
    pub event_type: EventType,
    /// An activation moves the user to this status (PROVISIONED) in the link's transaction,
    /// clearing the account's failure counters like every activation.
    pub status: Option<UserStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordTokenRecord {
    pub id: String,
    pub user_id: UserId,
    pub purpose: String,
    pub expires_at: Millis,
}

impl Store {
    /// Stores a new token for the user, ending every older live one, and queues its email.
    /// The change is logged as `new.event_type` with the administrator as the actor (WARN when
    /// the link is returned rather than emailed); the event never holds the token or the link.
    pub async fn issue_password_token(&self, new: NewPasswordToken<'_>, audit: &Audit<'_>, now: Millis) -> Result<()> {
        let mut tx = self.write_tx().await?;
        if let Some(status) = new.status {
            crate::users::apply_status(&mut tx, new.user_id, status, true, now).await?;
        }
        sqlx::query("UPDATE password_tokens SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
            .bind(now)
            .bind(new.user_id.as_str())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO password_tokens (id, user_id, purpose, token_digest, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(crate::random_id())
        .bind(new.user_id.as_str())
        .bind(new.purpose)
        .bind(new.token_digest)
        .bind(now)
        .bind(new.expires_at)
        .execute(&mut *tx)
        .await?;
        if let Some(message) = &new.message {
            enqueue(&mut tx, message, now).await?;
        }
        let mut event = SecurityEvent::new(new.event_type, Outcome::Success, audit.actor.clone())
            .target(Party::user_id(new.user_id))
            .detail("purpose", new.purpose)
            .detail("sendEmail", if new.message.is_some() { "true" } else { "false" });
        if new.message.is_none() {
            event = event.warn();
        }
        crate::system_log::record(&mut tx, &event, audit.context, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The live token with this digest, if any. Reads only: the link's GET uses it.
    pub async fn live_password_token(&self, token_digest: &str, now: Millis) -> Result<Option<PasswordTokenRecord>> {
        let row = sqlx::query(
            "SELECT id, user_id, purpose, expires_at FROM password_tokens WHERE token_digest = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_digest)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(PasswordTokenRecord {
                id: get_str(&r, "id")?,
                user_id: UserId::from_trusted(get_str(&r, "user_id")?),
                purpose: get_str(&r, "purpose")?,
                expires_at: get_i64(&r, "expires_at")?,
            })
        })
        .transpose()
    }

    /// Uses the token and sets the password in one commit, through the one password pipeline
    /// (`password_change::apply`: activation, unlock, counters, live recovery, every session and
    /// refresh token, the PasswordChanged notice). `None` when the token is unknown, used,
    /// expired, or its account may not set a password.
    pub async fn redeem_password_token(
        &self,
        token_digest: &str,
        hash: &str,
        notice: crate::SecurityNotice,
        context: &crate::EventContext,
        now: Millis,
    ) -> Result<Option<UserId>> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(&format!(
            "SELECT id, user_id FROM password_tokens WHERE token_digest = $1 AND used_at IS NULL AND expires_at > $2{}",
            self.dialect().for_update()
        ))
        .bind(token_digest)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let user_id = UserId::from_trusted(get_str(&row, "user_id")?);
        let status = sqlx::query(&format!("SELECT status FROM users WHERE id = $1{}", self.dialect().for_update()))
            .bind(user_id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| get_str(&r, "status"))
            .transpose()?
            .and_then(|s| UserStatus::parse(&s));
        if !status.is_some_and(UserStatus::can_set_password_by_link) {
            return Ok(None);
        }
        // The link's holder sets the password: the log names the account as the actor.
        let audit = crate::Audit { actor: latchkey_domain::audit::Party::user_id(&user_id), context };
        let change = PasswordChange {
            user_id: &user_id,
            hash,
            notice,
            keep_session_digest: None,
            completing_interaction: None,
            event_type: latchkey_domain::audit::EventType::PasswordUpdate,
            audit,
        };
        crate::password_change::apply(&mut tx, change, now).await?;
        tx.commit().await?;
        Ok(Some(user_id))
    }
}
