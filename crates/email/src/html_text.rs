//! The plain-text part of a customized email, derived from its rendered HTML: an
//! administrator writes one HTML body (as in Okta), and the text part must still exist and
//! carry every code and link (security-checklist EML-2).
//!
//! The conversion works on the rendered HTML, so values were already escaped once and are
//! decoded exactly once here. It drops what a reader never sees (`head`, `style`, `script`,
//! comments), turns block elements into line breaks, list items into `- ` lines, and keeps
//! each link's URL: `Reset password (https://…)`, or the bare URL when the text is the URL.
//! Only `http(s)` and `mailto` targets are written out; `javascript:` and the like are dropped.

/// Elements whose content is not shown.
const HIDDEN: &[&str] = &["head", "style", "script", "title", "template", "noscript"];
/// Elements that start and end a paragraph-like block.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "tr",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "section",
    "article",
    "header",
    "footer",
    "hr",
    "body",
    "html",
    "center",
    "main",
    "address",
];

/// Converts rendered HTML into readable text with link URLs kept.
pub fn html_to_text(html: &str) -> String {
    let mut out = Writer::default();
    let mut rest = html;
    let mut hidden: Option<String> = None;
    let mut link: Option<Link> = None;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.find("-->").map_or("", |end| &after[end + 3..]);
            continue;
        }
        if rest.starts_with('<') {
            let Some(end) = tag_end(rest) else {
                // A lone `<` is text.
                out.text("<", link.is_some());
                rest = &rest[1..];
                continue;
            };
            let tag = Tag::parse(&rest[1..end]);
            rest = &rest[end + 1..];
            if let Some(name) = &hidden {
                if tag.closing && &tag.name == name {
                    hidden = None;
                }
                continue;
            }
            if !tag.closing && HIDDEN.contains(&tag.name.as_str()) && !tag.self_closing {
                hidden = Some(tag.name.clone());
                continue;
            }
            match (tag.name.as_str(), tag.closing) {
                ("br", _) => out.newline(),
                ("li", false) => {
                    out.block();
                    out.raw("- ");
                }
                ("td" | "th", false) => out.space(),
                ("a", false) => {
                    link = Some(Link { href: tag.attr("href").map(|h| decode_entities(&h)).filter(|h| shows_url(h)), text: String::new() })
                }
                ("a", true) => {
                    if let Some(l) = link.take() {
                        out.link(&l);
                    }
                }
                ("img", _) => {
                    if let Some(alt) = tag.attr("alt").map(|a| decode_entities(&a)).filter(|a| !a.trim().is_empty()) {
                        out.text(&alt, false);
                    }
                }
                (name, _) if BLOCKS.contains(&name) => out.block(),
                _ => {}
            }
            continue;
        }
        let next = rest.find('<').unwrap_or(rest.len());
        if hidden.is_none() {
            let text = decode_entities(&rest[..next]);
            match &mut link {
                Some(l) => l.text.push_str(&text),
                None => out.text(&text, false),
            }
        }
        rest = &rest[next..];
    }
    if let Some(l) = link.take() {
        out.link(&l);
    }
    out.finish()
}

struct Link {
    href: Option<String>,
    text: String,
}

fn shows_url(href: &str) -> bool {
    let lower = href.trim_start().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("mailto:")
}

/// Index of the `>` that ends the tag starting at `s[0] == '<'`, skipping quoted values.
fn tag_end(s: &str) -> Option<usize> {
    let second = s[1..].chars().next()?;
    if !(second.is_ascii_alphabetic() || second == '/' || second == '!') {
        return None;
    }
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices().skip(1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

struct Tag {
    name: String,
    closing: bool,
    self_closing: bool,
    attrs: String,
}

impl Tag {
    fn parse(inner: &str) -> Self {
        let closing = inner.starts_with('/');
        let inner = inner.trim_start_matches('/');
        let self_closing = inner.trim_end().ends_with('/');
        let name_end = inner.find(|c: char| c.is_whitespace() || c == '/' || c == '>').unwrap_or(inner.len());
        Self { name: inner[..name_end].to_ascii_lowercase(), closing, self_closing, attrs: inner[name_end..].to_owned() }
    }

    /// The value of attribute `name` (quoted or not), undecoded.
    fn attr(&self, name: &str) -> Option<String> {
        let mut rest = self.attrs.as_str();
        loop {
            rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
            if rest.is_empty() {
                return None;
            }
            let key_end = rest.find(|c: char| c.is_whitespace() || c == '=' || c == '/').unwrap_or(rest.len());
            let key = rest[..key_end].to_ascii_lowercase();
            rest = rest[key_end..].trim_start();
            let value = if let Some(after) = rest.strip_prefix('=') {
                let after = after.trim_start();
                let (value, remaining) = match after.chars().next() {
                    Some(q @ ('"' | '\'')) => {
                        let body = &after[1..];
                        let end = body.find(q).unwrap_or(body.len());
                        (&body[..end], body.get(end + 1..).unwrap_or(""))
                    }
                    _ => {
                        let end = after.find(char::is_whitespace).unwrap_or(after.len());
                        (&after[..end], &after[end..])
                    }
                };
                rest = remaining;
                value
            } else {
                ""
            };
            if key == name {
                return Some(value.to_owned());
            }
        }
    }
}

/// Decodes the named entities email HTML uses and every numeric one.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').filter(|&e| e <= 12);
        let decoded = end.and_then(|e| decode_one(&rest[1..e]));
        match (end, decoded) {
            (Some(e), Some(c)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn decode_one(entity: &str) -> Option<char> {
    if let Some(num) = entity.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code).filter(|c| *c != '\0');
    }
    Some(match entity {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "rsquo" => '’',
        "lsquo" => '‘',
        "rdquo" => '”',
        "ldquo" => '“',
        "copy" => '©',
        "reg" => '®',
        "euro" => '€',
        "middot" => '·',
        "bull" => '•',
        _ => return None,
    })
}

/// Accumulates text with collapsed whitespace and at most one blank line between blocks.
#[derive(Default)]
struct Writer {
    out: String,
    pending_space: bool,
}

impl Writer {
    fn text(&mut self, text: &str, _in_link: bool) {
        for (i, word) in text.split(char::is_whitespace).enumerate() {
            if i > 0 {
                self.pending_space = true;
            }
            if word.is_empty() {
                continue;
            }
            self.raw(word);
        }
    }

    fn raw(&mut self, s: &str) {
        if self.pending_space && !self.out.is_empty() && !self.out.ends_with(['\n', ' ']) {
            self.out.push(' ');
        }
        self.pending_space = false;
        self.out.push_str(s);
    }

    fn space(&mut self) {
        self.pending_space = true;
    }

    fn newline(&mut self) {
        trim_spaces(&mut self.out);
        self.out.push('\n');
        self.pending_space = false;
    }

    /// Ends the current block with one blank line (never more).
    fn block(&mut self) {
        trim_spaces(&mut self.out);
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push_str(if self.out.ends_with('\n') { "\n" } else { "\n\n" });
        }
        self.pending_space = false;
    }

    fn link(&mut self, link: &Link) {
        let text = link.text.split_whitespace().collect::<Vec<_>>().join(" ");
        match &link.href {
            Some(href) => {
                let shown = href.strip_prefix("mailto:").unwrap_or(href);
                if text.is_empty() || text == *href || text == shown {
                    self.raw(shown);
                } else {
                    self.raw(&format!("{text} ({shown})"));
                }
            }
            None if !text.is_empty() => self.raw(&text),
            None => {}
        }
    }

    fn finish(mut self) -> String {
        trim_spaces(&mut self.out);
        let mut text = self.out.trim_start_matches('\n').trim_end().to_owned();
        text.push('\n');
        text
    }
}

fn trim_spaces(s: &mut String) {
    let trimmed = s.trim_end_matches(' ').len();
    s.truncate(trimmed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_their_urls_and_blocks_become_lines() {
        let html = r#"<!doctype html><html><head><title>T</title><style>p{color:red}</style></head><body>
<h1>Reset&nbsp;your password</h1><p>Hi Ana &amp; Bo,<br>your code is <strong>123456</strong>.</p>
<p><a id="x" href="https://app.example/cb?otp=123456&amp;state=a%26b">Reset password</a></p>
<p><a href="https://id.example/x">https://id.example/x</a> or <a href="javascript:alert(1)">click</a></p>
<ul><li>One</li><li>Two</li></ul><!-- hidden --><script>evil()</script><p>Mail <a href='mailto:help@example.com'>help@example.com</a></p></body></html>"#;
        let text = html_to_text(html);
        assert_eq!(
            text,
            "Reset your password\n\nHi Ana & Bo,\nyour code is 123456.\n\nReset password (https://app.example/cb?otp=123456&state=a%26b)\n\nhttps://id.example/x or click\n\n- One\n\n- Two\n\nMail help@example.com\n"
        );
    }

    #[test]
    fn odd_input_never_panics_and_keeps_text() {
        for input in ["", "<", "a < b", "<a href=", "&#xFFFFFFFF; &#0; &bogus; &", "<p>é<br/>ü</p>", "<a>no href</a>", "<style>unclosed"]
        {
            let _ = html_to_text(input);
        }
        assert_eq!(html_to_text("a < b &lt; c"), "a < b < c\n");
        assert_eq!(html_to_text("<a>plain</a>"), "plain\n");
    }
}
