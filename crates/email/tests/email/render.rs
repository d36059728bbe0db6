//! Every default template renders in every language, picks the right language, and escapes
//! hostile values for the part they land in.

use chrono::Utc;
use latchkey_email::{builtin_source, is_documented_variable, EmailKind, EmailPayload, EmailTemplates, Renderer, LANGUAGES};

use crate::support::{sample, ACTIVATION, CODE, LINK, NOT_ME_LINK};

fn render(payload: &EmailPayload) -> latchkey_email::RenderedEmail {
    Renderer::with_defaults().render(payload, Utc::now()).expect("render")
}

/// The link a kind must carry: its action link, the "Not you?" link of a security notice, or
/// the sign-in page for the lockout notice.
fn link_of(kind: EmailKind) -> &'static str {
    match kind {
        EmailKind::ForgotPassword | EmailKind::PasswordResetByAdmin => LINK,
        EmailKind::UserActivation => ACTIVATION,
        EmailKind::PasswordChanged | EmailKind::AuthenticatorEnrolled | EmailKind::AuthenticatorReset => NOT_ME_LINK,
        EmailKind::LockoutNotice => "https://id.example",
    }
}

#[test]
fn every_kind_renders_in_every_language_with_code_and_link_in_both_parts() {
    let renderer = Renderer::with_defaults();
    for lang in LANGUAGES {
        for kind in EmailKind::ALL {
            let out = renderer.render(&sample(kind, lang), Utc::now()).expect("render");
            let at = format!("{lang}/{kind}");
            assert!(!out.subject.trim().is_empty(), "{at}: empty subject");
            assert!(!out.subject.contains(['\r', '\n']), "{at}");
            assert!(out.html.contains(&format!("<html lang=\"{lang}\"")), "{at}: lang attribute");
            // The HTML part escapes `&` in the link's query, as HTML requires.
            let html_link = link_of(kind).replace('&', "&amp;");
            assert!(out.html.contains(&html_link), "{at}: HTML lacks the link\n{}", out.html);
            assert!(out.text.contains(link_of(kind)), "{at}: text lacks the link\n{}", out.text);
            if kind.carries_secret() && kind != EmailKind::UserActivation {
                assert!(out.html.contains(CODE), "{at}: HTML lacks the code");
                assert!(out.text.contains(CODE), "{at}: text lacks the code");
            }
            for part in [&out.subject, &out.html, &out.text] {
                assert!(
                    !part.contains("${") && !part.contains("#if") && !part.contains("#end") && !part.contains("#{"),
                    "{at}: template syntax left in\n{part}"
                );
                assert!(!part.contains("{{"), "{at}: layout slot left in");
            }
            for external in ["<img", "<link", "@import", "<script"] {
                assert!(!out.html.contains(external), "{at}: {external} in a default template");
            }
            if lang != "en" {
                let english = renderer.render(&sample(kind, "en"), Utc::now()).expect("render");
                assert_ne!(out.subject, english.subject, "{at}: subject not translated");
            }
        }
    }
}

#[test]
fn recovery_mail_without_a_code_shows_only_the_link() {
    for lang in LANGUAGES {
        for kind in [EmailKind::ForgotPassword, EmailKind::PasswordResetByAdmin] {
            let mut payload = sample(kind, lang);
            payload.vars.insert("oneTimePassword".into(), String::new());
            let out = render(&payload);
            assert!(!out.html.contains(CODE) && !out.text.contains(CODE), "{lang}/{kind}");
            assert!(out.html.contains("id=\"reset-password-link\""), "{lang}/{kind}");
            assert!(out.text.contains(LINK), "{lang}/{kind}");
        }
    }
}

#[test]
fn recovery_mail_warns_and_shows_the_request_time() {
    let out = render(&sample(EmailKind::ForgotPassword, "en"));
    for part in [&out.html, &out.text] {
        assert!(part.contains("Never share this code"), "{part}");
        assert!(part.contains("November 30, 2026, 7:07 PM UTC"), "{part}");
        assert!(part.contains("your password has not changed"), "{part}");
        assert!(part.contains("10 minutes"), "{part}");
    }
    let activation = render(&sample(EmailKind::UserActivation, "fr"));
    assert!(activation.text.contains("7 jours"), "{}", activation.text);
}

#[test]
fn password_changed_notice_has_context_and_contact_but_no_secret() {
    let out = render(&sample(EmailKind::PasswordChanged, "en").with("oneTimePassword", CODE));
    for part in [&out.html, &out.text] {
        assert!(part.contains("help@example.com") && part.contains("203.0.113.7") && part.contains("Firefox on Linux"));
        assert!(!part.contains(CODE));
    }
    let mut without_support = sample(EmailKind::PasswordChanged, "en");
    without_support.vars.remove("org.supportEmail");
    let out = render(&without_support);
    assert!(out.text.contains("administrator or help desk"), "{}", out.text);
}

#[test]
fn security_notices_carry_the_not_me_link_and_name_the_authenticator_in_every_language() {
    for lang in LANGUAGES {
        for kind in EmailKind::ALL.into_iter().filter(|k| k.carries_not_me_link()) {
            let out = render(&sample(kind, lang));
            let at = format!("{lang}/{kind}");
            assert!(out.html.contains(&format!("id=\"not-me-link\" href=\"{NOT_ME_LINK}\"")), "{at}: the button\n{}", out.html);
            assert!(out.text.lines().any(|l| l.trim() == NOT_ME_LINK), "{at}: the link on a line of its own\n{}", out.text);
            if kind != EmailKind::PasswordChanged {
                assert!(out.html.contains("Google Authenticator") && out.text.contains("Google Authenticator"), "{at}");
            }
            // Without a token (a customized payload, an old row) the link and its text vanish.
            let mut without = sample(kind, lang);
            without.vars.remove("request.reportSuspiciousActivityToken");
            let out = render(&without);
            assert!(!out.html.contains("not-me") && !out.text.contains("not-me"), "{at}");
        }
        let lockout = render(&sample(EmailKind::LockoutNotice, lang));
        assert!(!lockout.html.contains("not-me"), "{lang}: only the security notices carry the link");
    }
    let enrolled = render(&sample(EmailKind::AuthenticatorEnrolled, "en"));
    assert!(enrolled.text.contains("The link works for 7 days."), "{}", enrolled.text);
    assert_eq!(enrolled.subject, "A new authenticator was added to your Example Corp account");
    let removed = render(&sample(EmailKind::AuthenticatorReset, "de"));
    assert!(removed.text.contains("Google Authenticator wurde soeben aus Ihrem Konto entfernt."), "{}", removed.text);
}

#[test]
fn language_follows_the_locale_with_fallbacks() {
    let subject = |locale: &str| render(&sample(EmailKind::ForgotPassword, locale)).subject;
    assert_eq!(subject("fr_CA"), "Réinitialisation de votre mot de passe Example Corp");
    assert_eq!(subject("fr-FR"), subject("fr"));
    assert_eq!(subject("pt"), "Reset your Example Corp password");
    assert_eq!(subject("pt_BR"), "Reset your Example Corp password");
    assert_eq!(subject("ja"), "Example Corp のパスワード再設定");
    let mut no_locale = sample(EmailKind::ForgotPassword, "en");
    no_locale.locale = None;
    assert_eq!(render(&no_locale).subject, "Reset your Example Corp password");
}

#[test]
fn hostile_first_name_is_escaped_in_html_and_kept_verbatim_in_text() {
    let hostile = "<script>alert(1)</script>";
    let out = render(&sample(EmailKind::ForgotPassword, "en").with("user.profile.firstName", hostile));
    assert!(out.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{}", out.html);
    assert!(!out.html.contains(hostile));
    assert!(out.text.contains(hostile), "text is not HTML and must not be escaped");
}

#[test]
fn user_data_never_becomes_template_source() {
    // security-checklist EML-2's probe, plus Velocity syntax in a value.
    let name = "<a href=https://evil.test>Reset</a>{{7*7}} ${oneTimePassword} #if(true)x#end";
    let out = render(&sample(EmailKind::PasswordChanged, "en").with("user.profile.firstName", name));
    assert!(out.html.contains("&lt;a href=https://evil.test&gt;Reset&lt;/a&gt;{{7*7}} ${oneTimePassword} #if(true)x#end"), "{}", out.html);
    assert!(out.text.contains(name));
}

#[test]
fn subject_cannot_carry_a_header() {
    let out = render(&sample(EmailKind::ForgotPassword, "en").with("org.name", "Evil\r\nBcc: att@evil.test"));
    assert!(!out.subject.contains(['\r', '\n']), "{:?}", out.subject);
}

#[test]
fn custom_magic_link_template_percent_encodes_a_hostile_relay_state() {
    // Okta's recipe (idx-protocol §7.1), rendered through the same path as the built-ins.
    let link = "https://app.example/magic-link/callback?otp=${oneTimePassword}&state=${request.relayState}";
    let templates = EmailTemplates::parse(
        "Reset your password",
        &format!(r#"<html lang="en"><body><a id="reset-password-link" href="{link}">Reset</a><p>{link}</p></body></html>"#),
        &format!("Open {link}\n"),
    )
    .expect("parse");
    for part in templates.parts() {
        part.check_names(is_documented_variable).expect("recipe names are documented");
    }
    let hostile = r#""><script>alert(1)</script>&otp=000000 x"#;
    let payload = sample(EmailKind::ForgotPassword, "en").with("request.relayState", hostile);
    let out = Renderer::with_defaults().render_in(&templates, "en", &payload, Utc::now()).expect("render");
    let encoded = "otp=739215&state=%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E%26otp%3D000000%20x";
    assert!(out.html.contains(&format!(r#"href="https://app.example/magic-link/callback?{encoded}""#)), "{}", out.html);
    assert!(out.text.contains(&format!("https://app.example/magic-link/callback?{encoded}")), "{}", out.text);
    for part in [&out.html, &out.text] {
        assert!(!part.contains("<script>") && !part.contains("&otp=000000"), "{part}");
    }
}

#[test]
fn built_in_templates_only_read_documented_names() {
    for lang in LANGUAGES {
        for kind in EmailKind::ALL {
            let source = builtin_source(kind, lang).expect("built in");
            let templates = EmailTemplates::parse(source.subject, &source.html_document(), source.text).expect("parse");
            for part in templates.parts() {
                part.check_names(is_documented_variable).unwrap_or_else(|e| panic!("{lang}/{kind}: {e}"));
            }
        }
    }
}

#[test]
fn a_misspelt_variable_is_refused_at_save_time() {
    let templates = EmailTemplates::parse("Hi ${user.profile.fristName}", "<p>x</p>", "x").expect("parse");
    let err = templates.parts()[0].check_names(is_documented_variable).expect_err("typo");
    assert_eq!(err.name, "user.profile.fristName");
}

/// `LATCHKEY_EMAIL_PREVIEW=dir cargo test -p latchkey-email --test email preview` writes every
/// rendered sample to `dir` for a look in a browser or mail client.
#[test]
fn preview() {
    let Ok(dir) = std::env::var("LATCHKEY_EMAIL_PREVIEW") else { return };
    let renderer = Renderer::with_defaults();
    std::fs::create_dir_all(&dir).expect("preview directory");
    for lang in LANGUAGES {
        for kind in EmailKind::ALL {
            let out = renderer.render(&sample(kind, lang), Utc::now()).expect("render");
            let base = format!("{dir}/{lang}-{kind}");
            std::fs::write(format!("{base}.html"), &out.html).expect("write");
            std::fs::write(format!("{base}.txt"), format!("Subject: {}\n\n{}", out.subject, out.text)).expect("write");
        }
    }
}
