//! Identity-provider sessions. The cookie value is a 256-bit bearer secret; only its SHA-256 is
//! stored (security-checklist SES-3). Lookups decide liveness with database time and extend the
//! idle deadline in the same statement, so every process agrees on expiry.
use latchkey_domain::audit::{EventType, Outcome, Party, SecurityEvent};
use latchkey_domain::session::SessionDeadlines;
use latchkey_domain::{Millis, UserId};
use sqlx::any::AnyRow;

use crate::{get_i64, get_str, random_id, Audit, EventContext, Result, Store, Tx};

#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub id: String,
    pub user_id: UserId,
    pub auth_time: Millis,
    /// What the sign-in behind the session proved.
    pub methods: latchkey_domain::session::AuthMethods,
    pub created_at: Millis,
    pub expires_at: Millis,
}

fn from_row(row: &AnyRow) -> Result<SessionRecord> {
    Ok(SessionRecord {
        id: get_str(row, "id")?,
        user_id: UserId::from_trusted(get_str(row, "user_id")?),
        auth_time: get_i64(row, "auth_time")?,
        methods: crate::get_methods(row, "amr")?,
        created_at: get_i64(row, "created_at")?,
        expires_at: get_i64(row, "expires_at")?,
    })
}

impl Store {
    /// Starts a session and ends the one the browser presented, if any: a new id at every
    /// authentication, and a planted id never becomes authenticated (SES-3).
    pub async fn create_session(
        &self,
        token_digest: &str,
        user_id: &UserId,
        (auth_time, methods): (Millis, latchkey_domain::session::AuthMethods),
        deadlines: SessionDeadlines,
        replaces_digest: Option<&str>,
        now: Millis,
    ) -> Result<SessionRecord> {
        let mut tx = self.write_tx().await?;
        if let Some(old) = replaces_digest {
            sqlx::query("UPDATE sessions SET ended_at = $1 WHERE token_digest = $2 AND ended_at IS NULL")
                .bind(now)
                .bind(old)
                .execute(&mut *tx)
                .await?;
        }
        let id = random_id();
        sqlx::query(
            "INSERT INTO sessions (id, token_digest, user_id, auth_time, created_at, idle_expires_at, expires_at, amr) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(token_digest)
        .bind(user_id.as_str())
        .bind(auth_time)
        .bind(now)
        .bind(deadlines.idle_expires_at)
        .bind(deadlines.expires_at)
        .bind(methods.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(SessionRecord { id, user_id: user_id.clone(), auth_time, methods, created_at: now, expires_at: deadlines.expires_at })
    }

    /// The live session with this cookie digest, its idle deadline moved to `idle_expires_at`
    /// (capped by the absolute one). `None` when unknown, ended or expired.
    pub async fn touch_session(&self, token_digest: &str, idle_expires_at: Millis, now: Millis) -> Result<Option<SessionRecord>> {
        let touched = sqlx::query(
            "UPDATE sessions SET idle_expires_at = CASE WHEN $1 < expires_at THEN $1 ELSE expires_at END \
             WHERE token_digest = $2 AND ended_at IS NULL AND idle_expires_at > $3 AND expires_at > $3",
        )
        .bind(idle_expires_at)
        .bind(token_digest)
        .bind(now)
        .execute(self.pool())
        .await?
        .rows_affected();
        if touched == 0 {
            return Ok(None);
        }
        let row = sqlx::query("SELECT id, user_id, auth_time, amr, created_at, expires_at FROM sessions WHERE token_digest = $1")
            .bind(token_digest)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Logout: ends the session with this cookie digest and logs it. Returns whether one was
    /// live.
    pub async fn end_session(&self, token_digest: &str, context: &EventContext, now: Millis) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let ended = sqlx::query("UPDATE sessions SET ended_at = $1 WHERE token_digest = $2 AND ended_at IS NULL RETURNING user_id")
            .bind(now)
            .bind(token_digest)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = ended else {
            return Ok(false);
        };
        let user = Party::user_id(&UserId::from_trusted(get_str(&row, "user_id")?));
        let event = SecurityEvent::new(EventType::SessionEnd, Outcome::Success, user);
        crate::system_log::record(&mut tx, &event, context, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The management API's "clear user sessions": ends every session of the user and, with
    /// `revoke_tokens` (Okta's `oauthTokens=true`), every refresh token and every access token
    /// issued up to now (`token_cutoffs`), in one transaction. Returns how many sessions were live.
    pub async fn clear_user_sessions(&self, user_id: &UserId, revoke_tokens: bool, audit: &Audit<'_>, now: Millis) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let ended = sqlx::query("UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL")
            .bind(now)
            .bind(user_id.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if revoke_tokens {
            crate::refresh_tokens::revoke_user_refresh_tokens(&mut tx, user_id, now).await?;
            crate::revocations::cut_off_tokens(&mut tx, user_id, now).await?;
        }
        audit.record(&mut tx, EventType::SessionClear, Party::user_id(user_id), now).await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// Live sessions of a user (admin and tests).
    pub async fn live_sessions_of(&self, user_id: &UserId, now: Millis) -> Result<Vec<SessionRecord>> {
        let rows = sqlx::query(
            "SELECT id, user_id, auth_time, amr, created_at, expires_at FROM sessions \
             WHERE user_id = $1 AND ended_at IS NULL AND idle_expires_at > $2 AND expires_at > $2 ORDER BY created_at",
        )
        .bind(user_id.as_str())
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }
}

/// Ends every session of a user except the one with `keep_digest` (after a password reset:
/// security-checklist SES-1). Returns how many ended.
pub(crate) async fn end_user_sessions(tx: &mut Tx, user_id: &UserId, keep_digest: Option<&str>, now: Millis) -> Result<u64> {
    Ok(sqlx::query("UPDATE sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL AND token_digest <> $3")
        .bind(now)
        .bind(user_id.as_str())
        .bind(keep_digest.unwrap_or(""))
        .execute(&mut **tx)
        .await?
        .rows_affected())
}
