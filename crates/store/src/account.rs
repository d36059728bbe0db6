//! The account page's changes (`/account` on the server's origin): a signed-in user renames or
//! removes an authenticator or changes their password.
//!
//! A removal and a password change need the current password, which the adapter verifies
//! (Argon2, outside any transaction) before calling here. Each use case then takes the
//! account's row lock and goes on only while the verified hash is still the account's, as
//! `complete_sign_in` does: a change racing a reset or another password change never outlives
//! it (the "a sign-in proves one password" invariant). Every change is logged in its own
//! transaction.
use latchkey_domain::audit::{EventType, Outcome, Party, SecurityEvent};
use latchkey_domain::factor::FactorName;
use latchkey_domain::interaction::Subject;
use latchkey_domain::{Millis, UserId};

use crate::containment::SecurityNotice;
use crate::factors::COLUMNS;
use crate::{Audit, FactorRecord, PasswordChange, Result, Store, Tx};

/// What a change that needs the current password came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProvedChange {
    Done,
    /// No such factor (already removed, or not this user's); nothing changed.
    NotFound,
    /// The password changed after the adapter verified it; nothing changed.
    CredentialChanged,
}

impl Store {
    /// Gives a factor of the user a name, or takes it back to the default (`None`). `None` back:
    /// the user has no such factor. Logged as Okta's factor change, `user.mfa.factor.update`,
    /// with `debugData.change = rename` (the name itself is not logged).
    pub async fn rename_factor(
        &self,
        user_id: &UserId,
        id: &str,
        name: Option<&FactorName>,
        audit: &Audit<'_>,
        now: Millis,
    ) -> Result<Option<FactorRecord>> {
        let mut tx = self.write_tx().await?;
        let renamed: Option<FactorRecord> = sqlx::query_as(&format!(
            "UPDATE factors SET display_name = $1, last_updated_at = $2 WHERE user_id = $3 AND id = $4 RETURNING {COLUMNS}"
        ))
        .bind(name.map(FactorName::as_str))
        .bind(now)
        .bind(user_id.as_str())
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(renamed) = renamed else { return Ok(None) };
        let event = SecurityEvent::new(EventType::FactorEnroll, Outcome::Success, audit.actor.clone())
            .target(Party::user_id(user_id))
            .detail("factorId", renamed.id.clone())
            .detail("factorType", renamed.factor_type.clone())
            .detail("change", "rename".to_owned());
        crate::system_log::record(&mut tx, &event, audit.context, now).await?;
        tx.commit().await?;
        Ok(Some(renamed))
    }

    /// Removes a factor after the user proved `verified_hash` (the account page): the admin
    /// removal's statements (System Log, AuthenticatorReset notice), under the account's lock.
    /// Then the sign-in counters the verification counted up front clear, as after a sign-in.
    #[allow(clippy::too_many_arguments)]
    pub async fn remove_factor_with_password(
        &self,
        subject: &Subject,
        verified_hash: &str,
        id: &str,
        notice: &SecurityNotice,
        audit: &Audit<'_>,
        now: Millis,
    ) -> Result<ProvedChange> {
        let Some(user_id) = subject.user_id.clone() else { return Ok(ProvedChange::NotFound) };
        let mut tx = self.write_tx().await?;
        if !still_proved(&mut tx, self, &user_id, verified_hash).await? {
            return Ok(ProvedChange::CredentialChanged);
        }
        if !crate::factors::remove_in_tx(&mut tx, &user_id, id, notice, audit, now).await? {
            return Ok(ProvedChange::NotFound);
        }
        tx.commit().await?;
        self.clear_sign_in_failures(subject).await?;
        Ok(ProvedChange::Done)
    }

    /// Sets the password the user chose after proving `verified_hash` (the account page),
    /// through the one password pipeline (`password_change::apply`: sessions other than
    /// `change.keep_session_digest`, refresh tokens, live recovery, the counters, the
    /// PasswordChanged notice, the System Log), under the account's lock.
    pub async fn change_password_with_password(
        &self,
        verified_hash: &str,
        change: PasswordChange<'_>,
        now: Millis,
    ) -> Result<ProvedChange> {
        let mut tx = self.write_tx().await?;
        if !still_proved(&mut tx, self, change.user_id, verified_hash).await? {
            return Ok(ProvedChange::CredentialChanged);
        }
        crate::password_change::apply(&mut tx, change, now).await?;
        tx.commit().await?;
        Ok(ProvedChange::Done)
    }

    /// Clears the sign-in failures `begin_sign_in` counted up front for an attempt that proved
    /// the password (in a transaction of its own, counters first, as `complete_sign_in` does).
    pub async fn clear_sign_in_failures(&self, subject: &Subject) -> Result<()> {
        let mut tx = self.write_tx().await?;
        crate::counters::lock(&mut tx, self, subject).await?;
        crate::counters::set_sign_in(&mut tx, subject, (0, 0), Some((0, 0))).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Locks the account's row and says whether `verified_hash` is still its password.
async fn still_proved(tx: &mut Tx, store: &Store, user_id: &UserId, verified_hash: &str) -> Result<bool> {
    let found = sqlx::query(&format!("SELECT id FROM users WHERE id = $1 AND password_hash = $2{}", store.dialect().for_update()))
        .bind(user_id.as_str())
        .bind(verified_hash)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(found.is_some())
}
