//! Okta's email-customization API under `/api/v1/brands/{brandId}/templates/email`: the
//! templates, their built-in default content, administrators' customizations (one per
//! language, one default), previews with sample data and a test send.
//!
//! Every save goes through `latchkey_email::check_customization` (Okta's rules: BCP 47
//! language, subject ≤ 128 characters, body ≤ 64 KB, the body parses, names only documented
//! variables, and contains the variables its template needs). After a change, this process
//! reloads its parsed cache at once; other processes see the store's version counter move on
//! their outbox worker's next round.
use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use latchkey_email::{builtin_source, check_customization, language_key, EmailKind, EmailPayload, LANGUAGES};
use latchkey_store::{Customization, CustomizationWrite, StoreError};
use serde::Deserialize;
use serde_json::{json, Value};

use super::brands::known;
use super::render::iso;
use super::{AdminAuth, AdminError};
use crate::state::AppState;

/// `POST …/customizations` and `PUT …/customizations/{id}` body (strict: unknown members refused).
///
/// Okta's read-only members are accepted and ignored: the management SDK sends back the object
/// it read (with `id`, `created`, `lastUpdated`, `_links`) when an app edits and saves it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CustomizationBody {
    language: String,
    subject: String,
    body: String,
    #[serde(default)]
    is_default: Option<bool>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "created")]
    _created: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "lastUpdated")]
    _last_updated: Option<serde::de::IgnoredAny>,
    #[serde(default, rename = "_links")]
    _links: Option<serde::de::IgnoredAny>,
}

fn template(name: &str) -> Result<EmailKind, AdminError> {
    // Only Okta's spelling is accepted on the wire (`AccountLockout`, not the Rust name).
    EmailKind::ALL
        .into_iter()
        .find(|k| k.as_str() == name)
        .ok_or_else(|| AdminError::NotFound(format!("Resource not found: {name} (EmailTemplate)")))
}

/// The brand and template a path names, or 404.
fn target(brand: &str, name: &str) -> Result<(&'static str, EmailKind), AdminError> {
    Ok((known(brand)?, template(name)?))
}

/// The built-in source of a template in the language `?language=` asks for.
fn builtin(kind: EmailKind, query: &HashMap<String, String>) -> Result<(&'static str, &'static latchkey_email::BuiltinSource), AdminError> {
    let lang = builtin_language(query)?;
    let source = builtin_source(kind, lang).ok_or_else(|| AdminError::Internal(anyhow::anyhow!("no built-in {kind}")))?;
    Ok((lang, source))
}

fn template_href(state: &AppState, brand: &str, kind: EmailKind) -> String {
    format!("{}/api/v1/brands/{brand}/templates/email/{}", state.public_url, kind.as_str())
}

fn link(href: String, allow: &[&str]) -> Value {
    json!({"href": href, "hints": {"allow": allow}})
}

fn template_json(state: &AppState, brand: &str, kind: EmailKind) -> Value {
    let base = template_href(state, brand, kind);
    json!({
        "name": kind.as_str(),
        "_links": {
            "self": link(base.clone(), &["GET"]),
            "defaultContent": link(format!("{base}/default-content"), &["GET"]),
            "customizations": link(format!("{base}/customizations"), &["GET", "POST", "DELETE"]),
            "test": link(format!("{base}/test"), &["POST"]),
        }
    })
}

fn customization_json(state: &AppState, kind: EmailKind, c: &Customization) -> Value {
    let base = template_href(state, &c.brand_id, kind);
    let href = format!("{base}/customizations/{}", c.id);
    json!({
        "id": c.id,
        "language": c.language,
        "subject": c.subject,
        "body": c.body,
        "isDefault": c.is_default,
        "created": iso(c.created_at),
        "lastUpdated": iso(c.updated_at),
        "_links": {
            "self": link(href.clone(), &["GET", "PUT", "DELETE"]),
            "template": link(base.clone(), &["GET"]),
            "preview": link(format!("{href}/preview"), &["GET"]),
            "test": link(format!("{base}/test"), &["POST"]),
        }
    })
}

/// The built-in language `?language=` names (exact, else its primary subtag), else English.
fn builtin_language(query: &HashMap<String, String>) -> Result<&'static str, AdminError> {
    let Some(requested) = query.get("language") else { return Ok("en") };
    let key = language_key(requested)
        .ok_or_else(|| AdminError::Validation(vec![format!("language: {requested:?} is not a valid BCP 47 language tag")]))?;
    let primary = key.split('-').next().unwrap_or("en");
    Ok(LANGUAGES.iter().find(|l| **l == primary).copied().unwrap_or("en"))
}

pub(super) async fn reload(state: &AppState) {
    if let Err(error) = state.renderer.refresh_customizations(&state.store).await {
        tracing::warn!(%error, "could not reload email customizations after a change");
    }
}

fn preview_recipient(state: &AppState) -> String {
    state.settings.admin.email.clone().unwrap_or_else(|| "admin@example.com".to_owned())
}

async fn sample(state: &AppState, kind: EmailKind, language: Option<&str>) -> Result<(EmailPayload, DateTime<Utc>), AdminError> {
    let now = state.store.now().await?;
    let payload = crate::mail::sample_payload(state, kind, language, &preview_recipient(state), now);
    Ok((payload, DateTime::from_timestamp_millis(now).unwrap_or_else(Utc::now)))
}

fn preview_json(state: &AppState, brand: &str, kind: EmailKind, subject: String, body: String, source: String) -> Value {
    let base = template_href(state, brand, kind);
    json!({
        "subject": subject,
        "body": body,
        "_links": {
            "self": link(format!("{source}/preview"), &["GET"]),
            "contentSource": link(source, &["GET"]),
            "template": link(base.clone(), &["GET"]),
            "test": link(format!("{base}/test"), &["POST"]),
            "defaultContent": link(format!("{base}/default-content"), &["GET"]),
        }
    })
}

/// Store conflicts in Okta's words.
fn conflict(error: StoreError) -> AdminError {
    match error {
        StoreError::Conflict("a default customization") => {
            AdminError::Conflict { code: "E0000182", summary: "A default email customization already exists for this template.".to_owned() }
        }
        StoreError::Conflict("a customization in this language") => AdminError::Conflict {
            code: "E0000183",
            summary: "An email customization already exists for this template in this language.".to_owned(),
        },
        StoreError::Conflict(what) => AdminError::Conflict { code: "E0000184", summary: format!("Conflict: {what}.") },
        other => other.into(),
    }
}

fn parse_body(kind: EmailKind, bytes: &Bytes) -> Result<(CustomizationBody, String), AdminError> {
    let body: CustomizationBody = crate::http::json::parse_into(bytes)?;
    check_customization(kind, &body.language, &body.subject, &body.body)
        .map_err(|problems| AdminError::Validation(problems.iter().map(ToString::to_string).collect()))?;
    let key = language_key(&body.language).unwrap_or_default();
    Ok((body, key))
}

#[tracing::instrument(name = "admin.email_templates.list", skip_all)]
pub async fn list(_: AdminAuth, State(state): State<AppState>, Path(brand): Path<String>) -> Result<Response, AdminError> {
    let brand = known(&brand)?;
    let templates: Vec<Value> = EmailKind::ALL.into_iter().map(|k| template_json(&state, brand, k)).collect();
    Ok(Json(templates).into_response())
}

#[tracing::instrument(name = "admin.email_templates.get", skip_all)]
pub async fn get(_: AdminAuth, State(state): State<AppState>, Path((brand, name)): Path<(String, String)>) -> Result<Response, AdminError> {
    let brand = known(&brand)?;
    Ok(Json(template_json(&state, brand, template(&name)?)).into_response())
}

/// `…/default-content`: the built-in subject and whole HTML document (what a customization
/// starts from); `…/default-content/preview` (`preview`): the same rendered with sample data.
#[tracing::instrument(name = "admin.email_templates.default_content", skip_all, fields(preview = preview))]
pub async fn default_content(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((brand, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    preview: bool,
) -> Result<Response, AdminError> {
    let (brand, kind) = target(&brand, &name)?;
    let (lang, source) = builtin(kind, &query)?;
    let base = template_href(&state, brand, kind);
    if preview {
        let templates = latchkey_email::EmailTemplates::parse(source.subject, &source.html_document(), source.text)
            .map_err(|e| AdminError::Internal(e.into()))?;
        let (payload, now) = sample(&state, kind, Some(lang)).await?;
        let rendered = state.renderer.render_in(&templates, lang, &payload, now).map_err(|e| AdminError::Internal(e.into()))?;
        return Ok(
            Json(preview_json(&state, brand, kind, rendered.subject, rendered.html, format!("{base}/default-content"))).into_response()
        );
    }
    Ok(Json(json!({
        "subject": source.subject.trim_end(),
        "body": source.html_document(),
        "_links": {
            "self": link(format!("{base}/default-content"), &["GET"]),
            "template": link(base.clone(), &["GET"]),
            "preview": link(format!("{base}/default-content/preview"), &["GET"]),
            "test": link(format!("{base}/test"), &["POST"]),
        }
    }))
    .into_response())
}

#[tracing::instrument(name = "admin.email_customizations.list", skip_all)]
pub async fn list_customizations(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((brand, name)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    let (brand, kind) = target(&brand, &name)?;
    let rows = state.store.email_customizations(brand, kind.as_str()).await?;
    Ok(Json(rows.iter().map(|c| customization_json(&state, kind, c)).collect::<Vec<_>>()).into_response())
}

#[tracing::instrument(name = "admin.email_customizations.create", skip_all)]
pub async fn create(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((brand, name)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let (brand, kind) = target(&brand, &name)?;
    let (body, key) = parse_body(kind, &bytes)?;
    let now = state.store.now().await?;
    let write = CustomizationWrite {
        language: &body.language,
        language_key: &key,
        subject: &body.subject,
        body: &body.body,
        is_default: body.is_default,
    };
    let created = state.store.create_email_customization(brand, kind.as_str(), &write, &auth.audit(), now).await.map_err(conflict)?;
    reload(&state).await;
    tracing::info!(event = "admin.email_customization_created", template = kind.as_str(), id = %created.id, "email customization created");
    Ok((StatusCode::CREATED, Json(customization_json(&state, kind, &created))).into_response())
}

async fn find(state: &AppState, brand: &str, kind: EmailKind, id: &str) -> Result<Customization, AdminError> {
    state
        .store
        .email_customization(brand, kind.as_str(), id)
        .await?
        .ok_or_else(|| AdminError::NotFound(format!("Resource not found: {id} (EmailCustomization)")))
}

#[tracing::instrument(name = "admin.email_customizations.get", skip_all)]
pub async fn get_customization(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((brand, name, id)): Path<(String, String, String)>,
) -> Result<Response, AdminError> {
    let (brand, kind) = target(&brand, &name)?;
    Ok(Json(customization_json(&state, kind, &find(&state, brand, kind, &id).await?)).into_response())
}

#[tracing::instrument(name = "admin.email_customizations.replace", skip_all)]
pub async fn replace(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((brand, name, id)): Path<(String, String, String)>,
    bytes: Bytes,
) -> Result<Response, AdminError> {
    let (brand, kind) = target(&brand, &name)?;
    let (body, key) = parse_body(kind, &bytes)?;
    if body.id.as_deref().is_some_and(|given| given != id) {
        return Err(AdminError::Validation(vec!["id: does not match the customization in the path".to_owned()]));
    }
    let now = state.store.now().await?;
    let write = CustomizationWrite {
        language: &body.language,
        language_key: &key,
        subject: &body.subject,
        body: &body.body,
        is_default: body.is_default,
    };
    let replaced =
        state.store.replace_email_customization(brand, kind.as_str(), &id, &write, &auth.audit(), now).await.map_err(conflict)?;
    reload(&state).await;
    tracing::info!(event = "admin.email_customization_replaced", template = kind.as_str(), id = %replaced.id, "email customization replaced");
    Ok(Json(customization_json(&state, kind, &replaced)).into_response())
}

#[tracing::instrument(name = "admin.email_customizations.delete", skip_all)]
pub async fn delete_customization(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((brand, name, id)): Path<(String, String, String)>,
) -> Result<Response, AdminError> {
    let (brand, kind) = target(&brand, &name)?;
    let now = state.store.now().await?;
    state.store.delete_email_customization(brand, kind.as_str(), &id, &auth.audit(), now).await.map_err(conflict)?;
    reload(&state).await;
    tracing::info!(event = "admin.email_customization_deleted", template = kind.as_str(), id = %id, "email customization deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[tracing::instrument(name = "admin.email_customizations.delete_all", skip_all)]
pub async fn delete_all(
    auth: AdminAuth,
    State(state): State<AppState>,
    Path((brand, name)): Path<(String, String)>,
) -> Result<Response, AdminError> {
    let (brand, kind) = target(&brand, &name)?;
    let now = state.store.now().await?;
    state.store.delete_email_customizations(brand, kind.as_str(), &auth.audit(), now).await?;
    reload(&state).await;
    tracing::info!(
        event = "admin.email_customizations_deleted",
        template = kind.as_str(),
        "all email customizations of a template deleted"
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The customization rendered with sample data (the text part is what the email would carry).
#[tracing::instrument(name = "admin.email_customizations.preview", skip_all)]
pub async fn preview(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((brand, name, id)): Path<(String, String, String)>,
) -> Result<Response, AdminError> {
    let (brand, kind) = target(&brand, &name)?;
    let c = find(&state, brand, kind, &id).await?;
    let templates = check_customization(kind, &c.language, &c.subject, &c.body)
        .map_err(|problems| AdminError::Validation(problems.iter().map(ToString::to_string).collect()))?;
    let lang = language_key(&c.language).and_then(|k| k.split('-').next().map(str::to_owned)).unwrap_or_else(|| "en".to_owned());
    let (payload, now) = sample(&state, kind, Some(&c.language)).await?;
    let rendered = state.renderer.render_in(&templates, &lang, &payload, now).map_err(|e| AdminError::Internal(e.into()))?;
    let source = format!("{}/customizations/{}", template_href(&state, brand, kind), c.id);
    Ok(Json(preview_json(&state, brand, kind, rendered.subject, rendered.html, source)).into_response())
}

/// Sends the template, as a user with `?language=` would get it (customizations included), to
/// `LATCHKEY_ADMIN_EMAIL` through the outbox, with sample data.
#[tracing::instrument(name = "admin.email_templates.test", skip_all)]
pub async fn test(
    _: AdminAuth,
    State(state): State<AppState>,
    Path((brand, name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AdminError> {
    let (_, kind) = target(&brand, &name)?;
    let Some(recipient) = state.settings.admin.email.clone() else {
        return Err(AdminError::Validation(vec!["recipient: no test recipient is configured; set LATCHKEY_ADMIN_EMAIL".to_owned()]));
    };
    let language = match query.get("language") {
        Some(l) => Some(
            language_key(l).ok_or_else(|| AdminError::Validation(vec![format!("language: {l:?} is not a valid BCP 47 language tag")]))?,
        ),
        None => None,
    };
    // The outbox worker renders it with the customizations current at send time.
    let (payload, _) = sample(&state, kind, language.as_deref()).await?;
    let keys = state.keys().await;
    let message =
        latchkey_email::new_outbox_message(&keys.outbox_key(), &recipient, &payload, None).map_err(|e| AdminError::Internal(e.into()))?;
    let now = state.store.now().await?;
    state.store.enqueue_message(&message, now).await?;
    state.outbox_wake.notify_one();
    tracing::info!(event = "admin.email_template_test", template = kind.as_str(), "test email queued");
    Ok(StatusCode::NO_CONTENT.into_response())
}
