//! The output buffer: writes literal text as-is and escapes each value for the spot it lands
//! in (security-checklist EML-2 and LNK-1). Also enforces the output size cap.
//!
//! | mode | spot | value written as |
//! |---|---|---|
//! | Html | URL query (attribute or running-text URL, after `?`) | percent-encoded (unreserved kept) |
//! | Html | running text, quoted attribute | HTML-escaped `& < > " '` |
//! | Html | unquoted attribute / inside a tag | HTML-escaped, plus blanks `=` `` ` `` `/` as `&#xHH;` |
//! | Text, Subject | running-text URL query | percent-encoded |
//! | Text, Subject | elsewhere | as-is |
//!
//! Output of `$f.escapeHtml`/`$f.escapeHtmlAttr` is "safe": it is not HTML-escaped again. In a
//! URL query it is percent-encoded from its *unescaped* original, so the link carries the
//! value itself (as the author meant) rather than `&amp;…` entities, and still cannot add
//! parameters. In an unquoted spot the blank/`=` escaping is still applied.
//!
//! In a URL attribute (`href`, `src`, `action`, …) a value that would decide the scheme must make
//! it `http`/`https` (or `mailto` in `href`); otherwise it is written as `#` (security-checklist
//! LNK-1: no `javascript:` link from a variable such as `${request.relayState}`).
//!
//! Subject mode then removes every CR, LF and NUL (security-checklist EML-1: no header
//! injection through the subject line).

use crate::escape::{escape_html, escape_unquoted_extra, percent_encode};
use crate::html::{HtmlScanner, Spot, UrlTracker, UrlVerdict};
use crate::{OutputMode, RenderError, MAX_OUTPUT_BYTES};

/// What a value that may not decide a URL's scheme is written as (see `HtmlScanner::url_verdict`).
/// `#` rather than nothing: it is an inert same-page link in every mail client, and whatever the
/// template writes after it becomes a fragment, so the literal rest of the attribute cannot
/// complete a scheme either (`${x}script:…` with `x = java`). The reader sees a dead link, not
/// a rendering error: the email still goes out with its code and text.
const NEUTRAL_URL: &str = "#";

pub(crate) struct Output {
    buf: String,
    mode: OutputMode,
    html: HtmlScanner,
    text_url: UrlTracker,
}

impl Output {
    pub fn new(mode: OutputMode) -> Self {
        Self { buf: String::new(), mode, html: HtmlScanner::default(), text_url: UrlTracker::default() }
    }

    fn check_size(&self) -> Result<(), RenderError> {
        if self.buf.len() > MAX_OUTPUT_BYTES {
            Err(RenderError::OutputTooLarge { limit: MAX_OUTPUT_BYTES })
        } else {
            Ok(())
        }
    }

    /// Template source text: emitted unchanged, and it moves the context scanner.
    pub fn literal(&mut self, s: &str) -> Result<(), RenderError> {
        self.buf.push_str(s);
        match self.mode {
            OutputMode::Html => self.html.feed_str(s),
            OutputMode::Text | OutputMode::Subject => self.text_url.feed_str(s),
        }
        self.check_size()
    }

    /// An interpolated value. `safe_raw` is `Some(original)` when `text` is already escaped
    /// HTML from an escape helper.
    pub fn value(&mut self, text: &str, safe_raw: Option<&str>) -> Result<(), RenderError> {
        let raw = safe_raw.unwrap_or(text);
        match self.mode {
            OutputMode::Html => {
                let (spot, in_query) = self.html.place();
                let emitted = if in_query {
                    // Percent-encoded output holds only unreserved chars and `%`: nothing left
                    // for HTML escaping to do.
                    percent_encode(raw)
                } else {
                    let escaped = if safe_raw.is_some() { text.to_owned() } else { escape_html(text) };
                    if spot == Spot::Unquoted {
                        escape_unquoted_extra(&escaped)
                    } else {
                        escaped
                    }
                };
                match self.html.url_verdict(&emitted) {
                    UrlVerdict::Keep => {
                        self.buf.push_str(&emitted);
                        self.html.note_value(raw, &emitted);
                    }
                    UrlVerdict::Neutralize => {
                        self.buf.push_str(NEUTRAL_URL);
                        self.html.note_value(NEUTRAL_URL, NEUTRAL_URL);
                    }
                }
            }
            OutputMode::Text | OutputMode::Subject => {
                if self.text_url.in_query() {
                    self.buf.push_str(&percent_encode(raw));
                } else {
                    self.buf.push_str(text);
                }
                self.text_url.note_value(raw);
            }
        }
        self.check_size()
    }

    pub fn finish(self) -> String {
        match self.mode {
            OutputMode::Subject => self.buf.chars().filter(|c| !matches!(c, '\r' | '\n' | '\0')).collect(),
            OutputMode::Html | OutputMode::Text => self.buf,
        }
    }
}
