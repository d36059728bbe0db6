//! Administrators' customizations: the save-time rules (Okta's), and the parsed set the
//! renderer consults before its built-ins.
//!
//! A customization is a subject and one HTML body, as in Okta; its text part is derived from
//! the rendered HTML ([`crate::html_text`]) so it is never missing. The set is parsed once per
//! change: [`crate::Renderer::refresh_customizations`] compares the store's version counter
//! and reloads only when another process (or this one) changed something.

use std::collections::HashMap;

use latchkey_store::Customization;

use crate::kinds::EmailKind;
use crate::locale;
use crate::render::EmailTemplates;
use crate::variables::is_documented_variable;

/// Okta's limits on a customization.
pub const MAX_SUBJECT_CHARS: usize = 128;
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The variables a body must reference, one of each group, so the message can do its job
/// (Okta refuses a ForgotPassword body without a code or link the same way).
pub fn required_variables(kind: EmailKind) -> &'static [&'static str] {
    match kind {
        EmailKind::ForgotPassword => &["oneTimePassword", "resetPasswordLink", "resetPasswordUrl"],
        EmailKind::UserActivation => &["activationLink", "activationToken"],
        EmailKind::PasswordResetByAdmin => &["resetPasswordLink", "resetPasswordUrl"],
        EmailKind::PasswordChanged | EmailKind::LockoutNotice | EmailKind::AuthenticatorEnrolled | EmailKind::AuthenticatorReset => &[],
    }
}

/// A problem with a customization, reported as one Okta `errorCauses` entry each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `language`, `subject` or `body`.
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The normalised form of a BCP 47 tag (`fr_CA` → `fr-ca`), or `None` when it is not one.
pub fn language_key(tag: &str) -> Option<String> {
    if tag.contains('_') || tag.trim() != tag {
        return None;
    }
    locale::normalize(tag)
}

/// Checks a customization against every save-time rule and returns its parsed templates.
///
/// # Errors
/// Every problem found: an invalid language, a subject over 128 characters, a body over 64 KB,
/// a part that does not parse (with line and column), a reference to a name outside Okta's
/// documented variables (typo protection), a missing required variable.
pub fn check_customization(kind: EmailKind, language: &str, subject: &str, body: &str) -> Result<EmailTemplates, Vec<Problem>> {
    let mut problems = Vec::new();
    let mut problem = |field, message: String| problems.push(Problem { field, message });
    if language_key(language).is_none() {
        problem("language", format!("{language:?} is not a valid BCP 47 language tag (for example en, fr, pt-BR)"));
    }
    if subject.trim().is_empty() {
        problem("subject", "The field cannot be left blank".to_owned());
    }
    if subject.chars().count() > MAX_SUBJECT_CHARS {
        problem("subject", format!("The subject is longer than {MAX_SUBJECT_CHARS} characters"));
    }
    if body.trim().is_empty() {
        problem("body", "The field cannot be left blank".to_owned());
    }
    if body.len() > MAX_BODY_BYTES {
        problem("body", format!("The body is larger than {MAX_BODY_BYTES} bytes"));
    }
    let parsed_subject = latchkey_template::parse(subject).map_err(|e| problem("subject", format!("Syntax error at {e}"))).ok();
    let parsed_body = latchkey_template::parse(body).map_err(|e| problem("body", format!("Syntax error at {e}"))).ok();
    for (field, template) in [("subject", &parsed_subject), ("body", &parsed_body)] {
        if let Some(template) = template {
            if let Err(e) = template.check_names(is_documented_variable) {
                problem(field, format!("Unknown variable at {e}"));
            }
        }
    }
    let required = required_variables(kind);
    if let Some(body) = &parsed_body {
        let names = body.referenced_names();
        if !required.is_empty() && !names.iter().any(|r| required.contains(&r.name.as_str())) {
            let list = required.iter().map(|n| format!("${{{n}}}")).collect::<Vec<_>>().join(", ");
            problem("body", format!("The {kind} body must contain one of these variables: {list}"));
        }
    }
    match (parsed_subject, parsed_body) {
        (Some(subject), Some(body)) if problems.is_empty() => Ok(EmailTemplates::from_parsed_html(subject, body)),
        _ => Err(problems),
    }
}

/// One parsed customization.
#[derive(Debug, Clone)]
pub(crate) struct Parsed {
    /// Primary subtag: the language dates and durations are written in.
    pub lang: String,
    pub templates: EmailTemplates,
}

/// Every customization, parsed, by template and normalised language.
#[derive(Debug, Default)]
pub struct Customizations {
    pub(crate) version: Option<i64>,
    pub(crate) kinds: HashMap<EmailKind, KindSet>,
    /// The `brand.theme.*` variables every email gets (none unless the theme asks for them);
    /// the logo is a path, completed with the email's `baseURL`.
    pub(crate) brand: Vec<(&'static str, String)>,
}

#[derive(Debug, Default)]
pub(crate) struct KindSet {
    pub by_language: HashMap<String, Parsed>,
    pub default: Option<String>,
}

impl Customizations {
    /// Parses stored rows. A row that no longer passes the rules (written by a newer version,
    /// or edited in the database) is skipped with a warning: the built-in takes its place.
    pub fn from_rows(rows: &[Customization], version: i64) -> Self {
        let mut set = Self { version: Some(version), kinds: HashMap::new(), brand: Vec::new() };
        for row in rows {
            let Some(kind) = EmailKind::parse(&row.template_name) else { continue };
            let Some(key) = language_key(&row.language) else { continue };
            match check_customization(kind, &row.language, &row.subject, &row.body) {
                Ok(templates) => {
                    let lang = key.split('-').next().unwrap_or(locale::FALLBACK).to_owned();
                    let entry = set.kinds.entry(kind).or_default();
                    if row.is_default {
                        entry.default = Some(key.clone());
                    }
                    entry.by_language.insert(key, Parsed { lang, templates });
                }
                Err(problems) => {
                    tracing::warn!(id = %row.id, template = %row.template_name, problems = problems.len(), "stored email customization is invalid; using the built-in")
                }
            }
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_time_rules() {
        let ok = check_customization(EmailKind::ForgotPassword, "en", "Reset", "<a href=\"x?otp=${oneTimePassword}\">go</a>");
        assert!(ok.is_ok());
        let missing =
            check_customization(EmailKind::ForgotPassword, "en", "Reset", "<p>Hello ${user.profile.firstName}</p>").expect_err("missing");
        assert!(missing[0].message.contains("${oneTimePassword}"), "{missing:?}");
        let typo = check_customization(EmailKind::PasswordChanged, "en", "Hi", "<p>${user.profile.fristName}</p>").expect_err("typo");
        assert!(typo[0].message.contains("line 1, column 4"), "{typo:?}");
        let broken = check_customization(EmailKind::PasswordChanged, "en", "Hi", "<p>\n#if($x)</p>").expect_err("parse");
        assert!(broken[0].message.contains("line "), "{broken:?}");
        let long = "x".repeat(129);
        assert_eq!(check_customization(EmailKind::PasswordChanged, "en", &long, "<p>x</p>").expect_err("long")[0].field, "subject");
        assert_eq!(check_customization(EmailKind::PasswordChanged, "fr_FR", "s", "<p>x</p>").expect_err("lang")[0].field, "language");
        assert_eq!(language_key("pt-BR").as_deref(), Some("pt-br"));
    }
}
