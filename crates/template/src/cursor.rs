//! A position-tracking cursor over the template's chars, shared by the template and
//! expression parsers. It is `Clone` so parsers can look ahead and back off cheaply.

use crate::ast::Pos;
use crate::error::ParseError;

#[derive(Clone)]
pub(crate) struct Cursor<'s> {
    chars: &'s [char],
    pos: usize,
    /// Exclusive end: a sub-cursor over a string literal's contents stops at its quote.
    end: usize,
    line: usize,
    column: usize,
    /// Whether a non-blank char was consumed on the current line; a directive alone on its
    /// line has its indentation and line break removed ("lines" space gobbling, Velocity 2's default).
    line_has_content: bool,
}

impl<'s> Cursor<'s> {
    pub fn new(chars: &'s [char]) -> Self {
        Self { chars, pos: 0, end: chars.len(), line: 1, column: 1, line_has_content: false }
    }

    /// A cursor over `self`'s next `len` chars only, starting at the current position.
    pub fn sub(&self, len: usize) -> Self {
        let mut c = self.clone();
        c.end = (self.pos + len).min(self.end);
        c
    }

    pub fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }

    pub fn peek_at(&self, k: usize) -> Option<char> {
        let i = self.pos.checked_add(k)?;
        if i < self.end {
            self.chars.get(i).copied()
        } else {
            None
        }
    }

    pub fn bump(&mut self) -> Option<char> {
        let ch = self.peek()?;
        self.pos += 1;
        if ch == '\n' {
            self.line += 1;
            self.column = 1;
            self.line_has_content = false;
        } else {
            self.column += 1;
            if !matches!(ch, ' ' | '\t' | '\r') {
                self.line_has_content = true;
            }
        }
        Some(ch)
    }

    pub fn eat(&mut self, ch: char) -> bool {
        if self.peek() == Some(ch) {
            self.bump();
            true
        } else {
            false
        }
    }

    pub fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(k, ch)| self.peek_at(k) == Some(ch))
    }

    /// Consumes `word` if it is next and not followed by an identifier char
    /// (so `and` matches in `$a and $b` but not in `$a andy`).
    pub fn eat_word(&mut self, word: &str) -> bool {
        let n = word.chars().count();
        if self.starts_with(word) && !self.peek_at(n).is_some_and(is_ident_char) {
            for _ in 0..n {
                self.bump();
            }
            true
        } else {
            false
        }
    }

    pub fn eof(&self) -> bool {
        self.pos >= self.end
    }

    pub fn index(&self) -> usize {
        self.pos
    }

    /// Source text between an earlier index and the current position.
    pub fn text_since(&self, start: usize) -> String {
        self.chars.get(start..self.pos).map_or_else(String::new, |s| s.iter().collect())
    }

    pub fn loc(&self) -> Pos {
        Pos { line: self.line, column: self.column }
    }

    pub fn line_has_content(&self) -> bool {
        self.line_has_content
    }

    pub fn error(&self, message: impl Into<String>) -> ParseError {
        error_at(self.loc(), message)
    }

    /// Skips spaces, tabs and line breaks (allowed anywhere inside directive arguments).
    pub fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\r' | '\n')) {
            self.bump();
        }
    }

    /// Reads an identifier (`[A-Za-z_][A-Za-z0-9_]*`) if one starts here.
    pub fn ident(&mut self) -> Option<String> {
        if !self.peek().is_some_and(is_ident_start) {
            return None;
        }
        let mut s = String::new();
        while let Some(ch) = self.peek().filter(|c| is_ident_char(*c)) {
            s.push(ch);
            self.bump();
        }
        Some(s)
    }
}

pub(crate) fn error_at(pos: Pos, message: impl Into<String>) -> ParseError {
    ParseError::new(pos.line, pos.column, message)
}

pub(crate) fn is_ident_start(ch: char) -> bool {
    ch.is_ascii_alphabetic() || ch == '_'
}

pub(crate) fn is_ident_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || ch == '_'
}
