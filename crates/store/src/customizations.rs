//! Email template customizations (Okta's `/brands/{brandId}/templates/email/{name}/customizations`)
//! and the version counter that tells every server process its parsed cache is stale.
//!
//! Okta's rules that concern storage are kept here, each in the one write transaction that could
//! break it: one customization per language and template, at most one default, the first one
//! created is the default, and the default cannot be deleted while others remain.
//!
//! Every change is logged as `system.email.template.update` in its transaction, the
//! administrator as the actor and the customization (or, for a reset, the template) as the
//! target; `debugData.change` says which (`create`, `replace`, `delete`, `delete_all`). The
//! subject and body are never in the event.
use latchkey_domain::audit::{EventType, Outcome, Party, SecurityEvent};
use latchkey_domain::Millis;
use sqlx::any::AnyRow;

use crate::{conflict_on_unique, get_i64, get_str, Audit, Result, Store, StoreError, Tx};

/// The name of the counter row in `config_versions`.
const VERSION_NAME: &str = "email_customizations";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customization {
    pub id: String,
    pub brand_id: String,
    pub template_name: String,
    /// The BCP 47 tag as the administrator wrote it.
    pub language: String,
    pub subject: String,
    pub body: String,
    pub is_default: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A create or replace. `language_key` is the normalised tag (lower case, `-`), unique per
/// template; `is_default: None` means "not said" (the first customization becomes the default).
#[derive(Debug, Clone)]
pub struct CustomizationWrite<'a> {
    pub language: &'a str,
    pub language_key: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub is_default: Option<bool>,
}

const COLUMNS: &str = "id, brand_id, template_name, language, subject, body, is_default, created_at, updated_at";

fn from_row(row: &AnyRow) -> Result<Customization> {
    Ok(Customization {
        id: get_str(row, "id")?,
        brand_id: get_str(row, "brand_id")?,
        template_name: get_str(row, "template_name")?,
        language: get_str(row, "language")?,
        subject: get_str(row, "subject")?,
        body: get_str(row, "body")?,
        is_default: get_i64(row, "is_default")? != 0,
        created_at: get_i64(row, "created_at")?,
        updated_at: get_i64(row, "updated_at")?,
    })
}

/// The System Log entry of a change: `target` is the customization `(id, language)`, or `None`
/// when every customization of the template went.
async fn record_change(
    tx: &mut Tx,
    (audit, now): (&Audit<'_>, Millis),
    (template, change): (&str, &'static str),
    target: Option<(&str, &str)>,
) -> Result<()> {
    let party = match target {
        Some((id, language)) => Party {
            id: Some(id.to_owned()),
            kind: "EmailCustomization",
            alternate_id: Some(format!("{template}/{language}")),
            display_name: None,
        },
        None => Party { id: Some(template.to_owned()), kind: "EmailTemplate", alternate_id: None, display_name: None },
    };
    let mut event = SecurityEvent::new(EventType::EmailTemplateUpdate, Outcome::Success, audit.actor.clone())
        .target(party)
        .detail("change", change)
        .detail("template", template);
    if let Some((_, language)) = target {
        event = event.detail("language", language);
    }
    crate::system_log::record(tx, &event, audit.context, now).await
}

async fn bump_version(tx: &mut Tx) -> Result<()> {
    sqlx::query("UPDATE config_versions SET version = version + 1 WHERE name = $1").bind(VERSION_NAME).execute(&mut **tx).await?;
    Ok(())
}

/// The customizations of a template, read for a change. The version row is locked first, so
/// concurrent changes queue: two "first" customizations cannot both see none and both become
/// the default (PostgreSQL row lock; SQLite's immediate transaction already serialises).
async fn rows_of(tx: &mut Tx, store: &Store, brand: &str, template: &str) -> Result<Vec<Customization>> {
    sqlx::query(&format!("SELECT version FROM config_versions WHERE name = $1{}", store.dialect().for_update()))
        .bind(VERSION_NAME)
        .fetch_optional(&mut **tx)
        .await?;
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM email_customizations WHERE brand_id = $1 AND template_name = $2 ORDER BY created_at, id{}",
        store.dialect().for_update()
    ))
    .bind(brand)
    .bind(template)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Runs an insert or update whose placeholders are, in order: the written fields, the default
/// flag, the time, then id, brand and template. A second customization in one language is a
/// conflict; every write bumps the version counter.
#[allow(clippy::too_many_arguments)]
async fn write_row(
    tx: &mut Tx,
    sql: &str,
    write: &CustomizationWrite<'_>,
    is_default: bool,
    now: Millis,
    id: &str,
    brand: &str,
    template: &str,
) -> Result<()> {
    sqlx::query(sql)
        .bind(write.language)
        .bind(write.language_key)
        .bind(write.subject)
        .bind(write.body)
        .bind(i64::from(is_default))
        .bind(now)
        .bind(id)
        .bind(brand)
        .bind(template)
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict_on_unique(e, "a customization in this language"))?;
    bump_version(tx).await
}

async fn clear_default(tx: &mut Tx, brand: &str, template: &str, now: Millis) -> Result<()> {
    sqlx::query(
        "UPDATE email_customizations SET is_default = 0, updated_at = $1 WHERE brand_id = $2 AND template_name = $3 AND is_default = 1",
    )
    .bind(now)
    .bind(brand)
    .bind(template)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl Store {
    /// The customizations of one template, oldest first.
    pub async fn email_customizations(&self, brand: &str, template: &str) -> Result<Vec<Customization>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM email_customizations WHERE brand_id = $1 AND template_name = $2 ORDER BY created_at, id"
        ))
        .bind(brand)
        .bind(template)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every customization of every template (what the renderer's cache loads).
    pub async fn all_email_customizations(&self) -> Result<Vec<Customization>> {
        let rows =
            sqlx::query(&format!("SELECT {COLUMNS} FROM email_customizations ORDER BY created_at, id")).fetch_all(self.pool()).await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn email_customization(&self, brand: &str, template: &str, id: &str) -> Result<Option<Customization>> {
        let row =
            sqlx::query(&format!("SELECT {COLUMNS} FROM email_customizations WHERE brand_id = $1 AND template_name = $2 AND id = $3"))
                .bind(brand)
                .bind(template)
                .bind(id)
                .fetch_optional(self.pool())
                .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Bumped by every change; a process whose cache was built at another value reloads.
    pub async fn email_customizations_version(&self) -> Result<i64> {
        let row = sqlx::query("SELECT version FROM config_versions WHERE name = $1").bind(VERSION_NAME).fetch_optional(self.pool()).await?;
        Ok(row.map(|r| get_i64(&r, "version")).transpose()?.unwrap_or(0))
    }

    /// Creates a customization. The first of a template is the default whatever was asked;
    /// asking for a second default is a conflict (Okta answers 409), as is a second
    /// customization in the same language.
    pub async fn create_email_customization(
        &self,
        brand: &str,
        template: &str,
        write: &CustomizationWrite<'_>,
        audit: &Audit<'_>,
        now: Millis,
    ) -> Result<Customization> {
        let mut tx = self.write_tx().await?;
        let existing = rows_of(&mut tx, self, brand, template).await?;
        if write.is_default == Some(true) && existing.iter().any(|c| c.is_default) {
            return Err(StoreError::Conflict("a default customization"));
        }
        let id = latchkey_domain::secret::okta_style_id("oel");
        let is_default = existing.is_empty() || write.is_default == Some(true);
        let sql = "INSERT INTO email_customizations (language, language_key, subject, body, is_default, created_at, updated_at, id, brand_id, template_name) \
                   VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9)";
        write_row(&mut tx, sql, write, is_default, now, &id, brand, template).await?;
        record_change(&mut tx, (audit, now), (template, "create"), Some((&id, write.language))).await?;
        tx.commit().await?;
        self.email_customization(brand, template, &id).await?.ok_or(StoreError::NotFound)
    }

    /// Replaces a customization. `isDefault: true` moves the default here (Okta clears the
    /// previous one); `false` on the default is refused while it is the one that others fall
    /// back to, since a template with customizations always has a default.
    pub async fn replace_email_customization(
        &self,
        brand: &str,
        template: &str,
        id: &str,
        write: &CustomizationWrite<'_>,
        audit: &Audit<'_>,
        now: Millis,
    ) -> Result<Customization> {
        let mut tx = self.write_tx().await?;
        let existing = rows_of(&mut tx, self, brand, template).await?;
        let current = existing.iter().find(|c| c.id == id).ok_or(StoreError::NotFound)?;
        let is_default = match write.is_default {
            Some(true) => true,
            Some(false) if current.is_default => {
                return Err(StoreError::Conflict("a default customization is required; make another one the default"))
            }
            Some(false) => false,
            None => current.is_default,
        };
        if is_default && !current.is_default {
            clear_default(&mut tx, brand, template, now).await?;
        }
        let sql =
            "UPDATE email_customizations SET language = $1, language_key = $2, subject = $3, body = $4, is_default = $5, updated_at = $6 \
                   WHERE id = $7 AND brand_id = $8 AND template_name = $9";
        write_row(&mut tx, sql, write, is_default, now, id, brand, template).await?;
        record_change(&mut tx, (audit, now), (template, "replace"), Some((id, write.language))).await?;
        tx.commit().await?;
        self.email_customization(brand, template, id).await?.ok_or(StoreError::NotFound)
    }

    /// Deletes one customization. The default goes only when it is the last one (Okta: 409).
    pub async fn delete_email_customization(&self, brand: &str, template: &str, id: &str, audit: &Audit<'_>, now: Millis) -> Result<()> {
        let mut tx = self.write_tx().await?;
        let existing = rows_of(&mut tx, self, brand, template).await?;
        let current = existing.iter().find(|c| c.id == id).ok_or(StoreError::NotFound)?;
        if current.is_default && existing.len() > 1 {
            return Err(StoreError::Conflict("the default customization cannot be deleted while others exist"));
        }
        sqlx::query("DELETE FROM email_customizations WHERE id = $1").bind(id).execute(&mut *tx).await?;
        bump_version(&mut tx).await?;
        record_change(&mut tx, (audit, now), (template, "delete"), Some((id, &current.language))).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes every customization of a template: the built-in defaults apply again.
    pub async fn delete_email_customizations(&self, brand: &str, template: &str, audit: &Audit<'_>, now: Millis) -> Result<u64> {
        let mut tx = self.write_tx().await?;
        let removed = sqlx::query("DELETE FROM email_customizations WHERE brand_id = $1 AND template_name = $2")
            .bind(brand)
            .bind(template)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        bump_version(&mut tx).await?;
        record_change(&mut tx, (audit, now), (template, "delete_all"), None).await?;
        tx.commit().await?;
        Ok(removed)
    }
}
