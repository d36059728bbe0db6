//! Revoked access tokens and the tokens an authorization code produced. Access tokens are JWTs
//! and cannot be recalled, so a revoked one is remembered by `jti` until it expires; userinfo and
//! introspection consult this list. Revoking every token of a user at once is a cutoff instead
//! (`token_cutoffs`): access tokens issued and refresh tokens stored up to that instant are dead.
use latchkey_domain::audit::{EventType, Outcome, Party, SecurityEvent};
use latchkey_domain::{Millis, UserId};
use sqlx::Row;

use crate::{get_i64, get_opt_i64, get_opt_str, get_str, refresh_tokens::revoke_family, EventContext, Result, Store, Tx};

/// The System Log entry of an RFC 7009 revocation by `client_id`.
pub(crate) fn revocation_event(client_id: &str, kind: &'static str) -> SecurityEvent {
    SecurityEvent::new(EventType::TokenRevoke, Outcome::Success, Party::client(client_id)).detail("tokenType", kind)
}

/// Every token of the user issued up to `now` is dead from now on.
pub(crate) async fn cut_off_tokens(tx: &mut Tx, user_id: &UserId, now: Millis) -> Result<()> {
    sqlx::query(
        "INSERT INTO token_cutoffs (user_id, not_after) VALUES ($1, $2) \
         ON CONFLICT (user_id) DO UPDATE SET not_after = excluded.not_after",
    )
    .bind(user_id.as_str())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn revoke_jti_in(tx: &mut Tx, jti: &str, expires_at: Millis) -> Result<()> {
    sqlx::query("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
        .bind(jti)
        .bind(expires_at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Store {
    /// RFC 7009 revocation of an access token by the client it was issued to.
    pub async fn revoke_jti(&self, jti: &str, expires_at: Millis, client_id: &str, context: &EventContext, now: Millis) -> Result<()> {
        let mut tx = self.write_tx().await?;
        revoke_jti_in(&mut tx, jti, expires_at).await?;
        crate::system_log::record(&mut tx, &revocation_event(client_id, "access_token"), context, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The instant up to which every token of this user was revoked, if ever.
    pub async fn token_cutoff(&self, user_id: &UserId) -> Result<Option<Millis>> {
        let row = sqlx::query("SELECT not_after FROM token_cutoffs WHERE user_id = $1")
            .bind(user_id.as_str())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(|r| get_i64(r, "not_after")).transpose()
    }

    pub async fn is_jti_revoked(&self, jti: &str) -> Result<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM revoked_tokens WHERE jti = $1").bind(jti).fetch_one(self.pool()).await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Records what a redeemed code produced. Returns `false` when the code was replayed
    /// meanwhile: the tokens are then revoked at once and must not be handed out.
    pub async fn record_code_tokens(
        &self,
        interaction_id: &str,
        jti: &str,
        jti_expires_at: Millis,
        family: Option<&str>,
        context: &EventContext,
        now: Millis,
    ) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        sqlx::query("UPDATE interactions SET issued_jti = $1, issued_jti_expires_at = $2, issued_family = $3 WHERE id = $4")
            .bind(jti)
            .bind(jti_expires_at)
            .bind(family)
            .bind(interaction_id)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query("SELECT code_replayed_at, client_id, user_id, flow FROM interactions WHERE id = $1")
            .bind(interaction_id)
            .fetch_one(&mut *tx)
            .await?;
        let replayed = get_opt_i64(&row, "code_replayed_at")?.is_some();
        let outcome = if replayed { Outcome::Deny("CODE_REPLAYED") } else { Outcome::Success };
        let grant = if get_str(&row, "flow")? == "idx" { "interaction_code" } else { "authorization_code" };
        let mut event = SecurityEvent::new(EventType::TokenGrant, outcome, Party::client(&get_str(&row, "client_id")?))
            .detail("grantType", grant)
            .detail("refreshToken", if family.is_some() { "issued" } else { "none" });
        if let Some(user_id) = get_opt_str(&row, "user_id")? {
            event = event.target(Party::user_id(&UserId::from_trusted(user_id)));
        }
        crate::system_log::record(&mut tx, &event, context, now).await?;
        if replayed {
            revoke_jti_in(&mut tx, jti, jti_expires_at).await?;
            if let Some(family) = family {
                revoke_family(&mut tx, family, now).await?;
            }
        }
        tx.commit().await?;
        Ok(!replayed)
    }

    /// A redeemed code was presented again (security-checklist OA-2): marks it replayed and
    /// revokes the access token and refresh family it produced. Returns whether it was a code
    /// we had redeemed.
    pub async fn replay_code(&self, code_digest: &str, now: Millis) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let marked = sqlx::query(
            "UPDATE interactions SET code_replayed_at = $1 WHERE interaction_code_digest = $2 AND code_redeemed_at IS NOT NULL",
        )
        .bind(now)
        .bind(code_digest)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if marked == 0 {
            return Ok(false);
        }
        let row =
            sqlx::query("SELECT issued_jti, issued_jti_expires_at, issued_family FROM interactions WHERE interaction_code_digest = $1")
                .bind(code_digest)
                .fetch_one(&mut *tx)
                .await?;
        if let (Some(jti), Some(expires_at)) = (get_opt_str(&row, "issued_jti")?, get_opt_i64(&row, "issued_jti_expires_at")?) {
            revoke_jti_in(&mut tx, &jti, expires_at).await?;
        }
        if let Some(family) = get_opt_str(&row, "issued_family")? {
            revoke_family(&mut tx, &family, now).await?;
        }
        tx.commit().await?;
        tracing::warn!("an authorization code was replayed: the tokens issued from it are revoked");
        Ok(true)
    }
}
