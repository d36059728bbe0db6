//! Turns a payload into subject, HTML and text: picks the language, builds the template
//! context and renders each part with the escaping its output needs.
//!
//! Escaping is the template engine's job (`latchkey_template::OutputMode`): the HTML part
//! HTML-escapes every value and percent-encodes values inside URL queries, the text part
//! escapes nothing (it is not HTML), and the subject drops CR/LF/NUL so no value can add a
//! header (security-checklist EML-1, EML-2).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use latchkey_template::{parse, Context, OutputMode, ParseError, Template, Value};

use latchkey_store::{Store, StoreError};

use crate::customized::Customizations;
use crate::html_text::html_to_text;
use crate::kinds::EmailKind;
use crate::locale;
use crate::payload::EmailPayload;
use crate::templates::{builtin_sources, LANGUAGES};
use crate::variables::all_documented;

/// A message ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// The parts hold codes and links.
impl std::fmt::Debug for RenderedEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderedEmail").finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    #[error("the {part} template does not parse: {error}")]
    Parse { part: &'static str, error: ParseError },
    #[error("the {part} template failed to render: {error}")]
    Render { part: &'static str, error: latchkey_template::RenderError },
}

/// The parsed parts of one email template.
#[derive(Debug, Clone)]
pub struct EmailTemplates {
    subject: Template,
    html: Template,
    text: TextPart,
}

/// Where the plain-text part comes from.
#[derive(Debug, Clone)]
enum TextPart {
    /// Written beside the HTML (the built-ins).
    Template(Template),
    /// Derived from the rendered HTML (administrators write one HTML body, as in Okta).
    FromHtml,
}

impl EmailTemplates {
    /// Parses the three parts. `html` is a whole document (the built-ins are composed with
    /// their layout before they get here).
    ///
    /// # Errors
    /// [`RenderError::Parse`] naming the part that does not parse.
    pub fn parse(subject: &str, html: &str, text: &str) -> Result<Self, RenderError> {
        let part = |part: &'static str, source: &str| parse(source).map_err(|error| RenderError::Parse { part, error });
        Ok(Self { subject: part("subject", subject)?, html: part("html", html)?, text: TextPart::Template(part("text", text)?) })
    }

    /// A subject and an HTML body whose text part is derived from the rendered HTML.
    pub fn from_parsed_html(subject: Template, html: Template) -> Self {
        Self { subject, html, text: TextPart::FromHtml }
    }

    /// The parsed templates, for checking the names they read (admin save-time typo check).
    pub fn parts(&self) -> Vec<&Template> {
        let mut parts = vec![&self.subject, &self.html];
        if let TextPart::Template(text) = &self.text {
            parts.push(text);
        }
        parts
    }
}

/// Renders emails from templates parsed once at construction. Cheap to share (`Arc`) and
/// safe to use from many tasks at once.
pub struct Renderer {
    builtin: HashMap<(EmailKind, &'static str), EmailTemplates>,
    /// Administrators' customizations, swapped whole when the store's version changes.
    custom: RwLock<Arc<Customizations>>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer").field("templates", &self.builtin.len()).finish()
    }
}

impl Renderer {
    /// The built-in templates of every kind in every language, parsed.
    ///
    /// # Panics
    /// Never in a tested build: the built-ins are compiled in and the unit tests parse and
    /// render every one of them.
    pub fn with_defaults() -> Self {
        let builtin = builtin_sources()
            .map(|source| {
                let parsed = EmailTemplates::parse(source.subject, &source.html_document(), source.text)
                    .unwrap_or_else(|e| panic!("built-in template {}/{} is broken: {e}", source.lang, source.kind));
                ((source.kind, source.lang), parsed)
            })
            .collect();
        Self { builtin, custom: RwLock::new(Arc::new(Customizations::default())) }
    }

    /// Reloads the customizations when the store's version counter moved since the last
    /// load (one small query otherwise). The outbox worker calls this before every round, the
    /// admin API after every change, so every process renders a change within a poll interval.
    ///
    /// # Errors
    /// The store failed; the cached set stays in use.
    pub async fn refresh_customizations(&self, store: &Store) -> Result<(), StoreError> {
        let version = store.email_customizations_version().await?;
        if self.customizations().version == Some(version) {
            return Ok(());
        }
        let rows = store.all_email_customizations().await?;
        let mut set = Customizations::from_rows(&rows, version);
        set.brand = brand_variables(store.themes("default").await?.first());
        let set = Arc::new(set);
        if let Ok(mut guard) = self.custom.write() {
            *guard = set;
        }
        Ok(())
    }

    fn customizations(&self) -> Arc<Customizations> {
        self.custom.read().map(|g| g.clone()).unwrap_or_default()
    }

    /// Renders `payload` in the recipient's language. For the exact locale (`fr-CA`) and then
    /// its language (`fr`), an administrator's customization in that language wins over the
    /// built-in in that language; then the template's default customization; then the English
    /// built-in. Customizing one language therefore never hides the built-ins of the others.
    /// `now` is the clock the time helpers measure from.
    ///
    /// # Errors
    /// [`RenderError::Render`] when a safety limit of the engine is hit.
    pub fn render(&self, payload: &EmailPayload, now: DateTime<Utc>) -> Result<RenderedEmail, RenderError> {
        let custom = self.customizations();
        let kind_set = custom.kinds.get(&payload.kind);
        for candidate in locale::requested(payload.locale.as_deref()) {
            if let Some(parsed) = kind_set.and_then(|k| k.by_language.get(&candidate)) {
                return self.render_in(&parsed.templates, &parsed.lang, payload, now);
            }
            if let Some((&(_, lang), templates)) = self.builtin.get_key_value(&(payload.kind, candidate.as_str())) {
                return self.render_in(templates, lang, payload, now);
            }
        }
        if let Some(parsed) = kind_set.and_then(|k| k.default.as_ref().and_then(|d| k.by_language.get(d))) {
            return self.render_in(&parsed.templates, &parsed.lang, payload, now);
        }
        let templates = self.builtin.get(&(payload.kind, locale::FALLBACK)).expect("every kind has an English built-in (checked by tests)");
        self.render_in(templates, locale::FALLBACK, payload, now)
    }

    /// Renders `templates` (a built-in or an administrator's) as written in `lang`, which
    /// decides the language of the dates and durations the renderer formats.
    ///
    /// # Errors
    /// [`RenderError::Render`] when a safety limit of the engine is hit.
    pub fn render_in(
        &self,
        templates: &EmailTemplates,
        lang: &str,
        payload: &EmailPayload,
        now: DateTime<Utc>,
    ) -> Result<RenderedEmail, RenderError> {
        let mut ctx = context(payload, lang, now);
        for (name, value) in &self.customizations().brand {
            let value = match *name {
                "brand.theme.logo" => format!("{}{value}", payload.vars.get("baseURL").map(String::as_str).unwrap_or_default()),
                _ => value.clone(),
            };
            ctx.set(name, Value::from(value.as_str()));
        }
        let part = |part: &'static str, template: &Template, mode| {
            template.render(&ctx, mode).map_err(|error| RenderError::Render { part, error })
        };
        let subject = collapse_spaces(&part("subject", &templates.subject, OutputMode::Subject)?);
        let html = part("html", &templates.html, OutputMode::Html)?;
        let mut text = match &templates.text {
            TextPart::Template(text) => part("text", text, OutputMode::Text)?,
            TextPart::FromHtml => html_to_text(&html),
        };
        let trimmed = text.trim_end().len();
        text.truncate(trimmed);
        text.push('\n');
        Ok(RenderedEmail { subject, html, text })
    }

    /// The languages with built-in templates.
    pub fn languages(&self) -> &'static [&'static str] {
        &LANGUAGES
    }
}

/// The theme's email variables: only with `emailTemplateTouchPointVariant: FULL_THEME`, as in
/// Okta (the default variant keeps the default look). The store checked nothing about the
/// colours, so they are parsed here and left out if they do not parse.
fn brand_variables(theme: Option<&latchkey_store::ThemeRecord>) -> Vec<(&'static str, String)> {
    use latchkey_domain::brand::HexColor;
    let Some(theme) = theme.filter(|t| t.email_template_variant == "FULL_THEME") else { return Vec::new() };
    let (Ok(primary), Ok(secondary)) = (HexColor::parse(&theme.primary_color_hex), HexColor::parse(&theme.secondary_color_hex)) else {
        return Vec::new();
    };
    let mut vars = vec![
        ("brand.theme.primaryColor", primary.hex()),
        ("brand.theme.primaryContrastColor", primary.contrast_text().hex()),
        ("brand.theme.secondaryColor", secondary.hex()),
    ];
    if theme.logo.is_some() {
        vars.push(("brand.theme.logo", format!("/branding/v1/logo?v={}", theme.updated_at)));
    }
    vars
}

/// A subject is one line; an empty variable must not leave a double space behind.
fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The render context: every documented name (null unless the payload fills it, so an unset
/// one prints nothing instead of `${name}`), the payload's variables, and the values the
/// renderer derives in the template's language.
fn context(payload: &EmailPayload, lang: &str, now: DateTime<Utc>) -> Context {
    // The `$f` date helpers follow the recipient's own tag when the template is in their
    // language (`en-GB` dates for an `en-GB` reader), the template's language otherwise.
    let requested = payload.locale.as_deref().and_then(locale::normalize);
    let ctx_locale = match requested {
        Some(tag) if tag.split('-').next() == Some(lang) => tag,
        _ => lang.to_owned(),
    };
    let mut ctx = Context::new(now).with_locale(ctx_locale);
    for name in all_documented() {
        ctx.set(&name, Value::Null);
    }
    for (name, value) in &payload.vars {
        let value = match name.as_str() {
            "request.time" => localized_time(lang, value),
            // A number, so templates can compare it (`#if($request.expiresInMinutes > 60)`).
            "request.expiresInMinutes" => value.trim().parse::<i64>().map_or_else(|_| Value::from(value.as_str()), Value::Int),
            _ => Value::from(value.as_str()),
        };
        ctx.set(name, value);
    }
    let has = |name: &str| payload.vars.get(name).is_some_and(|v| !v.is_empty());
    if !has("request.expiresIn") {
        if let Some(minutes) = payload.vars.get("request.expiresInMinutes").and_then(|v| v.trim().parse::<i64>().ok()) {
            if minutes > 0 {
                ctx.set("request.expiresIn", locale::format_duration(lang, minutes));
            }
        }
    }
    // The magic-link guide calls the same link `resetPasswordUrl` (idx-protocol §10).
    if !has("resetPasswordUrl") {
        if let Some(link) = payload.vars.get("resetPasswordLink") {
            ctx.set("resetPasswordUrl", link.as_str());
        }
    }
    ctx
}

/// An RFC 3339 time is shown in the template's language; anything else was preformatted by
/// the caller and is printed as given.
fn localized_time(lang: &str, value: &str) -> Value {
    match DateTime::parse_from_rfc3339(value.trim()) {
        Ok(t) => Value::from(locale::format_time(lang, t.with_timezone(&Utc))),
        Err(_) => Value::from(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn renderer_is_shareable() {
        assert_send_sync::<Renderer>();
    }

    #[test]
    fn unset_documented_names_print_nothing() {
        let renderer = Renderer::with_defaults();
        let payload = EmailPayload::new(EmailKind::PasswordChanged);
        let out = renderer.render(&payload, Utc::now()).expect("render");
        for part in [&out.subject, &out.html, &out.text] {
            assert!(!part.contains("${"), "{part}");
            assert!(!part.contains("#if") && !part.contains("#end") && !part.contains("#{"), "{part}");
        }
        assert_eq!(out.subject, "Your password was changed");
    }

    #[test]
    fn request_time_and_expiry_are_localized() {
        let renderer = Renderer::with_defaults();
        let payload = EmailPayload::new(EmailKind::ForgotPassword)
            .with_locale("de-AT")
            .with("oneTimePassword", "123456")
            .with("resetPasswordLink", "https://id.example/reset")
            .with("request.time", "2026-11-30T19:07:00Z")
            .with("request.expiresInMinutes", "10");
        let out = renderer.render(&payload, Utc::now()).expect("render");
        assert!(out.text.contains("30. November 2026, 19:07 UTC"), "{}", out.text);
        assert!(out.text.contains("10 Minuten lang gültig"), "{}", out.text);
        let preformatted = payload.with("request.time", "gestern");
        assert!(renderer.render(&preformatted, Utc::now()).expect("render").text.contains("gestern"));
    }

    fn row(language: &str, is_default: bool, body: &str) -> latchkey_store::Customization {
        latchkey_store::Customization {
            id: format!("oel{language}"),
            brand_id: "default".into(),
            template_name: "ForgotPassword".into(),
            language: language.into(),
            subject: format!("custom {language}"),
            body: body.into(),
            is_default,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn customizations_win_per_language_and_never_hide_other_built_ins() {
        let renderer = Renderer::with_defaults();
        let rows = [
            row("en", true, "<p>EN <a href=\"https://app.example/cb?otp=${oneTimePassword}\">go</a></p>"),
            row("de-AT", false, "<p>AT ${oneTimePassword}</p>"),
        ];
        *renderer.custom.write().expect("lock") = Arc::new(Customizations::from_rows(&rows, 1));
        let subject = |locale: Option<&str>| {
            let mut payload = EmailPayload::new(EmailKind::ForgotPassword).with("oneTimePassword", "123456");
            if let Some(l) = locale {
                payload = payload.with_locale(l);
            }
            renderer.render(&payload, Utc::now()).expect("render").subject
        };
        assert_eq!(subject(Some("en-GB")), "custom en", "the primary subtag's customization");
        assert_eq!(subject(Some("de_AT")), "custom de-AT", "the exact tag's customization");
        assert!(!subject(Some("de")).starts_with("custom"), "German built-in, not the de-AT customization");
        assert!(!subject(Some("fr")).starts_with("custom"), "French built-in: customizing English hides nothing");
        assert_eq!(subject(Some("pt-BR")), "custom en", "no built-in: the default customization");
        assert_eq!(subject(None), "custom en", "no locale: the default customization");
        let out =
            renderer.render(&EmailPayload::new(EmailKind::ForgotPassword).with("oneTimePassword", "123456"), Utc::now()).expect("render");
        assert_eq!(out.text, "EN go (https://app.example/cb?otp=123456)\n", "text part derived from the HTML");
        let other = renderer.render(&EmailPayload::new(EmailKind::PasswordChanged), Utc::now()).expect("render");
        assert!(!other.subject.starts_with("custom"), "other templates keep their built-ins");
    }
}
