//! The `$f` helper allow-list (Okta's template functions). Nothing else is callable.
//!
//! String helpers follow Apache Commons `StringUtils` semantics (which Okta's names come from):
//! a null input gives null (renders empty); indices count chars; out-of-range indices clamp.
//!
//! Time helpers measure from the render context's `now`, never the wall clock, and accept a
//! [`Value::Date`], an RFC 3339 string or an integer of Unix seconds; null gives null.
//!
//! * `formatTimeDiffHoursNow(d)` → whole hours from `now` until `d`, rounded **up** (a code
//!   valid for 10 minutes says `1`, never `0`), `0` when `d` is past. Example: `24`.
//! * `formatTimeDiffHoursNowInUserLocale(d)` → the same number: an hour count has no
//!   locale-specific form below 1,000 hours, and Latchkey's lifetimes stay far below that.
//! * `formatTimeDiffDateNow(d)` → `d` in UTC as `YYYY-MM-DD HH:MM UTC`, e.g. `2026-11-30 19:17 UTC`.
//! * `formatTimeDiffDateNowInUserLocale(d)` → `d` in UTC in the context locale's numeric style
//!   (the recipient's time zone is unknown, so the zone is always `UTC` and printed):
//!   - `en`, `en-US` (and no locale): `11/30/2026 7:17 PM UTC`
//!   - other `en-*`: `30/11/2026 19:17 UTC`
//!   - `de`, `ru`, `pl`, `cs`, `sk`, `fi`, `nb`, `no`, `da`, `tr`, `ro`, `uk`: `30.11.2026 19:17 UTC`
//!   - `fr`, `es`, `it`, `pt`, `ca`, `el`, `id`, `vi`: `30/11/2026 19:17 UTC`
//!   - `nl`: `30-11-2026 19:17 UTC`
//!   - `ja`, `zh`, `ko`: `2026/11/30 19:17 UTC`
//!   - anything else (`sv`, …): `2026-11-30 19:17 UTC`
//!
//! Escape helpers return *safe* text that the renderer does not escape again:
//! * `escapeHtml(s)`: `&` `<` `>` `"` `'` → `&amp;` `&lt;` `&gt;` `&quot;` `&#39;`.
//! * `escapeHtmlAttr(s)`: every ASCII char except letters, digits and `, . - _` → `&#xHH;`
//!   (OWASP attribute encoding: safe even in an unquoted attribute); non-ASCII is kept.

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};

use crate::escape::{escape_html, escape_html_attr_strict};
use crate::eval::Val;
use crate::value::{Context, Value};
use crate::RenderError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Helper {
    Replace,
    Substring,
    SubstringBefore,
    SubstringAfter,
    ToLowerCase,
    ToUpperCase,
    EscapeHtml,
    EscapeHtmlAttr,
    HoursNow,
    HoursNowLocale,
    DateNow,
    DateNowLocale,
}

const TABLE: &[(&str, Helper, usize, usize)] = &[
    ("replace", Helper::Replace, 3, 3),
    ("substring", Helper::Substring, 2, 3),
    ("substringBefore", Helper::SubstringBefore, 2, 2),
    ("substringAfter", Helper::SubstringAfter, 2, 2),
    ("toLowerCase", Helper::ToLowerCase, 1, 1),
    ("toUpperCase", Helper::ToUpperCase, 1, 1),
    ("escapeHtml", Helper::EscapeHtml, 1, 1),
    ("escapeHtmlAttr", Helper::EscapeHtmlAttr, 1, 1),
    ("formatTimeDiffHoursNow", Helper::HoursNow, 1, 1),
    ("formatTimeDiffHoursNowInUserLocale", Helper::HoursNowLocale, 1, 1),
    ("formatTimeDiffDateNow", Helper::DateNow, 1, 1),
    ("formatTimeDiffDateNowInUserLocale", Helper::DateNowLocale, 1, 1),
];

impl Helper {
    pub fn from_name(name: &str) -> Option<Self> {
        TABLE.iter().find(|(n, ..)| *n == name).map(|(_, h, ..)| *h)
    }

    pub fn names() -> Vec<&'static str> {
        TABLE.iter().map(|(n, ..)| *n).collect()
    }

    pub fn name(self) -> &'static str {
        TABLE.iter().find(|(_, h, ..)| *h == self).map_or("?", |(n, ..)| *n)
    }

    /// (minimum, maximum) number of arguments.
    pub fn arity(self) -> (usize, usize) {
        TABLE.iter().find(|(_, h, ..)| *h == self).map_or((0, 0), |(_, _, lo, hi)| (*lo, *hi))
    }
}

/// Calls a helper. `pos` is the call's position, for error messages.
pub(crate) fn call(helper: Helper, args: &[Val], ctx: &Context, pos: crate::ast::Pos) -> Result<Val, RenderError> {
    let bad = |message: String| RenderError::BadArgument { function: helper.name(), message, line: pos.line, column: pos.column };
    let s = |i: usize| args.get(i).and_then(Val::as_string);
    let (Some(arg0), Some(first)) = (args.first(), s(0)) else {
        // Null (or undefined) input: StringUtils returns null, dates have nothing to format.
        return Ok(Val::Value(Value::Null));
    };
    let text = |t: String| Ok(Val::Value(Value::Str(t)));
    match helper {
        Helper::Replace => {
            let target = s(1).unwrap_or_default();
            if target.is_empty() {
                return text(first);
            }
            text(first.replace(&target, &s(2).unwrap_or_default()))
        }
        Helper::Substring => {
            let begin = int_arg(args.get(1)).ok_or_else(|| bad("begin index must be an integer".into()))?;
            let end = match args.get(2) {
                Some(v) => Some(int_arg(Some(v)).ok_or_else(|| bad("end index must be an integer".into()))?),
                None => None,
            };
            text(substring(&first, begin, end))
        }
        Helper::SubstringBefore => {
            let sep = s(1).unwrap_or_default();
            if sep.is_empty() {
                return text(String::new());
            }
            text(first.split_once(&sep).map_or(first.clone(), |(a, _)| a.to_owned()))
        }
        Helper::SubstringAfter => {
            let sep = s(1).unwrap_or_default();
            text(first.split_once(&sep).map_or_else(String::new, |(_, b)| b.to_owned()))
        }
        Helper::ToLowerCase => text(first.to_lowercase()),
        Helper::ToUpperCase => text(first.to_uppercase()),
        Helper::EscapeHtml => Ok(Val::Safe { html: escape_html(&first), raw: first }),
        Helper::EscapeHtmlAttr => Ok(Val::Safe { html: escape_html_attr_strict(&first), raw: first }),
        Helper::HoursNow | Helper::HoursNowLocale => {
            let date = date_arg(arg0).ok_or_else(|| bad(format!("not a date: {first:?}")))?;
            Ok(Val::Value(Value::Int(hours_until(ctx.now(), date))))
        }
        Helper::DateNow => {
            let date = date_arg(arg0).ok_or_else(|| bad(format!("not a date: {first:?}")))?;
            text(date.format("%Y-%m-%d %H:%M UTC").to_string())
        }
        Helper::DateNowLocale => {
            let date = date_arg(arg0).ok_or_else(|| bad(format!("not a date: {first:?}")))?;
            text(format_in_locale(date, ctx.locale()))
        }
    }
}

fn int_arg(v: Option<&Val>) -> Option<i64> {
    match v? {
        Val::Value(Value::Int(i)) => Some(*i),
        Val::Value(Value::Str(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `StringUtils.substring`: negative indices count from the end; out-of-range indices clamp.
fn substring(s: &str, begin: i64, end: Option<i64>) -> String {
    let chars: Vec<char> = s.chars().collect();
    let len = i64::try_from(chars.len()).unwrap_or(i64::MAX);
    let norm = |i: i64| {
        let i = if i < 0 { len.saturating_add(i) } else { i };
        usize::try_from(i.clamp(0, len)).unwrap_or(0)
    };
    let b = norm(begin);
    let e = end.map_or(chars.len(), norm);
    if b >= e {
        return String::new();
    }
    chars[b..e].iter().collect()
}

fn date_arg(v: &Val) -> Option<DateTime<Utc>> {
    match v {
        Val::Value(Value::Date(d)) => Some(*d),
        Val::Value(Value::Int(secs)) => Utc.timestamp_opt(*secs, 0).single(),
        other => {
            let s = other.as_string()?;
            DateTime::parse_from_rfc3339(s.trim()).ok().map(|d| d.with_timezone(&Utc))
        }
    }
}

fn hours_until(now: DateTime<Utc>, date: DateTime<Utc>) -> i64 {
    let secs = (date - now).num_seconds();
    if secs <= 0 {
        0
    } else {
        (secs + 3599) / 3600
    }
}

fn format_in_locale(d: DateTime<Utc>, locale: &str) -> String {
    let lower = locale.to_ascii_lowercase().replace('_', "-");
    let mut parts = lower.split('-');
    let lang = parts.next().unwrap_or("");
    let region = parts.next().unwrap_or("");
    let (y, m, day, h, min) = (d.year(), d.month(), d.day(), d.hour(), d.minute());
    match lang {
        "en" | "" if region.is_empty() || region == "us" => {
            let (h12, ampm) = match h {
                0 => (12, "AM"),
                1..=11 => (h, "AM"),
                12 => (12, "PM"),
                _ => (h - 12, "PM"),
            };
            format!("{m}/{day}/{y} {h12}:{min:02} {ampm} UTC")
        }
        "en" | "fr" | "es" | "it" | "pt" | "ca" | "el" | "id" | "vi" => {
            format!("{day:02}/{m:02}/{y} {h:02}:{min:02} UTC")
        }
        "de" | "ru" | "pl" | "cs" | "sk" | "fi" | "nb" | "no" | "da" | "tr" | "ro" | "uk" => {
            format!("{day:02}.{m:02}.{y} {h:02}:{min:02} UTC")
        }
        "nl" => format!("{day:02}-{m:02}-{y} {h:02}:{min:02} UTC"),
        "ja" | "zh" | "ko" => format!("{y}/{m:02}/{day:02} {h:02}:{min:02} UTC"),
        _ => d.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}
