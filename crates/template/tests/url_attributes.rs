//! Values in URL attributes (`href`, `src`, `action`, …): a value may decide a URL's scheme only
//! by making it http(s) (or mailto in `href`); anything else is written as `#`. A value after a
//! scheme the template's own text settled is only escaped, as everywhere.

use chrono::{TimeZone, Utc};
use latchkey_template::{parse, Context, OutputMode};

fn render_with(src: &str, value: &str) -> String {
    let now = Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).single().expect("valid date");
    let ctx = Context::new(now).with("request.relayState", value).with("java", "java");
    let template = parse(src).unwrap_or_else(|e| panic!("parse {src:?}: {e}"));
    template.render(&ctx, OutputMode::Html).unwrap_or_else(|e| panic!("render {src:?}: {e}"))
}

#[track_caller]
fn renders(src: &str, value: &str, expected: &str) {
    assert_eq!(render_with(src, value), expected, "template {src:?} with value {value:?}");
}

const LINK: &str = r#"<a href="${request.relayState}">x</a>"#;

#[test]
fn a_value_that_starts_a_link_must_be_http_or_https() {
    renders(LINK, "https://app.example/cb?a=1&b=2", r#"<a href="https://app.example/cb?a=1&amp;b=2">x</a>"#);
    renders(LINK, "http://app.example/", r#"<a href="http://app.example/">x</a>"#);
    renders(LINK, "HTTPS://APP.EXAMPLE/", r#"<a href="HTTPS://APP.EXAMPLE/">x</a>"#);
    renders(LINK, "mailto:help@example.com", r#"<a href="mailto:help@example.com">x</a>"#);
}

#[test]
fn script_and_document_schemes_become_an_inert_link() {
    for hostile in [
        "javascript:alert(document.domain)",
        "JaVaScRiPt:alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "file:///etc/passwd",
        "tel:+15550100",
    ] {
        renders(LINK, hostile, r##"<a href="#">x</a>"##);
    }
}

#[test]
fn schemes_hidden_with_blanks_controls_or_references_are_seen_through() {
    for hostile in [
        " javascript:alert(1)",
        "\u{1}\u{1f} javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\r\njavascript:alert(1)",
        // A value's `&` is escaped, so these stay text: the URL is relative, and still refused.
        "jav&#x61;script:alert(1)",
        "javascript&colon;alert(1)",
    ] {
        renders(LINK, hostile, r##"<a href="#">x</a>"##);
    }
}

#[test]
fn relative_and_protocol_relative_values_are_refused() {
    for hostile in ["//evil.example/login", "/\\evil.example", "\\\\evil.example", "evil.example/login", "?otp=1", "#top"] {
        renders(LINK, hostile, r##"<a href="#">x</a>"##);
    }
    // A literal `/` followed by a value would make `//evil.example`.
    renders(r#"<a href="/${request.relayState}">"#, "/evil.example", r##"<a href="/#">"##);
}

#[test]
fn a_scheme_settled_by_the_template_keeps_the_value() {
    renders(
        r#"<a href="https://app.example/cb?state=${request.relayState}">"#,
        "javascript:alert(1)",
        r#"<a href="https://app.example/cb?state=javascript%3Aalert%281%29">"#,
    );
    renders(r#"<a href="https://app.example/${request.relayState}">"#, "javascript:x", r#"<a href="https://app.example/javascript:x">"#);
    renders(r#"<a href="mailto:${request.relayState}">"#, "help@example.com", r#"<a href="mailto:help@example.com">"#);
    // A relative literal prefix (not a bare slash) leaves nothing for the value to decide.
    renders(r#"<img src="/logo.png?v=${request.relayState}">"#, "javascript:x", r#"<img src="/logo.png?v=javascript%3Ax">"#);
}

#[test]
fn a_value_cannot_finish_a_scheme_the_template_started_or_start_one_the_template_finishes() {
    renders(r#"<a href="java${request.relayState}">"#, "script:alert(1)", r##"<a href="java#">"##);
    renders(r#"<a href="${java}script:alert(1)">"#, "", r##"<a href="#script:alert(1)">"##);
    renders(r#"<a href="${request.relayState}${java}">"#, "https://ok.example/", r#"<a href="https://ok.example/java">"#);
}

#[test]
fn values_get_nothing_inside_a_script_or_data_url_the_template_wrote() {
    renders(r#"<a href="javascript:go('${request.relayState}')">"#, "x", r##"<a href="javascript:go('#')">"##);
    renders(r#"<a href="jav&#x61;script:go('${request.relayState}')">"#, "x", r##"<a href="jav&#x61;script:go('#')">"##);
    renders(r#"<a href="java&Tab;script:${request.relayState}">"#, "x", r##"<a href="java&Tab;script:#">"##);
    renders(r#"<iframe src="data:text/html,${request.relayState}">"#, "<script>", r##"<iframe src="data:text/html,#">"##);
}

#[test]
fn every_url_attribute_and_unquoted_values_are_covered() {
    for attr in ["src", "action", "formaction", "xlink:href", "background", "poster", "cite", "data"] {
        renders(&format!(r#"<x {attr}="${{request.relayState}}">"#), "javascript:alert(1)", &format!(r##"<x {attr}="#">"##));
        renders(
            &format!(r#"<x {attr}='${{request.relayState}}'>"#),
            "https://ok.example/",
            &format!(r#"<x {attr}='https://ok.example/'>"#),
        );
        // mailto: is for links only.
        renders(&format!(r#"<x {attr}="${{request.relayState}}">"#), "mailto:a@example.com", &format!(r##"<x {attr}="#">"##));
    }
    renders(r#"<A HREF=${request.relayState}>"#, "javascript:alert(1)", r##"<A HREF=#>"##);
    renders(r#"<a href=${request.relayState}>"#, "https://ok.example/a b", r#"<a href=https:&#x2F;&#x2F;ok.example&#x2F;a&#x20;b>"#);
    renders(r#"<a href="$f.escapeHtml($request.relayState)">"#, "javascript:alert(1)", r##"<a href="#">"##);
}

#[test]
fn other_spots_are_only_escaped() {
    renders(
        r#"<a title="${request.relayState}">${request.relayState}</a>"#,
        "javascript:alert(1)",
        r#"<a title="javascript:alert(1)">javascript:alert(1)</a>"#,
    );
    renders(LINK, "", r#"<a href="">x</a>"#);
}

#[test]
fn an_undecided_prefix_too_long_to_judge_is_refused() {
    let src = format!(r#"<a href="{}${{request.relayState}}">"#, " ".repeat(300));
    assert_eq!(render_with(&src, "https://ok.example/"), format!(r##"<a href="{}#">"##, " ".repeat(300)));
}

#[test]
fn long_urls_keep_their_values() {
    let path = "segment/".repeat(60);
    let src = format!(r#"<a href="https://app.example/{path}?state=${{request.relayState}}">"#);
    assert_eq!(render_with(&src, "javascript:x"), format!(r#"<a href="https://app.example/{path}?state=javascript%3Ax">"#));
    // A long first value settles the scheme for the values after it.
    let long = format!("https://app.example/{path}");
    assert_eq!(render_with(r#"<a href="${request.relayState}${java}">"#, &long), format!(r#"<a href="{long}java">"#),);
}

mod property {
    use proptest::prelude::*;

    use super::render_with;

    const FRAGMENTS: &[&str] = &[
        " ",
        "\t",
        "\n",
        "\r",
        "\u{1}",
        "\u{1f}",
        "java",
        "JaVa",
        "script",
        "vb",
        ":",
        "&colon;",
        "&#58;",
        "&#x3a",
        "http",
        "HTTP",
        "s",
        "//",
        "/",
        "\\",
        "mailto",
        "data",
        "text/html,",
        "&#x61;",
        "&Tab;",
        "alert(1)",
        "evil.example",
        "?",
        "#",
        "&",
        "\"",
        "'",
    ];

    /// What a browser takes the scheme to be, from the raw value alone: tab/CR/LF removed,
    /// leading controls and spaces dropped, lowercased up to the first `:` (if only scheme
    /// characters come before it).
    fn browser_scheme(raw: &str) -> Option<String> {
        let cleaned: String = raw.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).skip_while(|c| *c <= ' ').collect();
        let (scheme, _) = cleaned.split_once(':')?;
        let mut chars = scheme.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))).then(|| scheme.to_ascii_lowercase())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever the value, a link it starts is `#`, empty, or a URL whose scheme is
        /// http, https or mailto.
        #[test]
        fn a_link_started_by_any_value_is_inert_or_http_or_mailto(parts in prop::collection::vec(prop::sample::select(FRAGMENTS), 0..8)) {
            let value = parts.concat();
            let out = render_with(r#"<a href="${request.relayState}">"#, &value);
            if out != r##"<a href="#">"## && !value.is_empty() {
                let scheme = browser_scheme(&value);
                prop_assert!(
                    matches!(scheme.as_deref(), Some("http" | "https" | "mailto")),
                    "value {:?} rendered {:?} with scheme {:?}", value, out, scheme
                );
            }
        }
    }
}
