//! Escapers for the contexts a value can land in. Each is total (never fails) and allocation
//! is proportional to the input.

use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything except RFC 3986 "unreserved" chars (`A-Z a-z 0-9 - . _ ~`) is percent-encoded,
/// so a value can never add `&name=` parameters, end the attribute, or start a fragment.
const QUERY_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

pub(crate) fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, QUERY_COMPONENT).to_string()
}

/// HTML text and quoted-attribute escaping: the five chars that can end a text run, a tag or
/// an attribute value, or start an entity.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// Extra escaping for places without quotes around them (an unquoted attribute value, or
/// inside a tag): blanks, `=`, backtick and `/` would otherwise end the value or start a new
/// attribute. Applied on top of [`escape_html`] output (it leaves `&` alone for that reason).
pub(crate) fn escape_unquoted_extra(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            ' ' | '\t' | '\n' | '\r' | '\x0c' | '=' | '`' | '/' => {
                let _ = write!(out, "&#x{:X};", u32::from(ch));
            }
            _ => out.push(ch),
        }
    }
    out
}

/// OWASP-style attribute encoding for `$f.escapeHtmlAttr`: every ASCII char except letters,
/// digits and `, . - _` becomes `&#xHH;`.
pub(crate) fn escape_html_attr_strict(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if ch.is_ascii_alphanumeric() || matches!(ch, ',' | '.' | '-' | '_') || !ch.is_ascii() {
            out.push(ch);
        } else {
            let _ = write!(out, "&#x{:X};", u32::from(ch));
        }
    }
    out
}
