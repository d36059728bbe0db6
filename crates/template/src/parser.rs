//! Template structure: text, references, directives and comments, in one left-to-right pass.
//!
//! Block nesting recurses once per `#if`/`#foreach` level, capped at [`crate::MAX_DEPTH`].
//! Every char is looked at a bounded number of times, so parsing is linear in the input.
//!
//! Whitespace follows Velocity 2's default "lines" gobbling: a directive or comment that is
//! alone on its line (only blanks around it) takes its indentation and line break with it, so
//! a text template laid out with one directive per line renders without blank lines.

use crate::ast::{Node, Pos, Target};
use crate::cursor::{error_at, is_ident_start, Cursor};
use crate::error::ParseError;
use crate::expr::{parse_expr, parse_reference};
use crate::{MAX_DEPTH, MAX_SOURCE_BYTES};

type PResult<T> = Result<T, ParseError>;

/// How a nested block ended.
enum Term {
    Eof,
    End(Pos),
    Else(Pos),
    ElseIf(Pos, crate::ast::Expr),
}

/// Directives that would let a template reach outside its sandbox or define code.
const FORBIDDEN: &[&str] = &["macro", "include", "parse", "evaluate", "define", "stop", "break"];

pub(crate) fn parse_template(source: &str) -> PResult<Vec<Node>> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(ParseError::new(1, 1, format!("template is larger than {MAX_SOURCE_BYTES} bytes")));
    }
    let chars: Vec<char> = source.chars().collect();
    let mut p = Parser { c: Cursor::new(&chars), text: String::new() };
    let (nodes, term) = p.block(0)?;
    match term {
        Term::Eof => Ok(nodes),
        Term::End(pos) => Err(error_at(pos, "`#end` without an open `#if` or `#foreach`")),
        Term::Else(pos) => Err(error_at(pos, "`#else` without an open `#if`")),
        Term::ElseIf(pos, _) => Err(error_at(pos, "`#elseif` without an open `#if`")),
    }
}

struct Parser<'s> {
    c: Cursor<'s>,
    /// Literal text not yet turned into a node (so gobbling can trim its indentation).
    text: String,
}

impl Parser<'_> {
    fn flush(&mut self, nodes: &mut Vec<Node>) {
        if !self.text.is_empty() {
            nodes.push(Node::Text(std::mem::take(&mut self.text)));
        }
    }

    fn block(&mut self, depth: usize) -> PResult<(Vec<Node>, Term)> {
        let mut nodes = Vec::new();
        loop {
            match self.c.peek() {
                None => {
                    self.flush(&mut nodes);
                    return Ok((nodes, Term::Eof));
                }
                // `\$` and `\#` print the char itself and stop it starting a reference/directive.
                Some('\\') if matches!(self.c.peek_at(1), Some('$' | '#')) => {
                    self.c.bump();
                    if let Some(ch) = self.c.bump() {
                        self.text.push(ch);
                    }
                }
                Some('$') => match parse_reference(&mut self.c, 0)? {
                    Some(r) => {
                        self.flush(&mut nodes);
                        nodes.push(Node::Interp(r));
                    }
                    None => {
                        self.c.bump();
                        self.text.push('$');
                    }
                },
                Some('#') => {
                    if let Some(term) = self.hash(depth, &mut nodes)? {
                        return Ok((nodes, term));
                    }
                }
                Some(ch) => {
                    self.c.bump();
                    self.text.push(ch);
                }
            }
        }
    }

    /// At a `#`: a comment, a directive, or plain text (`#fff`, `#1`, `#hashtag`).
    /// Returns a terminator when the directive ends the current block.
    fn hash(&mut self, depth: usize, nodes: &mut Vec<Node>) -> PResult<Option<Term>> {
        let alone = !self.c.line_has_content();
        let start = self.c.clone();
        let pos = self.c.loc();
        match self.c.peek_at(1) {
            Some('#') => {
                // Line comment: runs to and including the line break (as in Velocity).
                while let Some(ch) = self.c.bump() {
                    if ch == '\n' {
                        break;
                    }
                }
                if alone {
                    trim_indent(&mut self.text);
                }
                return Ok(None);
            }
            Some('*') => {
                self.c.bump();
                self.c.bump();
                loop {
                    if self.c.eof() {
                        return Err(error_at(pos, "unterminated block comment: `#*` needs a closing `*#`"));
                    }
                    if self.c.starts_with("*#") {
                        self.c.bump();
                        self.c.bump();
                        break;
                    }
                    self.c.bump();
                }
                self.gobble(alone);
                return Ok(None);
            }
            Some('[') if self.c.peek_at(2) == Some('[') => {
                // `#[[ … ]]#`: unparsed content, emitted verbatim.
                for _ in 0..3 {
                    self.c.bump();
                }
                loop {
                    if self.c.eof() {
                        return Err(error_at(pos, "unterminated `#[[`: expected `]]#`"));
                    }
                    if self.c.starts_with("]]#") {
                        for _ in 0..3 {
                            self.c.bump();
                        }
                        break;
                    }
                    if let Some(ch) = self.c.bump() {
                        self.text.push(ch);
                    }
                }
                return Ok(None);
            }
            _ => {}
        }
        self.c.bump(); // '#'
        let braced = self.c.eat('{');
        let name = match self.c.ident() {
            Some(name) if !braced || self.c.eat('}') => name,
            _ => {
                self.c = start;
                self.c.bump();
                self.text.push('#');
                return Ok(None);
            }
        };
        if FORBIDDEN.contains(&name.as_str()) {
            return Err(error_at(
                pos,
                format!("`#{name}` is not allowed: templates cannot define macros, include or evaluate other templates, or stop rendering"),
            ));
        }
        match name.as_str() {
            "end" | "else" => {
                self.gobble(alone);
                self.flush(nodes);
                Ok(Some(if name == "end" { Term::End(pos) } else { Term::Else(pos) }))
            }
            "elseif" => {
                self.open_paren("elseif")?;
                let cond = parse_expr(&mut self.c, 0)?;
                self.close_paren()?;
                self.gobble(alone);
                self.flush(nodes);
                Ok(Some(Term::ElseIf(pos, cond)))
            }
            "if" => {
                Self::check_depth(depth, pos)?;
                self.open_paren("if")?;
                let cond = parse_expr(&mut self.c, 0)?;
                self.close_paren()?;
                self.gobble(alone);
                self.flush(nodes);
                let node = self.if_rest(depth, pos, cond)?;
                nodes.push(node);
                Ok(None)
            }
            "foreach" => {
                Self::check_depth(depth, pos)?;
                let node = self.foreach(depth, pos, alone, nodes)?;
                nodes.push(node);
                Ok(None)
            }
            "set" => {
                let node = self.set()?;
                self.gobble(alone);
                self.flush(nodes);
                nodes.push(node);
                Ok(None)
            }
            _ => {
                // Not a directive: print it as text (CSS colours like `#fafafa` land here).
                self.c = start;
                self.c.bump();
                self.text.push('#');
                Ok(None)
            }
        }
    }

    fn check_depth(depth: usize, pos: Pos) -> PResult<()> {
        if depth >= MAX_DEPTH {
            Err(error_at(pos, format!("blocks nested more than {MAX_DEPTH} levels deep")))
        } else {
            Ok(())
        }
    }

    /// If the directive just parsed was alone on its line, drop its indentation and line break.
    fn gobble(&mut self, alone: bool) {
        if !alone {
            return;
        }
        let mut k = 0;
        while matches!(self.c.peek_at(k), Some(' ' | '\t')) {
            k += 1;
        }
        let line_break = match (self.c.peek_at(k), self.c.peek_at(k + 1)) {
            (None, _) => 0,
            (Some('\n'), _) => 1,
            (Some('\r'), Some('\n')) => 2,
            _ => return,
        };
        for _ in 0..k + line_break {
            self.c.bump();
        }
        trim_indent(&mut self.text);
    }

    fn open_paren(&mut self, directive: &str) -> PResult<()> {
        while matches!(self.c.peek(), Some(' ' | '\t')) {
            self.c.bump();
        }
        if self.c.eat('(') {
            Ok(())
        } else {
            Err(self.c.error(format!("expected `(` after `#{directive}`")))
        }
    }

    fn close_paren(&mut self) -> PResult<()> {
        self.c.skip_ws();
        if self.c.eat(')') {
            Ok(())
        } else if self.c.eof() {
            Err(self.c.error("unexpected end of template: expected `)`"))
        } else {
            Err(self.c.error("expected `)` to close the directive's expression"))
        }
    }

    fn if_rest(&mut self, depth: usize, pos: Pos, first: crate::ast::Expr) -> PResult<Node> {
        let mut branches = Vec::new();
        let mut cond = first;
        loop {
            let (body, term) = self.block(depth + 1)?;
            branches.push((cond, body));
            match term {
                Term::End(_) => return Ok(Node::If { branches, otherwise: None }),
                Term::ElseIf(_, next) => cond = next,
                Term::Else(_) => {
                    let (body, term) = self.block(depth + 1)?;
                    return match term {
                        Term::End(_) => Ok(Node::If { branches, otherwise: Some(body) }),
                        Term::Eof => Err(error_at(pos, "`#if` is never closed: add `#end`")),
                        Term::Else(p) => Err(error_at(p, "second `#else` in the same `#if`")),
                        Term::ElseIf(p, _) => Err(error_at(p, "`#elseif` after `#else`")),
                    };
                }
                Term::Eof => return Err(error_at(pos, "`#if` is never closed: add `#end`")),
            }
        }
    }

    fn foreach(&mut self, depth: usize, pos: Pos, alone: bool, nodes: &mut Vec<Node>) -> PResult<Node> {
        self.open_paren("foreach")?;
        self.c.skip_ws();
        let var = self.plain_variable("#foreach")?;
        self.c.skip_ws();
        if !self.c.eat_word("in") {
            return Err(self.c.error("expected `in` in `#foreach($item in $list)`"));
        }
        self.c.skip_ws();
        let list_pos = self.c.loc();
        let list = match parse_reference(&mut self.c, 0)? {
            Some(r) => match r.target {
                Target::Var(path) => path,
                Target::Call(_) => return Err(error_at(list_pos, "`#foreach` iterates over a list variable, not a helper call")),
            },
            None => return Err(error_at(list_pos, "`#foreach` needs a list variable such as `$items`")),
        };
        self.close_paren()?;
        self.gobble(alone);
        self.flush(nodes);
        let (body, term) = self.block(depth + 1)?;
        match term {
            Term::End(_) => Ok(Node::Foreach { var, list, body, pos }),
            Term::Eof => Err(error_at(pos, "`#foreach` is never closed: add `#end`")),
            Term::Else(p) | Term::ElseIf(p, _) => Err(error_at(p, "`#else` inside `#foreach` is not supported")),
        }
    }

    fn set(&mut self) -> PResult<Node> {
        self.open_paren("set")?;
        self.c.skip_ws();
        let var = self.plain_variable("#set")?;
        self.c.skip_ws();
        if !self.c.eat('=') {
            return Err(self.c.error("expected `=` in `#set($name = value)`"));
        }
        let value = parse_expr(&mut self.c, 0)?;
        self.close_paren()?;
        Ok(Node::Set { var, value })
    }

    /// `$name` / `${name}` / `$!name`: a single-segment variable, as `#set` and `#foreach` bind.
    fn plain_variable(&mut self, directive: &str) -> PResult<String> {
        let pos = self.c.loc();
        if !self.c.eat('$') {
            return Err(error_at(pos, format!("expected a variable like `$name` in `{directive}`")));
        }
        self.c.eat('!');
        let braced = self.c.eat('{');
        if !self.c.peek().is_some_and(is_ident_start) {
            return Err(self.c.error("expected a variable name"));
        }
        let name = self.c.ident().unwrap_or_default();
        if braced && !self.c.eat('}') {
            return Err(error_at(pos, "unterminated `${`: expected `}`"));
        }
        if self.c.peek() == Some('.') {
            return Err(self.c.error(format!("`{directive}` can only bind a plain variable, not a property")));
        }
        if name == "f" {
            return Err(error_at(pos, "`$f` holds the helper functions and cannot be rebound"));
        }
        Ok(name)
    }
}

/// Removes trailing blanks after the last line break of pending text: the indentation of a
/// line that held only a directive.
fn trim_indent(text: &mut String) {
    let keep = text.trim_end_matches([' ', '\t']).len();
    text.truncate(keep);
}
