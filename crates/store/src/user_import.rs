//! Bulk user import: many users per statement, one transaction per batch, hashes computed by
//! the caller (an imported hash as it came, or Argon2id for a plain password).
//!
//! Idempotent: a user whose login (canonical form) already exists is skipped, not updated, so
//! an import that stopped half-way can be run again from the start, or resumed from any line
//! at or before where it stopped. Used by `latchkey users import` and to seed benchmarks.
use latchkey_domain::{Millis, UserStatus};

use crate::{NewUser, Result, Store};

/// Users per statement: 15 parameters each stays far below SQLite's 32 766 and PostgreSQL's
/// 65 535 bound parameters.
pub const IMPORT_STATEMENT_ROWS: usize = 500;

impl Store {
    /// Inserts `users` (any number, in statements of `IMPORT_STATEMENT_ROWS`) in one
    /// transaction and returns how many were new; existing logins are left as they are.
    pub async fn import_users(&self, users: &[NewUser], now: Millis) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let mut inserted = 0;
        for chunk in users.chunks(IMPORT_STATEMENT_ROWS) {
            let sql = insert_statement(chunk.len());
            let mut query = sqlx::query(&sql);
            for user in chunk {
                let activated = matches!(user.status, UserStatus::Active | UserStatus::Provisioned).then_some(now);
                query = query
                    .bind(user.id.as_str())
                    .bind(user.status.as_str())
                    .bind(user.profile.login.as_str())
                    .bind(user.profile.login.canonical())
                    .bind(user.profile.email.as_str())
                    .bind(latchkey_domain::identifier::canonicalize(user.profile.email.as_str()))
                    .bind(user.profile.first_name.clone())
                    .bind(user.profile.last_name.clone())
                    .bind(user.profile.locale.clone())
                    .bind(user.password_hash.clone())
                    .bind(user.password_hash.as_ref().map(|_| now))
                    .bind(now)
                    .bind(activated)
                    .bind(activated)
                    .bind(now);
            }
            inserted += query.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(inserted)
    }
}

/// `INSERT … VALUES (…), (…) ON CONFLICT DO NOTHING` for `rows` users (both databases accept
/// it; the conflict is the unique login).
fn insert_statement(rows: usize) -> String {
    const COLUMNS: usize = 15;
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let params: Vec<String> = (1..=COLUMNS).map(|col| format!("${}", row * COLUMNS + col)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO users (id, status, login, login_canonical, email, email_canonical, first_name, last_name, locale, \
         password_hash, password_changed_at, created_at, activated_at, status_changed_at, last_updated_at) VALUES {} \
         ON CONFLICT DO NOTHING",
        values.join(", ")
    )
}
