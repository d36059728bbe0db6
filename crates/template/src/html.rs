//! A small HTML context scanner: it follows the *literal* template text as it is emitted and
//! says where the next interpolated value lands (running text, quoted or unquoted attribute
//! value, inside a tag) and whether that spot is the query part of a URL.
//!
//! It is deliberately not an HTML parser. It only needs to be right about the spots that
//! change the escaping, and it fails safe: every spot gets at least full HTML escaping, so a
//! misjudged spot can cost readability (an extra percent-encoding) but never an injection.
//! Values themselves are not fed through the state machine (their escaped form cannot change
//! it); only their URL-ness is noted (a `${resetPasswordLink}` with a `?` starts a query).
//!
//! In a URL attribute the scanner also decides whether a value may decide the URL's scheme
//! ([`HtmlScanner::url_verdict`]): escaping keeps a value inside its attribute, but
//! `href="${request.relayState}"` with `javascript:…` needs no quote to run script.

/// Where a value is about to be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spot {
    /// Running text, comments, `<script>`/`<style>` contents.
    Text,
    /// Inside a `"…"` or `'…'` attribute value.
    QuotedAttr,
    /// An unquoted attribute value, or inside a tag outside any value.
    Unquoted,
}

/// Attributes whose value is a URL: after a literal `?` in them, a value is a query component.
const URL_ATTRS: &[&str] = &[
    "href",
    "src",
    "action",
    "formaction",
    "background",
    "cite",
    "poster",
    "longdesc",
    "usemap",
    "xlink:href",
    "data",
    "codebase",
    "manifest",
    "ping",
];

/// Schemes a value may give a URL attribute: `http`/`https` everywhere, and `mailto` in `href`
/// (a link, where it opens a mail client). Everything else a value could choose runs code
/// (`javascript:`, `vbscript:`), carries a document (`data:`), or means nothing in an email
/// (relative URLs have no base there).
const SAFE_SCHEMES: &[&str] = &["http", "https"];
const SAFE_LINK_SCHEMES: &[&str] = &["http", "https", "mailto"];

/// The URL attribute text kept to judge the scheme. Far more than any scheme needs: past it,
/// text is no longer kept, a settled scheme stays as it was, and a still undecided one (a run of
/// blanks, say) is judged unsafe rather than scanned without end.
const URL_PREFIX_CAP: usize = 256;

/// Whether a value about to land in a URL attribute is written or replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UrlVerdict {
    Keep,
    /// The value would decide the scheme and does not make it http(s) (or mailto in `href`),
    /// or the URL already has a scheme that runs or embeds content.
    Neutralize,
}

/// Elements whose content is not markup: a `<` inside them does not start a tag.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    TagOpen,
    EndTagOpen,
    TagName,
    InTag,
    AttrName,
    AfterAttrName,
    BeforeValue,
    Value(Option<char>),
    MarkupDecl,
    MarkupDash,
    Comment(u8),
    Bogus,
    RawText(usize),
}

#[derive(Debug, Clone)]
pub(crate) struct HtmlScanner {
    state: State,
    end_tag: bool,
    tag: String,
    attr: String,
    url_attr: bool,
    attr_query: bool,
    url: UrlTracker,
    /// The URL attribute's value so far, as the browser will receive it (literal text and the
    /// values' escaped output), kept until it passes [`URL_PREFIX_CAP`].
    url_prefix: String,
    url_prefix_full: bool,
}

impl Default for HtmlScanner {
    fn default() -> Self {
        Self {
            state: State::Data,
            end_tag: false,
            tag: String::new(),
            attr: String::new(),
            url_attr: false,
            attr_query: false,
            url: UrlTracker::default(),
            url_prefix: String::new(),
            url_prefix_full: false,
        }
    }
}

/// Names longer than this are not interesting (no URL attribute or raw-text element is longer).
const NAME_CAP: usize = 16;

fn push_capped(buf: &mut String, ch: char) {
    if buf.len() < NAME_CAP {
        buf.push(ch.to_ascii_lowercase());
    }
}

impl HtmlScanner {
    /// The spot the next value lands in, and whether it is inside a URL query.
    pub fn place(&self) -> (Spot, bool) {
        match self.state {
            State::Data => (Spot::Text, self.url.in_query()),
            State::Value(q) => {
                let spot = if q.is_some() { Spot::QuotedAttr } else { Spot::Unquoted };
                (spot, (self.url_attr && self.attr_query) || self.url.in_query())
            }
            State::TagOpen
            | State::EndTagOpen
            | State::TagName
            | State::InTag
            | State::AttrName
            | State::AfterAttrName
            | State::BeforeValue => (Spot::Unquoted, false),
            State::MarkupDecl | State::MarkupDash | State::Comment(_) | State::Bogus | State::RawText(_) => (Spot::Text, false),
        }
    }

    /// Whether a value whose output is `emitted` may be written at the current spot. Only URL
    /// attribute values are judged; everywhere else escaping alone is enough.
    ///
    /// The scheme belongs to whoever writes the start of the URL. When the literal template
    /// text has already settled it (`href="https://app/cb?state=${request.relayState}"`), the
    /// value only fills in the rest and is kept. When the value comes first, or finishes what
    /// the prefix started (`href="java${x}"`), or follows a bare `/` (`href="/${x}"` →
    /// `//evil.example`), the URL it makes must be absolute http(s), or mailto in `href`.
    /// A prefix that already carries another scheme (`data:`, `javascript:`) gets no values
    /// at all: inside those, a value is markup or code that attribute escaping does not defuse.
    pub fn url_verdict(&self, emitted: &str) -> UrlVerdict {
        let (prefix, attr) = match self.state {
            State::Value(_) if self.url_attr => (self.url_prefix.as_str(), self.attr.as_str()),
            // `href=${x}`: the value starts an unquoted attribute value.
            State::BeforeValue if URL_ATTRS.contains(&self.attr.as_str()) => ("", self.attr.as_str()),
            _ => return UrlVerdict::Keep,
        };
        if emitted.is_empty() {
            return UrlVerdict::Keep;
        }
        let safe = if attr == "href" { SAFE_LINK_SCHEMES } else { SAFE_SCHEMES };
        let allowed = |scheme: &SchemeOf| matches!(scheme, SchemeOf::Named(name) if safe.contains(&name.as_str()));
        let before = scheme_of(prefix);
        let value_decides = match &before {
            SchemeOf::Undecided => true,
            SchemeOf::Relative { only_slashes } => *only_slashes,
            SchemeOf::Named(_) => return if allowed(&before) { UrlVerdict::Keep } else { UrlVerdict::Neutralize },
        };
        let prefix_complete = self.state == State::BeforeValue || !self.url_prefix_full;
        if !value_decides || (prefix_complete && allowed(&scheme_of(&format!("{prefix}{emitted}")))) {
            UrlVerdict::Keep
        } else {
            UrlVerdict::Neutralize
        }
    }

    /// Records that a value (unescaped form `raw`, written as `emitted`) was written at the
    /// current spot.
    pub fn note_value(&mut self, raw: &str, emitted: &str) {
        if self.state == State::BeforeValue {
            // `href=${x}`: the value starts an unquoted attribute value.
            self.start_value(None);
        }
        match self.state {
            State::Value(_) => {
                if self.url_attr && raw.contains('?') {
                    self.attr_query = true;
                }
                self.push_url_prefix(emitted);
                self.url.note_value(raw);
            }
            State::Data => self.url.note_value(raw),
            _ => {}
        }
    }

    pub fn feed_str(&mut self, s: &str) {
        for ch in s.chars() {
            self.feed(ch);
        }
    }

    fn feed(&mut self, ch: char) {
        let ws = matches!(ch, ' ' | '\t' | '\n' | '\r' | '\x0c');
        self.state = match self.state {
            State::Data => {
                self.url.feed(ch);
                if ch == '<' {
                    State::TagOpen
                } else {
                    State::Data
                }
            }
            State::TagOpen => match ch {
                c if c.is_ascii_alphabetic() => {
                    self.begin_tag(c, false);
                    State::TagName
                }
                '/' => State::EndTagOpen,
                '!' => State::MarkupDecl,
                '?' => State::Bogus,
                '<' => State::TagOpen,
                _ => State::Data,
            },
            State::EndTagOpen => match ch {
                c if c.is_ascii_alphabetic() => {
                    self.begin_tag(c, true);
                    State::TagName
                }
                '>' => State::Data,
                _ => State::Bogus,
            },
            State::TagName => match ch {
                '>' => self.close_tag(),
                '/' => State::InTag,
                _ if ws => State::InTag,
                c => {
                    push_capped(&mut self.tag, c);
                    State::TagName
                }
            },
            State::InTag => match ch {
                '>' => self.close_tag(),
                '/' => State::InTag,
                _ if ws => State::InTag,
                c => self.begin_attr(c),
            },
            State::AttrName => match ch {
                '>' => self.close_tag(),
                '=' => State::BeforeValue,
                '/' => State::InTag,
                _ if ws => State::AfterAttrName,
                c => {
                    push_capped(&mut self.attr, c);
                    State::AttrName
                }
            },
            State::AfterAttrName => match ch {
                '>' => self.close_tag(),
                '=' => State::BeforeValue,
                '/' => State::InTag,
                _ if ws => State::AfterAttrName,
                c => self.begin_attr(c),
            },
            State::BeforeValue => match ch {
                '>' => self.close_tag(),
                '"' | '\'' => {
                    self.start_value(Some(ch));
                    self.state
                }
                _ if ws => State::BeforeValue,
                c => {
                    self.start_value(None);
                    self.value_char(c);
                    self.state
                }
            },
            State::Value(Some(q)) if ch == q => State::InTag,
            State::Value(None) if ws => State::InTag,
            State::Value(None) if ch == '>' => self.close_tag(),
            State::Value(q) => {
                self.value_char(ch);
                State::Value(q)
            }
            State::MarkupDecl => match ch {
                '-' => State::MarkupDash,
                '>' => State::Data,
                _ => State::Bogus,
            },
            State::MarkupDash => match ch {
                '-' => State::Comment(0),
                '>' => State::Data,
                _ => State::Bogus,
            },
            State::Comment(dashes) => match ch {
                '-' => State::Comment(dashes.saturating_add(1).min(2)),
                '>' if dashes >= 2 => State::Data,
                _ => State::Comment(0),
            },
            State::Bogus => {
                if ch == '>' {
                    State::Data
                } else {
                    State::Bogus
                }
            }
            State::RawText(matched) => self.raw_text(ch, matched),
        };
        if self.state == State::Data && ch == '>' {
            self.url.reset();
        }
    }

    fn begin_tag(&mut self, c: char, end: bool) {
        self.tag.clear();
        push_capped(&mut self.tag, c);
        self.end_tag = end;
    }

    fn begin_attr(&mut self, c: char) -> State {
        self.attr.clear();
        push_capped(&mut self.attr, c);
        State::AttrName
    }

    fn start_value(&mut self, quote: Option<char>) {
        self.state = State::Value(quote);
        self.url_attr = URL_ATTRS.contains(&self.attr.as_str());
        self.attr_query = false;
        self.url.reset();
        self.url_prefix.clear();
        self.url_prefix_full = false;
    }

    /// Text past the cap cannot change a scheme that is already settled, so it is not kept.
    fn push_url_prefix(&mut self, s: &str) {
        if !self.url_attr || self.url_prefix_full {
            return;
        }
        self.url_prefix.push_str(s);
        self.url_prefix_full = self.url_prefix.len() > URL_PREFIX_CAP;
    }

    fn value_char(&mut self, ch: char) {
        if self.url_attr {
            let mut buf = [0u8; 4];
            self.push_url_prefix(ch.encode_utf8(&mut buf));
        }
        self.url.feed(ch);
        if self.url_attr && ch == '?' {
            self.attr_query = true;
        }
    }

    fn close_tag(&mut self) -> State {
        self.url.reset();
        if !self.end_tag && RAW_TEXT.contains(&self.tag.as_str()) {
            State::RawText(0)
        } else {
            State::Data
        }
    }

    /// Inside `<script>` etc.: wait for `</` + the element's name.
    fn raw_text(&mut self, ch: char, matched: usize) -> State {
        let expected = match matched {
            0 => Some('<'),
            1 => Some('/'),
            k => self.tag.chars().nth(k - 2),
        };
        if expected == Some(ch.to_ascii_lowercase()) {
            if matched + 1 == self.tag.len() + 2 {
                self.end_tag = true;
                return State::TagName;
            }
            return State::RawText(matched + 1);
        }
        State::RawText(usize::from(ch == '<'))
    }
}

/// What the start of a URL attribute's text says about its scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SchemeOf {
    /// Nothing yet, or scheme characters without their `:`: what follows decides.
    Undecided,
    /// No scheme: a character that cannot be in one came first. `only_slashes` when that is
    /// all there is so far (`/`, `\`), since one more slash makes a protocol-relative URL.
    Relative { only_slashes: bool },
    /// A scheme, lowercased.
    Named(String),
}

/// Reads the scheme the way a browser will (WHATWG URL parsing after HTML attribute decoding):
/// character references decoded, tab/CR/LF removed anywhere, leading C0 controls and spaces
/// ignored, then `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":"`. This is what defeats
/// `jav&#x61;script:`, `java&Tab;script:`, ` \x01javascript:` and `JaVaScRiPt:`.
fn scheme_of(attr_text: &str) -> SchemeOf {
    let decoded = decode_char_refs(attr_text);
    let cleaned: String = decoded.chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).skip_while(|c| *c <= ' ').collect();
    let mut scheme = String::new();
    for ch in cleaned.chars() {
        if ch == ':' && !scheme.is_empty() {
            return SchemeOf::Named(scheme);
        }
        let scheme_char = ch.is_ascii_alphabetic() || (!scheme.is_empty() && (ch.is_ascii_digit() || matches!(ch, '+' | '-' | '.')));
        if !scheme_char {
            return SchemeOf::Relative { only_slashes: cleaned.chars().all(|c| matches!(c, '/' | '\\')) };
        }
        scheme.push(ch.to_ascii_lowercase());
    }
    SchemeOf::Undecided
}

/// Decodes the character references that can spell a scheme or hide one: numeric ones (with
/// or without `;`, as browsers accept) and the named ones for `:`, `+`, `.`, tab and newline.
/// No named reference stands for an ASCII letter or digit, so an unknown one is left as `&…`,
/// which cannot be part of a scheme: undecoded, it can only make a URL look relative.
fn decode_char_refs(s: &str) -> String {
    const NAMED: &[(&str, char)] = &[
        ("colon;", ':'),
        ("plus;", '+'),
        ("period;", '.'),
        ("Tab;", '\t'),
        ("NewLine;", '\n'),
        ("amp;", '&'),
        ("sol;", '/'),
        ("bsol;", '\\'),
    ];
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(num) = rest.strip_prefix('#') {
            let (hex, digits) = match num.strip_prefix(['x', 'X']) {
                Some(h) => (true, h),
                None => (false, num),
            };
            let len = digits.chars().take_while(|c| if hex { c.is_ascii_hexdigit() } else { c.is_ascii_digit() }).count();
            if len > 0 {
                let value = u32::from_str_radix(&digits[..len.min(8)], if hex { 16 } else { 10 }).unwrap_or(u32::MAX);
                out.push(char::from_u32(value).filter(|c| *c != '\0').unwrap_or('\u{FFFD}'));
                let after = &digits[len..];
                rest = after.strip_prefix(';').unwrap_or(after);
                continue;
            }
        } else if let Some((name, ch)) = NAMED.iter().find(|(name, _)| rest.starts_with(name)) {
            out.push(*ch);
            rest = &rest[name.len()..];
            continue;
        }
        out.push('&');
    }
    out.push_str(rest);
    out
}

/// Follows `http://` / `https://` URLs in running text: after their `?`, up to the next
/// blank or markup char, a value is a query component.
#[derive(Debug, Clone, Default)]
pub(crate) struct UrlTracker {
    tail: [u8; 8],
    in_url: bool,
    query: bool,
}

impl UrlTracker {
    pub fn in_query(&self) -> bool {
        self.in_url && self.query
    }

    pub fn reset(&mut self) {
        *self = Self::default();
    }

    pub fn feed_str(&mut self, s: &str) {
        for ch in s.chars() {
            self.feed(ch);
        }
    }

    pub fn feed(&mut self, ch: char) {
        if self.in_url {
            if ch.is_whitespace() || matches!(ch, '<' | '>' | '"' | '\'' | '`') {
                self.in_url = false;
                self.query = false;
            } else if ch == '?' {
                self.query = true;
            }
        }
        self.tail.rotate_left(1);
        self.tail[7] = if ch.is_ascii() { ch.to_ascii_lowercase() as u8 } else { 0 };
        if !self.in_url && ch == '/' && (self.tail.ends_with(b"http://") || self.tail.ends_with(b"https://")) {
            self.in_url = true;
            self.query = false;
        }
    }

    /// A value such as `${resetPasswordLink}` may itself start a URL (and its query).
    pub fn note_value(&mut self, raw: &str) {
        let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
        if !self.in_url {
            if (lower.starts_with("http://") || lower.starts_with("https://")) && !raw.contains(char::is_whitespace) {
                self.in_url = true;
                self.query = raw.contains('?');
            }
        } else if raw.contains('?') {
            self.query = true;
        }
        // The value's chars are not in the tail: a following literal "http://" must start afresh.
        self.tail = [0; 8];
    }
}
