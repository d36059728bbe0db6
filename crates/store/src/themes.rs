//! The brand's theme (`brand_themes`): one row per brand, created by the migration, read by the
//! hosted pages and the management API, changed only by the management API.
use latchkey_domain::Millis;
use sqlx::any::AnyRow;

use crate::{get_i64, get_opt_str, get_str, Result, Store};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeRecord {
    pub id: String,
    pub brand_id: String,
    pub primary_color_hex: String,
    pub secondary_color_hex: String,
    pub sign_in_page_variant: String,
    pub end_user_dashboard_variant: String,
    pub error_page_variant: String,
    pub email_template_variant: String,
    pub loading_page_variant: String,
    /// MIME type and base64 bytes of the uploaded logo, if any.
    pub logo: Option<(String, String)>,
    pub favicon: Option<(String, String)>,
    pub updated_at: Millis,
}

/// Which uploaded image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThemeImage {
    Logo,
    Favicon,
}

impl ThemeImage {
    fn columns(self) -> (&'static str, &'static str) {
        match self {
            Self::Logo => ("logo_type", "logo_base64"),
            Self::Favicon => ("favicon_type", "favicon_base64"),
        }
    }
}

const COLUMNS: &str = "id, brand_id, primary_color_hex, secondary_color_hex, sign_in_page_variant, end_user_dashboard_variant, \
                       error_page_variant, email_template_variant, loading_page_variant, logo_type, logo_base64, favicon_type, \
                       favicon_base64, updated_at";

fn from_row(row: &AnyRow) -> Result<ThemeRecord> {
    let image = |kind: &str, data: &str| -> Result<Option<(String, String)>> { Ok(get_opt_str(row, kind)?.zip(get_opt_str(row, data)?)) };
    Ok(ThemeRecord {
        id: get_str(row, "id")?,
        brand_id: get_str(row, "brand_id")?,
        primary_color_hex: get_str(row, "primary_color_hex")?,
        secondary_color_hex: get_str(row, "secondary_color_hex")?,
        sign_in_page_variant: get_str(row, "sign_in_page_variant")?,
        end_user_dashboard_variant: get_str(row, "end_user_dashboard_variant")?,
        error_page_variant: get_str(row, "error_page_variant")?,
        email_template_variant: get_str(row, "email_template_variant")?,
        loading_page_variant: get_str(row, "loading_page_variant")?,
        logo: image("logo_type", "logo_base64")?,
        favicon: image("favicon_type", "favicon_base64")?,
        updated_at: get_i64(row, "updated_at")?,
    })
}

/// Emails render the theme (`brand.theme.*`): a change moves the counter every process's email
/// renderer watches, so each reloads it with the customizations.
async fn bump_email_version(tx: &mut crate::Tx) -> Result<()> {
    sqlx::query("UPDATE config_versions SET version = version + 1 WHERE name = 'email_customizations'").execute(&mut **tx).await?;
    Ok(())
}

impl Store {
    /// The themes of a brand (one, as in Okta).
    pub async fn themes(&self, brand_id: &str) -> Result<Vec<ThemeRecord>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM brand_themes WHERE brand_id = $1 ORDER BY id"))
            .bind(brand_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn theme(&self, brand_id: &str, theme_id: &str) -> Result<Option<ThemeRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM brand_themes WHERE brand_id = $1 AND id = $2"))
            .bind(brand_id)
            .bind(theme_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Replaces the colours and variants (the images stay). `false` when there is no such theme.
    pub async fn replace_theme(&self, theme: &ThemeRecord, now: Millis) -> Result<bool> {
        self.change_theme(
            sqlx::query(
                "UPDATE brand_themes SET primary_color_hex = $1, secondary_color_hex = $2, sign_in_page_variant = $3, \
                 end_user_dashboard_variant = $4, error_page_variant = $5, email_template_variant = $6, loading_page_variant = $7, \
                 updated_at = $8 WHERE brand_id = $9 AND id = $10",
            )
            .bind(&theme.primary_color_hex)
            .bind(&theme.secondary_color_hex)
            .bind(&theme.sign_in_page_variant)
            .bind(&theme.end_user_dashboard_variant)
            .bind(&theme.error_page_variant)
            .bind(&theme.email_template_variant)
            .bind(&theme.loading_page_variant)
            .bind(now)
            .bind(&theme.brand_id)
            .bind(&theme.id),
        )
        .await
    }

    /// Sets (`Some((mime, base64))`) or removes an image. `false` when there is no such theme.
    pub async fn set_theme_image(
        &self,
        brand_id: &str,
        theme_id: &str,
        which: ThemeImage,
        image: Option<(&str, &str)>,
        now: Millis,
    ) -> Result<bool> {
        let (kind, data) = which.columns();
        let sql = format!("UPDATE brand_themes SET {kind} = $1, {data} = $2, updated_at = $3 WHERE brand_id = $4 AND id = $5");
        self.change_theme(
            sqlx::query(&sql).bind(image.map(|(mime, _)| mime)).bind(image.map(|(_, bytes)| bytes)).bind(now).bind(brand_id).bind(theme_id),
        )
        .await
    }

    /// One theme update in a write transaction that also moves the email counter; `false` when
    /// no theme matched.
    async fn change_theme<'q>(&self, update: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>) -> Result<bool> {
        let mut tx = self.write_tx().await?;
        let done = update.execute(&mut *tx).await?.rows_affected() == 1;
        bump_email_version(&mut tx).await?;
        tx.commit().await?;
        Ok(done)
    }
}
