//! Okta's Themes API on the default brand (issue 13, item 7): `GET …/brands/{brandId}/themes`
//! (the only way to learn a theme's id), `GET`/`PUT …/themes/{themeId}`, and `POST`/`DELETE`
//! `…/themes/{themeId}/logo` and `…/favicon` (multipart, field `file`).
//!
//! Colours are never refused; the `*ContrastHex` members are computed (`latchkey_domain::brand`).
//! Images must be PNG or JPEG by their own bytes, whatever the upload claims: SVG can carry
//! script and is not accepted.
use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use latchkey_domain::brand::{variants, HexColor, ImageType};
use latchkey_store::{ThemeImage, ThemeRecord};
use serde::Deserialize;
use serde_json::{json, Value};

use super::brands::known;
// Emails show the theme: this process renders a change at once (the others within a poll).
use super::email_templates::reload as reload_emails;
use super::{AdminAuth, AdminError};
use crate::state::AppState;

/// Largest logo or favicon accepted.
const MAX_IMAGE_BYTES: usize = 100 * 1024;

/// `PUT …/themes/{themeId}` (strict; Okta's read-only members are accepted and ignored, since
/// the SDKs send back the theme they read).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ThemeBody {
    primary_color_hex: String,
    secondary_color_hex: String,
    sign_in_page_touch_point_variant: String,
    end_user_dashboard_touch_point_variant: String,
    error_page_touch_point_variant: String,
    email_template_touch_point_variant: String,
    #[serde(default)]
    loading_page_touch_point_variant: Option<String>,
    #[serde(default, rename = "primaryColorContrastHex")]
    _primary_contrast: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "secondaryColorContrastHex")]
    _secondary_contrast: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "id")]
    _id: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "logo")]
    _logo: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "favicon")]
    _favicon: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "backgroundImage")]
    _background_image: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "_links")]
    _links: Option<serde::de::IgnoredAny>,
}

fn theme_json(state: &AppState, theme: &ThemeRecord) -> Value {
    let colour = |hex: &str| HexColor::parse(hex).unwrap_or(HexColor::BLACK);
    let (primary, secondary) = (colour(&theme.primary_color_hex), colour(&theme.secondary_color_hex));
    let base = format!("{}/api/v1/brands/{}/themes/{}", state.public_url, theme.brand_id, theme.id);
    let image = |set: bool, path: &str| set.then(|| format!("{}/branding/v1/{path}?v={}", state.public_url, theme.updated_at));
    json!({
        "id": theme.id,
        "logo": image(theme.logo.is_some(), "logo"),
        "favicon": image(theme.favicon.is_some(), "favicon"),
        "backgroundImage": null,
        "primaryColorHex": primary.hex(),
        "primaryColorContrastHex": primary.contrast_text().hex(),
        "secondaryColorHex": secondary.hex(),
        "secondaryColorContrastHex": secondary.contrast_text().hex(),
        "signInPageTouchPointVariant": theme.sign_in_page_variant,
        "endUserDashboardTouchPointVariant": theme.end_user_dashboard_variant,
        "errorPageTouchPointVariant": theme.error_page_variant,
        "emailTemplateTouchPointVariant": theme.email_template_variant,
        "loadingPageTouchPointVariant": theme.loading_page_variant,
        "_links": {
            "self": {"href": base, "hints": {"allow": ["GET", "PUT"]}},
            "uploadLogo": {"href": format!("{base}/logo"), "hints": {"allow": ["POST", "DELETE"]}},
            "uploadFavicon": {"href": format!("{base}/favicon"), "hints": {"allow": ["POST", "DELETE"]}},
        }
    })
}

async fn find(state: &AppState, brand: &str, theme: &str) -> Result<ThemeRecord, AdminError> {
    let brand = known(brand)?;
    state.store.theme(brand, theme).await?.ok_or_else(|| AdminError::NotFound(format!("Resource not found: {theme} (Theme)")))
}

#[tracing::instrument(name = "admin.themes.list", skip_all)]
pub async fn list(_: AdminAuth, State(state): State<AppState>, Path(brand): Path<String>) -> Result<Response, AdminError> {
    let brand = known(&brand)?;
    let themes: Vec<Value> = state.store.themes(brand).await?.iter().map(|t| theme_json(&state, t)).collect();
    Ok(Json(themes).into_response())
}

#[tracing::instrument(name = "admin.themes.get", skip_all)]
pub async fn get(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((brand, theme)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    Ok(Json(theme_json(&state, &find(&state, &brand, &theme).await?)).into_response())
}

#[tracing::instrument(name = "admin.themes.replace", skip_all)]
pub async fn replace(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((brand, theme)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let current = find(&state, &brand, &theme).await?;
    let body: ThemeBody = crate::http::json::parse_into(&bytes)?;
    let mut problems = Vec::new();
    let mut colour = |name: &str, value: &str| match HexColor::parse(value) {
        Ok(c) => c.hex(),
        Err(e) => {
            problems.push(format!("{name}: {e}"));
            String::new()
        }
    };
    let primary = colour("primaryColorHex", &body.primary_color_hex);
    let secondary = colour("secondaryColorHex", &body.secondary_color_hex);
    let mut variant = |name: &str, value: &str, allowed: &[&str]| {
        if !allowed.contains(&value) {
            problems.push(format!("{name}: must be one of {}", allowed.join(", ")));
        }
        value.to_owned()
    };
    let updated = ThemeRecord {
        primary_color_hex: primary,
        secondary_color_hex: secondary,
        sign_in_page_variant: variant("signInPageTouchPointVariant", &body.sign_in_page_touch_point_variant, variants::SIGN_IN_PAGE),
        end_user_dashboard_variant: variant(
            "endUserDashboardTouchPointVariant",
            &body.end_user_dashboard_touch_point_variant,
            variants::END_USER_DASHBOARD,
        ),
        error_page_variant: variant("errorPageTouchPointVariant", &body.error_page_touch_point_variant, variants::ERROR_PAGE),
        email_template_variant: variant(
            "emailTemplateTouchPointVariant",
            &body.email_template_touch_point_variant,
            variants::EMAIL_TEMPLATE,
        ),
        loading_page_variant: match &body.loading_page_touch_point_variant {
            Some(value) => variant("loadingPageTouchPointVariant", value, variants::LOADING_PAGE),
            None => current.loading_page_variant.clone(),
        },
        ..current
    };
    if !problems.is_empty() {
        return Err(AdminError::Validation(problems));
    }
    let now = state.store.now().await?;
    if !state.store.replace_theme(&updated, &auth.audit(), now).await? {
        return Err(AdminError::NotFound(format!("Resource not found: {theme} (Theme)")));
    }
    reload_emails(&state).await;
    tracing::info!(event = "admin.theme_replaced", theme = %updated.id, "brand theme replaced");
    let saved = find(&state, &brand, &theme).await?;
    Ok(Json(theme_json(&state, &saved)).into_response())
}

/// `POST …/logo` or `…/favicon`: the multipart field `file`, PNG or JPEG, at most 100 KiB.
#[tracing::instrument(name = "admin.themes.upload", skip_all)]
pub async fn upload(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((brand, theme)): Path<(String, String)>,
    which: ThemeImage,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AdminError> {
    // Not multipart at all: refused in Okta's shape like any other malformed body.
    let mut multipart = multipart.map_err(|e| AdminError::Malformed(format!("multipart body: {e}")))?;
    let current = find(&state, &brand, &theme).await?;
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(|e| AdminError::Malformed(format!("multipart body: {e}")))? {
        if field.name() == Some("file") {
            file = Some(field.bytes().await.map_err(|e| AdminError::Malformed(format!("multipart body: {e}")))?);
        }
    }
    let file = file.ok_or_else(|| AdminError::Validation(vec!["file: a multipart field named file is required".to_owned()]))?;
    if file.len() > MAX_IMAGE_BYTES {
        return Err(AdminError::Validation(vec![format!("file: at most {} KiB", MAX_IMAGE_BYTES / 1024)]));
    }
    let kind = ImageType::sniff(&file).ok_or_else(|| {
        AdminError::Validation(vec!["file: must be a PNG or JPEG image (SVG is not accepted: it can carry script)".to_owned()])
    })?;
    let now = state.store.now().await?;
    let encoded = STANDARD.encode(&file);
    state.store.set_theme_image(&current.brand_id, &current.id, which, Some((kind.mime(), &encoded)), &auth.audit(), now).await?;
    reload_emails(&state).await;
    tracing::info!(event = "admin.theme_image_set", theme = %current.id, image = ?which, "brand theme image set");
    let path = if which == ThemeImage::Logo { "logo" } else { "favicon" };
    Ok((StatusCode::CREATED, Json(json!({"url": format!("{}/branding/v1/{path}?v={now}", state.public_url)}))).into_response())
}

#[tracing::instrument(name = "admin.themes.delete_image", skip_all)]
pub async fn delete_image(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((brand, theme)): Path<(String, String)>,
    which: ThemeImage,
) -> Result<Response, AdminError> {
    let current = find(&state, &brand, &theme).await?;
    let now = state.store.now().await?;
    state.store.set_theme_image(&current.brand_id, &current.id, which, None, &auth.audit(), now).await?;
    reload_emails(&state).await;
    Ok(StatusCode::NO_CONTENT.into_response())
}
