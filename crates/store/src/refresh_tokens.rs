//! Refresh tokens: rotated on every use, one family per code redemption. Only SHA-256 digests of
//! the 256-bit tokens are stored. The rules (rotate, refuse, revoke the family on reuse) are
//! `latchkey_domain::refresh`; this file applies them under a row lock so two concurrent
//! refreshes of one token can never both rotate it.
use latchkey_domain::audit::{EventType, Outcome, Party, SecurityEvent};
use latchkey_domain::refresh::{RefreshDecision, RefreshPolicy, RefreshState};
use latchkey_domain::{Millis, UserId};
use sqlx::any::AnyRow;

use crate::{get_i64, get_opt_i64, get_str, random_id, EventContext, Result, Store, Tx};

#[derive(Debug, Clone)]
pub struct RefreshRecord {
    pub id: String,
    pub family_id: String,
    pub auth_server: String,
    pub client_id: String,
    pub user_id: UserId,
    pub scopes: String,
    pub auth_time: Millis,
    pub created_at: Millis,
    pub idle_expires_at: Millis,
    pub family_expires_at: Millis,
    pub rotated_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    /// The account's `password_changed_at` when the sign-in behind this family happened.
    pub credential_at: Option<Millis>,
    /// What that sign-in proved (the ID token's `amr` at every rotation).
    pub methods: latchkey_domain::session::AuthMethods,
}

impl RefreshRecord {
    pub fn state(&self) -> RefreshState {
        RefreshState {
            idle_expires_at: self.idle_expires_at,
            family_expires_at: self.family_expires_at,
            rotated: self.rotated_at.is_some(),
            revoked: self.revoked_at.is_some(),
        }
    }
}

/// A token to store. `family_id` is `None` for the first token of a new family.
pub struct NewRefreshToken<'a> {
    pub token_digest: &'a str,
    pub auth_server: &'a str,
    pub client_id: &'a str,
    pub user_id: &'a UserId,
    pub scopes: &'a str,
    pub auth_time: Millis,
    pub idle_expires_at: Millis,
    pub family_expires_at: Millis,
    /// The password the sign-in proved (`InteractionRecord::credential_at`).
    pub credential_at: Option<Millis>,
    /// What the sign-in proved (`InteractionRecord::methods`).
    pub methods: latchkey_domain::session::AuthMethods,
}

#[derive(Debug)]
pub enum RotateOutcome {
    /// The presented token is now rotated; the successor (same family) is stored.
    Rotated(Box<RefreshRecord>),
    /// The token had already been rotated: the whole family is now revoked.
    FamilyRevoked,
    /// Unknown, expired, revoked, or not this client's: nothing changed.
    Refused,
}

const COLUMNS: &str = "id, family_id, auth_server, client_id, user_id, scopes, auth_time, created_at, idle_expires_at, \
    family_expires_at, rotated_at, revoked_at, credential_at, amr";

fn from_row(row: &AnyRow) -> Result<RefreshRecord> {
    Ok(RefreshRecord {
        id: get_str(row, "id")?,
        family_id: get_str(row, "family_id")?,
        auth_server: get_str(row, "auth_server")?,
        client_id: get_str(row, "client_id")?,
        user_id: UserId::from_trusted(get_str(row, "user_id")?),
        scopes: get_str(row, "scopes")?,
        auth_time: get_i64(row, "auth_time")?,
        created_at: get_i64(row, "created_at")?,
        idle_expires_at: get_i64(row, "idle_expires_at")?,
        family_expires_at: get_i64(row, "family_expires_at")?,
        rotated_at: get_opt_i64(row, "rotated_at")?,
        revoked_at: get_opt_i64(row, "revoked_at")?,
        credential_at: get_opt_i64(row, "credential_at")?,
        methods: crate::get_methods(row, "amr")?,
    })
}

async fn insert(tx: &mut Tx, new: &NewRefreshToken<'_>, family_id: &str, now: Millis) -> Result<()> {
    sqlx::query(&format!(
        "INSERT INTO refresh_tokens (token_digest, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, NULL, $12, $13)"
    ))
    .bind(new.token_digest)
    .bind(random_id())
    .bind(family_id)
    .bind(new.auth_server)
    .bind(new.client_id)
    .bind(new.user_id.as_str())
    .bind(new.scopes)
    .bind(new.auth_time)
    .bind(now)
    .bind(new.idle_expires_at)
    .bind(new.family_expires_at)
    .bind(new.credential_at)
    .bind(new.methods.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// Starts a family. Returns its id.
    pub async fn insert_refresh_token(&self, new: &NewRefreshToken<'_>, now: Millis) -> Result<String> {
        let family_id = random_id();
        let mut tx = self.write_tx().await?;
        insert(&mut tx, new, &family_id, now).await?;
        tx.commit().await?;
        Ok(family_id)
    }

    pub async fn refresh_token(&self, token_digest: &str) -> Result<Option<RefreshRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM refresh_tokens WHERE token_digest = $1"))
            .bind(token_digest)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Redeems a refresh token presented by `client_id` on `auth_server`, storing `successor_digest` in
    /// its family when the rules allow (one transaction, the row locked).
    pub async fn rotate_refresh_token(
        &self,
        token_digest: &str,
        (client_id, auth_server): (&str, &str),
        successor_digest: &str,
        policy: &RefreshPolicy,
        context: &EventContext,
        now: Millis,
    ) -> Result<RotateOutcome> {
        let mut tx = self.write_tx().await?;
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM refresh_tokens WHERE token_digest = $1{}", self.dialect().for_update()))
            .bind(token_digest)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(current) = row.as_ref().map(from_row).transpose()? else {
            return Ok(RotateOutcome::Refused);
        };
        // Another client's token is refused without touching it, so presenting a stolen token
        // to the wrong client cannot be used to burn the owner's family.
        if current.client_id != client_id || current.auth_server != auth_server {
            return Ok(RotateOutcome::Refused);
        }
        // A token stored up to the user's token cutoff counts as revoked. The cutoff's own
        // transaction revokes the rows it sees; on PostgreSQL a rotation racing it can still
        // commit a successor that statement did not see, and this is what ends that one.
        let cutoff = sqlx::query("SELECT not_after FROM token_cutoffs WHERE user_id = $1")
            .bind(current.user_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let cut_off = match cutoff.as_ref().map(|r| get_i64(r, "not_after")).transpose()? {
            Some(not_after) => current.created_at <= not_after,
            None => false,
        };
        // A token started by another password than the account's current one is dead too: the
        // reset's own transaction revokes the rows it sees, and this ends a family or successor
        // that a sign-in, exchange or rotation racing the reset committed unseen (security-
        // checklist §3.6). Rows from before credential versions compare sign-in times instead.
        let changed = sqlx::query("SELECT password_changed_at FROM users WHERE id = $1")
            .bind(current.user_id.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let changed_at = changed.as_ref().map(|r| get_opt_i64(r, "password_changed_at")).transpose()?.flatten();
        let predates_password = match current.credential_at {
            Some(proved) => proved != crate::credential_version(changed_at),
            None => changed_at.is_some_and(|changed_at| current.auth_time < changed_at),
        };
        let mut state = current.state();
        state.revoked |= cut_off || predates_password;
        let event = |outcome| {
            SecurityEvent::new(EventType::TokenGrant, outcome, Party::client(client_id))
                .target(Party::user_id(&current.user_id))
                .detail("grantType", "refresh_token")
        };
        match policy.decide(state, now) {
            RefreshDecision::Refuse => Ok(RotateOutcome::Refused),
            RefreshDecision::RevokeFamily => {
                revoke_family(&mut tx, &current.family_id, now).await?;
                crate::system_log::record(&mut tx, &event(Outcome::Deny("REFRESH_TOKEN_REUSED")).warn(), context, now).await?;
                tx.commit().await?;
                tracing::warn!(family = %current.family_id, "a rotated refresh token was reused: family revoked");
                Ok(RotateOutcome::FamilyRevoked)
            }
            RefreshDecision::Rotate { idle_expires_at } => {
                sqlx::query("UPDATE refresh_tokens SET rotated_at = $1 WHERE id = $2")
                    .bind(now)
                    .bind(&current.id)
                    .execute(&mut *tx)
                    .await?;
                let successor = NewRefreshToken {
                    token_digest: successor_digest,
                    auth_server: &current.auth_server,
                    client_id: &current.client_id,
                    user_id: &current.user_id,
                    scopes: &current.scopes,
                    auth_time: current.auth_time,
                    idle_expires_at,
                    family_expires_at: current.family_expires_at,
                    credential_at: current.credential_at,
                    methods: current.methods,
                };
                insert(&mut tx, &successor, &current.family_id, now).await?;
                crate::system_log::record(&mut tx, &event(Outcome::Success), context, now).await?;
                tx.commit().await?;
                Ok(RotateOutcome::Rotated(Box::new(current)))
            }
        }
    }

    /// RFC 7009 revocation of a refresh token revokes its whole family.
    pub async fn revoke_refresh_family(&self, family_id: &str, client_id: &str, context: &EventContext, now: Millis) -> Result<()> {
        let mut tx = self.write_tx().await?;
        revoke_family(&mut tx, family_id, now).await?;
        let event = crate::revocations::revocation_event(client_id, "refresh_token");
        crate::system_log::record(&mut tx, &event, context, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

pub(crate) async fn revoke_family(tx: &mut Tx, family_id: &str, now: Millis) -> Result<()> {
    sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(family_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Every refresh token of a user (a password reset: security-checklist SES-1).
pub(crate) async fn revoke_user_refresh_tokens(tx: &mut Tx, user_id: &UserId, now: Millis) -> Result<u64> {
    Ok(sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id.as_str())
        .execute(&mut **tx)
        .await?
        .rows_affected())
}
