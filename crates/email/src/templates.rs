//! The built-in templates, embedded from `templates/<lang>/<Kind>.{subject,html,txt}`.
//!
//! Each language directory holds, per kind, a one-line subject, an HTML body fragment and a
//! plain-text body side by side, so a change to one is made next to the other. The HTML
//! fragments are wrapped in `templates/layout.html` (the single-column frame, `lang`
//! attribute and `<title>`) when the renderer is built. The composition is plain string
//! substitution on trusted source files before parsing; no user data ever becomes template
//! source (security-checklist EML-2).

use crate::kinds::EmailKind;

/// The languages with built-in templates, as lower-case primary subtags.
pub const LANGUAGES: [&str; 5] = ["en", "fr", "de", "es", "ja"];

/// The source of one kind in one language.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinSource {
    pub lang: &'static str,
    pub kind: EmailKind,
    pub subject: &'static str,
    /// The body fragment, before [`compose_html`] wraps it in the layout.
    pub html_body: &'static str,
    pub text: &'static str,
}

const LAYOUT: &str = include_str!("../templates/layout.html");

macro_rules! source {
    ($lang:literal, $kind:ident, $file:literal) => {
        BuiltinSource {
            lang: $lang,
            kind: EmailKind::$kind,
            subject: include_str!(concat!("../templates/", $lang, "/", $file, ".subject")),
            html_body: include_str!(concat!("../templates/", $lang, "/", $file, ".html")),
            text: include_str!(concat!("../templates/", $lang, "/", $file, ".txt")),
        }
    };
}

macro_rules! language {
    ($lang:literal) => {
        [
            source!($lang, ForgotPassword, "ForgotPassword"),
            source!($lang, PasswordChanged, "PasswordChanged"),
            source!($lang, LockoutNotice, "AccountLockout"),
            source!($lang, UserActivation, "UserActivation"),
            source!($lang, PasswordResetByAdmin, "PasswordResetByAdmin"),
            source!($lang, AuthenticatorEnrolled, "AuthenticatorEnrolled"),
            source!($lang, AuthenticatorReset, "AuthenticatorReset"),
        ]
    };
}

const BUILTIN: [[BuiltinSource; 7]; 5] = [language!("en"), language!("fr"), language!("de"), language!("es"), language!("ja")];

/// Every built-in (language, kind) source.
pub fn builtin_sources() -> impl Iterator<Item = &'static BuiltinSource> {
    BUILTIN.iter().flatten()
}

/// The built-in source of `kind` in `lang` (a value of [`LANGUAGES`]).
pub fn builtin_source(kind: EmailKind, lang: &str) -> Option<&'static BuiltinSource> {
    builtin_sources().find(|s| s.kind == kind && s.lang == lang)
}

impl BuiltinSource {
    /// The full HTML document source: the layout around the body, titled with the subject.
    /// This is also what an administrator would start from when customizing the template.
    pub fn html_document(&self) -> String {
        compose_html(self.lang, self.subject, self.html_body)
    }
}

fn compose_html(lang: &str, subject: &str, body: &str) -> String {
    LAYOUT.replace("{{lang}}", lang).replace("{{title}}", subject.trim_end()).replace("{{content}}", body.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_in_every_language_is_embedded() {
        for lang in LANGUAGES {
            for kind in EmailKind::ALL {
                let source = builtin_source(kind, lang).expect("embedded");
                assert!(!source.subject.trim().is_empty());
                assert_eq!(source.subject.trim_end().lines().count(), 1, "{lang}/{kind}: one-line subject");
                let doc = source.html_document();
                assert!(doc.contains(&format!("<html lang=\"{lang}\"")));
                assert!(!doc.contains("{{"), "{lang}/{kind}: layout slot left");
            }
        }
    }
}
