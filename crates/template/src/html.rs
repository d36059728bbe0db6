//! A small HTML context scanner: it follows the *literal* template text as it is emitted and
//! says where the next interpolated value lands (running text, quoted or unquoted attribute
//! value, inside a tag) and whether that spot is the query part of a URL.
//!
//! It is deliberately not an HTML parser. It only needs to be right about the spots that
//! change the escaping, and it fails safe: every spot gets at least full HTML escaping, so a
//! misjudged spot can cost readability (an extra percent-encoding) but never an injection.
//! Values themselves are not fed through the state machine (their escaped form cannot change
//! it); only their URL-ness is noted (a `${resetPasswordLink}` with a `?` starts a query).

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

    /// Records that a value (unescaped form `raw`) was written at the current spot.
    pub fn note_value(&mut self, raw: &str) {
        if self.state == State::BeforeValue {
            // `href=${x}`: the value starts an unquoted attribute value.
            self.start_value(None);
        }
        match self.state {
            State::Value(_) => {
                if self.url_attr && raw.contains('?') {
                    self.attr_query = true;
                }
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
    }

    fn value_char(&mut self, ch: char) {
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
