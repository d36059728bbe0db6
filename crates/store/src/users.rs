//! Users: profile, status and password hash.
use latchkey_domain::identifier::Login;
use latchkey_domain::{EmailAddress, Millis, Profile, User, UserId, UserStatus};
use sqlx::any::AnyRow;

use latchkey_domain::audit::{EventType, Party};

use crate::{conflict_on_unique, get_i64, get_opt_i64, get_opt_str, get_str, Audit, Result, Store, StoreError};

/// A user as stored: the domain user plus the password hash, which never leaves the server.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub user: User,
    pub password_hash: Option<String>,
}

pub struct NewUser {
    pub id: UserId,
    pub status: UserStatus,
    pub profile: Profile,
    pub password_hash: Option<String>,
}

const COLUMNS: &str = "id, status, login, email, first_name, last_name, locale, password_hash, password_changed_at, \
    created_at, activated_at, status_changed_at, last_login_at, last_updated_at";

/// A constant row in `COLUMNS` order standing in for "no such account" (see
/// `user_for_identifier`); its id is `UserId::decoy()`, which no account has.
const DECOY_ROW: &str = "'00u0decoy0000000000', 'DEPROVISIONED', 'nobody@decoy.latchkey.invalid', 'nobody@decoy.latchkey.invalid', \
    NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, 0";

fn from_row(row: &AnyRow) -> Result<UserRecord> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("user row has an invalid {what}"));
    let status = UserStatus::parse(&get_str(row, "status")?).ok_or_else(|| corrupt("status"))?;
    let login = Login::parse(&get_str(row, "login")?).map_err(|_| corrupt("login"))?;
    let email = EmailAddress::parse(&get_str(row, "email")?).map_err(|_| corrupt("email"))?;
    let password_hash = get_opt_str(row, "password_hash")?;
    Ok(UserRecord {
        user: User {
            id: UserId::from_trusted(get_str(row, "id")?),
            status,
            profile: Profile {
                login,
                email,
                first_name: get_opt_str(row, "first_name")?,
                last_name: get_opt_str(row, "last_name")?,
                locale: get_opt_str(row, "locale")?,
            },
            has_password: password_hash.is_some(),
            created_at: get_i64(row, "created_at")?,
            activated_at: get_opt_i64(row, "activated_at")?,
            status_changed_at: get_opt_i64(row, "status_changed_at")?,
            last_login_at: get_opt_i64(row, "last_login_at")?,
            last_updated_at: get_i64(row, "last_updated_at")?,
            password_changed_at: get_opt_i64(row, "password_changed_at")?,
        },
        password_hash,
    })
}

impl Store {
    /// Creates a user and logs it, in one transaction.
    pub async fn insert_user(&self, new: &NewUser, audit: &Audit<'_>, now: Millis) -> Result<UserRecord> {
        let activated = (new.status == UserStatus::Active || new.status == UserStatus::Provisioned).then_some(now);
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO users (id, status, login, login_canonical, email, email_canonical, first_name, last_name, locale, \
             password_hash, password_changed_at, created_at, activated_at, status_changed_at, last_updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(new.id.as_str())
        .bind(new.status.as_str())
        .bind(new.profile.login.as_str())
        .bind(new.profile.login.canonical())
        .bind(new.profile.email.as_str())
        .bind(latchkey_domain::identifier::canonicalize(new.profile.email.as_str()))
        .bind(new.profile.first_name.clone())
        .bind(new.profile.last_name.clone())
        .bind(new.profile.locale.clone())
        .bind(new.password_hash.clone())
        .bind(new.password_hash.as_ref().map(|_| now))
        .bind(now)
        .bind(activated)
        .bind(activated)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_on_unique(e, "a user with this login"))?;
        audit.record(&mut tx, EventType::UserCreate, Party::user(&new.id, new.profile.login.as_str()), now).await?;
        tx.commit().await?;
        self.user_by_id(&new.id).await?.ok_or(StoreError::NotFound)
    }

    /// The one account an identifier names: its login, else an email address that exactly
    /// one account has (an ambiguous email names nobody, so mail can never go to the wrong
    /// one). Every identifier costs the same (finding 5): one statement that always returns two
    /// rows — the matches, topped up with constant decoy rows — and both are decoded and
    /// parsed, so logins, emails and unknown identifiers take the same work.
    pub async fn user_for_identifier(&self, canonical: &str) -> Result<Option<UserRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS}, CAST(CASE WHEN login_canonical = $1 THEN 0 ELSE 1 END AS BIGINT) AS match_rank \
             FROM users WHERE login_canonical = $1 OR email_canonical = $1 \
             UNION ALL SELECT {DECOY_ROW}, CAST(2 AS BIGINT) \
             UNION ALL SELECT {DECOY_ROW}, CAST(2 AS BIGINT) \
             ORDER BY match_rank LIMIT 2"
        ))
        .bind(canonical)
        .fetch_all(self.pool())
        .await?;
        let mut ranked = Vec::with_capacity(2);
        for row in &rows {
            ranked.push((get_i64(row, "match_rank")?, from_row(row)?));
        }
        let mut ranked = ranked.into_iter();
        Ok(match (ranked.next(), ranked.next()) {
            (Some((0, record)), _) => Some(record),
            (Some((1, record)), Some((2, _))) => Some(record),
            _ => None,
        })
    }

    pub async fn user_by_id(&self, id: &UserId) -> Result<Option<UserRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1")).bind(id.as_str()).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Okta's `GET /api/v1/users/{id|login}`: an id, or a login in any case.
    pub async fn user_by_id_or_login(&self, key: &str) -> Result<Option<UserRecord>> {
        let canonical = latchkey_domain::identifier::canonicalize(key);
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1 OR login_canonical = $2"))
            .bind(key)
            .bind(canonical)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Prefix search over login, email and names (Okta's `q=`), or exact status filter.
    pub async fn search_users(&self, prefix: Option<&str>, status: Option<UserStatus>, limit: i64) -> Result<Vec<UserRecord>> {
        let pattern = prefix.map(|p| format!("{}%", latchkey_domain::identifier::canonicalize(p).replace(['%', '_'], "")));
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM users WHERE ($1 IS NULL OR login_canonical LIKE $1 OR email_canonical LIKE $1 \
             OR LOWER(first_name) LIKE $1 OR LOWER(last_name) LIKE $1) AND ($2 IS NULL OR status = $2) \
             ORDER BY created_at, id LIMIT $3"
        ))
        .bind(pattern)
        .bind(status.map(UserStatus::as_str))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Replaces the profile and, when given, the password, in one transaction (the admin API's
    /// update). An email change ends every live recovery code and transaction of the account
    /// (security-checklist OTP-5: the code went to the old address); a password goes through
    /// the one password pipeline (`password_change::apply`).
    pub async fn update_user(
        &self,
        id: &UserId,
        profile: &Profile,
        password: Option<crate::PasswordChange<'_>>,
        audit: &Audit<'_>,
        now: Millis,
    ) -> Result<UserRecord> {
        let mut tx = self.write_tx().await?;
        let old_email: Option<String> = sqlx::query("SELECT email_canonical FROM users WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| get_str(&row, "email_canonical"))
            .transpose()?;
        let Some(old_email) = old_email else {
            return Err(StoreError::NotFound);
        };
        let new_email = latchkey_domain::identifier::canonicalize(profile.email.as_str());
        sqlx::query(
            "UPDATE users SET login = $1, login_canonical = $2, email = $3, email_canonical = $4, first_name = $5, \
             last_name = $6, locale = $7, last_updated_at = $8 WHERE id = $9",
        )
        .bind(profile.login.as_str())
        .bind(profile.login.canonical())
        .bind(profile.email.as_str())
        .bind(&new_email)
        .bind(profile.first_name.clone())
        .bind(profile.last_name.clone())
        .bind(profile.locale.clone())
        .bind(now)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict_on_unique(e, "a user with this login"))?;
        if old_email != new_email {
            crate::recovery::end_account_flows(&mut tx, id, now, None).await?;
        }
        audit.record(&mut tx, EventType::ProfileUpdate, Party::user(id, profile.login.as_str()), now).await?;
        if let Some(change) = password {
            crate::password_change::apply(&mut tx, change, now).await?;
        }
        tx.commit().await?;
        self.user_by_id(id).await?.ok_or(StoreError::NotFound)
    }

    /// Sets a lifecycle status. Leaving ACTIVE for SUSPENDED/DEPROVISIONED ends live recovery.
    /// `unlock` (and reactivation) also clears the account's failure counters. The change is
    /// logged as `event_type` (the lifecycle operation that asked for it).
    pub async fn set_status(
        &self,
        id: &UserId,
        status: UserStatus,
        clear_counters: bool,
        (event_type, audit): (EventType, &Audit<'_>),
        now: Millis,
    ) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let changed = sqlx::query(
            "UPDATE users SET status = $1, status_changed_at = $2, last_updated_at = $2, \
             activated_at = CASE WHEN $1 = 'ACTIVE' AND activated_at IS NULL THEN $2 ELSE activated_at END WHERE id = $3",
        )
        .bind(status.as_str())
        .bind(now)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        if !status.can_recover() {
            crate::recovery::end_account_flows(&mut tx, id, now, None).await?;
        }
        if clear_counters {
            let keys = crate::counters::keys_of_account(&mut tx, id).await?;
            crate::counters::clear(&mut tx, &keys).await?;
        }
        audit.record(&mut tx, event_type, Party::user_id(id), now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Replaces the stored hash with one of the same password at today's Argon2 parameters
    /// (the transparent upgrade after a sign-in, STO-1, and an imported hash's first sign-in):
    /// not a new credential, nothing ends. Only while `verified_hash` is still the stored one:
    /// a password change that committed while the new hash was computed wins, and the old
    /// password's hash is never written back over it. Returns whether the hash was replaced.
    pub async fn rehash_password(&self, id: &UserId, verified_hash: &str, hash: &str) -> Result<bool> {
        let replaced = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
            .bind(hash)
            .bind(id.as_str())
            .bind(verified_hash)
            .execute(self.pool())
            .await?
            .rows_affected();
        Ok(replaced == 1)
    }

    pub async fn delete_user(&self, id: &UserId, audit: &Audit<'_>, now: Millis) -> Result<()> {
        let mut tx = self.write_tx().await?;
        crate::recovery::end_account_flows(&mut tx, id, now, None).await?;
        sqlx::query("DELETE FROM factors WHERE user_id = $1").bind(id.as_str()).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM containment_tokens WHERE user_id = $1").bind(id.as_str()).execute(&mut *tx).await?;
        let removed = sqlx::query("DELETE FROM users WHERE id = $1").bind(id.as_str()).execute(&mut *tx).await?.rows_affected();
        if removed == 0 {
            return Err(StoreError::NotFound);
        }
        audit.record(&mut tx, EventType::UserDelete, Party::user_id(id), now).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A user read inside a write transaction (a decision that composes mail for the account).
pub(crate) async fn user_in_tx(tx: &mut crate::Tx, id: &UserId) -> Result<Option<UserRecord>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1")).bind(id.as_str()).fetch_optional(&mut **tx).await?;
    row.as_ref().map(from_row).transpose()
}
