//! Parsing of references (`$a.b`, `${a.b}`, `$!a`, `$f.helper(…)`) and `#if`/`#set`
//! expressions. Every recursive step carries a depth that is capped at [`crate::MAX_DEPTH`],
//! so hostile input like `((((((…` or `!!!!!…` fails cleanly instead of overflowing the stack.

use crate::ast::{Call, CmpOp, Expr, Path, RefExpr, StrPart, Target};
use crate::cursor::{error_at, is_ident_start, Cursor};
use crate::error::ParseError;
use crate::functions::Helper;
use crate::MAX_DEPTH;

type PResult<T> = Result<T, ParseError>;

fn check_depth(c: &Cursor<'_>, depth: usize) -> PResult<()> {
    if depth > MAX_DEPTH {
        Err(c.error(format!("nested more than {MAX_DEPTH} levels deep")))
    } else {
        Ok(())
    }
}

/// Parses a reference at a `$`. Returns `Ok(None)` (cursor untouched) when the `$` does not
/// start one, e.g. `$5` or `US$ 10`: Velocity prints such a `$` literally.
pub(crate) fn parse_reference(c: &mut Cursor<'_>, depth: usize) -> PResult<Option<RefExpr>> {
    check_depth(c, depth)?;
    let start = c.clone();
    let pos = c.loc();
    let start_index = c.index();
    if !c.eat('$') {
        return Ok(None);
    }
    let quiet = c.eat('!');
    let braced = c.eat('{');
    let seg_pos = c.loc();
    let Some(first) = c.ident() else {
        if braced {
            return Err(error_at(pos, "expected a variable name after `${` (write `\\$` for a literal dollar sign)"));
        }
        *c = start;
        return Ok(None);
    };
    let mut segments = vec![first];
    let mut call = None;
    // `.name` continues the path only if a name follows: "Hello $user.profile.firstName." ends
    // with a literal full stop.
    while c.peek() == Some('.') && c.peek_at(1).is_some_and(is_ident_start) {
        c.bump();
        let name_pos = c.loc();
        let Some(name) = c.ident() else { break };
        segments.push(name);
        if c.peek() == Some('(') {
            // Method calls would expose whatever the value's type offers (`$x.getClass()` in
            // Java Velocity); only the `$f` helper allow-list is callable.
            if segments.len() != 2 || segments[0] != "f" {
                return Err(error_at(
                    name_pos,
                    format!(
                        "method calls are not allowed (`.{}(`): only `$f` helpers such as `$f.escapeHtml(…)` can be called",
                        segments.last().map_or("", String::as_str)
                    ),
                ));
            }
            call = Some(parse_call(c, &segments[1], name_pos, depth)?);
            break;
        }
    }
    if call.is_none() && segments[0] == "f" {
        return Err(error_at(seg_pos, "`$f` holds the helper functions: call one, e.g. `$f.escapeHtml($x)`"));
    }
    if braced && !c.eat('}') {
        return Err(error_at(pos, "unterminated `${`: expected `}`"));
    }
    let target = match call {
        Some(call) => Target::Call(call),
        None => Target::Var(Path { segments, pos }),
    };
    Ok(Some(RefExpr { target, quiet, source: c.text_since(start_index) }))
}

/// At the `(` after `$f.name`: the arguments, checked against the helper's arity.
fn parse_call(c: &mut Cursor<'_>, name: &str, pos: crate::ast::Pos, depth: usize) -> PResult<Call> {
    let Some(helper) = Helper::from_name(name) else {
        return Err(error_at(pos, format!("unknown helper `$f.{name}`; available: {}", Helper::names().join(", "))));
    };
    c.bump(); // '('
    let mut args = Vec::new();
    c.skip_ws();
    if !c.eat(')') {
        loop {
            args.push(parse_operand(c, depth + 1)?);
            c.skip_ws();
            if c.eat(',') {
                continue;
            }
            if c.eat(')') {
                break;
            }
            if c.eof() {
                return Err(error_at(pos, format!("unterminated call to `$f.{name}(`: expected `)`")));
            }
            return Err(c.error("expected `,` or `)` in helper arguments"));
        }
    }
    let (min, max) = helper.arity();
    if args.len() < min || args.len() > max {
        let want = if min == max { format!("{min}") } else { format!("{min} to {max}") };
        return Err(error_at(pos, format!("`$f.{name}` takes {want} argument(s), got {}", args.len())));
    }
    Ok(Call { helper, args, pos })
}

/// A full `#if`/`#set` expression: `||`/`or` over `&&`/`and` over `!`/`not` over comparisons.
pub(crate) fn parse_expr(c: &mut Cursor<'_>, depth: usize) -> PResult<Expr> {
    check_depth(c, depth)?;
    let mut items = vec![parse_and(c, depth)?];
    loop {
        c.skip_ws();
        if c.starts_with("||") {
            c.bump();
            c.bump();
        } else if !c.eat_word("or") {
            break;
        }
        items.push(parse_and(c, depth)?);
    }
    Ok(if items.len() == 1 { items.remove(0) } else { Expr::Or(items) })
}

fn parse_and(c: &mut Cursor<'_>, depth: usize) -> PResult<Expr> {
    let mut items = vec![parse_not(c, depth)?];
    loop {
        c.skip_ws();
        if c.starts_with("&&") {
            c.bump();
            c.bump();
        } else if !c.eat_word("and") {
            break;
        }
        items.push(parse_not(c, depth)?);
    }
    Ok(if items.len() == 1 { items.remove(0) } else { Expr::And(items) })
}

fn parse_not(c: &mut Cursor<'_>, depth: usize) -> PResult<Expr> {
    check_depth(c, depth)?;
    c.skip_ws();
    let negated = if c.peek() == Some('!') && c.peek_at(1) != Some('=') {
        c.bump();
        true
    } else {
        c.eat_word("not")
    };
    if negated {
        return Ok(Expr::Not(Box::new(parse_not(c, depth + 1)?)));
    }
    parse_cmp(c, depth)
}

fn parse_cmp(c: &mut Cursor<'_>, depth: usize) -> PResult<Expr> {
    let left = parse_operand(c, depth)?;
    c.skip_ws();
    let op = if c.starts_with("==") {
        Some((CmpOp::Eq, 2))
    } else if c.starts_with("!=") {
        Some((CmpOp::Ne, 2))
    } else if c.starts_with("<=") {
        Some((CmpOp::Le, 2))
    } else if c.starts_with(">=") {
        Some((CmpOp::Ge, 2))
    } else if c.starts_with("<") {
        Some((CmpOp::Lt, 1))
    } else if c.starts_with(">") {
        Some((CmpOp::Gt, 1))
    } else {
        let words = [("eq", CmpOp::Eq), ("ne", CmpOp::Ne), ("lt", CmpOp::Lt), ("le", CmpOp::Le), ("gt", CmpOp::Gt), ("ge", CmpOp::Ge)];
        words.iter().find(|(w, _)| c.eat_word(w)).map(|(_, op)| (*op, 0))
    };
    let Some((op, len)) = op else {
        return Ok(left);
    };
    for _ in 0..len {
        c.bump();
    }
    let right = parse_operand(c, depth)?;
    Ok(Expr::Cmp(op, Box::new(left), Box::new(right)))
}

/// A single value: reference or helper call, literal, or parenthesised expression.
fn parse_operand(c: &mut Cursor<'_>, depth: usize) -> PResult<Expr> {
    check_depth(c, depth)?;
    c.skip_ws();
    let Some(ch) = c.peek() else {
        return Err(c.error("unexpected end of template in expression"));
    };
    match ch {
        '(' => {
            c.bump();
            let e = parse_expr(c, depth + 1)?;
            c.skip_ws();
            if !c.eat(')') {
                return Err(c.error("expected `)`"));
            }
            Ok(e)
        }
        '$' => match parse_reference(c, depth + 1)? {
            Some(r) => Ok(Expr::Ref(r)),
            None => Err(c.error("expected a variable name after `$`")),
        },
        '\'' | '"' => parse_string(c, depth),
        '-' | '0'..='9' => parse_int(c),
        '[' | '{' => Err(c.error("list and map literals are not supported")),
        _ => {
            let pos = c.loc();
            if c.eat_word("true") {
                Ok(Expr::Bool(true))
            } else if c.eat_word("false") {
                Ok(Expr::Bool(false))
            } else if c.eat_word("null") {
                Ok(Expr::Null)
            } else if let Some(word) = c.ident() {
                Err(error_at(pos, format!("unexpected `{word}` in expression (variables start with `$`)")))
            } else {
                Err(error_at(pos, format!("unexpected `{ch}` in expression")))
            }
        }
    }
}

fn parse_int(c: &mut Cursor<'_>) -> PResult<Expr> {
    let pos = c.loc();
    let mut s = String::new();
    if c.eat('-') {
        s.push('-');
    }
    while let Some(d) = c.peek().filter(char::is_ascii_digit) {
        s.push(d);
        c.bump();
        if s.len() > 20 {
            break;
        }
    }
    s.parse::<i64>().map(Expr::Int).map_err(|_| error_at(pos, "invalid integer"))
}

/// `'literal'` or `"interpolated $x"`; a doubled quote inside stands for one quote.
fn parse_string(c: &mut Cursor<'_>, depth: usize) -> PResult<Expr> {
    let pos = c.loc();
    let Some(quote) = c.bump() else {
        return Err(c.error("expected a string"));
    };
    // Find the closing quote first so the interpolation sub-parser cannot run past it.
    let mut len = 0;
    loop {
        match c.peek_at(len) {
            None => return Err(error_at(pos, "unterminated string literal")),
            Some(q) if q == quote => {
                if c.peek_at(len + 1) == Some(quote) {
                    len += 2;
                } else {
                    break;
                }
            }
            Some(_) => len += 1,
        }
    }
    let mut inner = c.sub(len);
    let mut parts = Vec::new();
    let mut text = String::new();
    while let Some(ch) = inner.peek() {
        if ch == '$' && quote == '"' {
            if let Some(r) = parse_reference(&mut inner, depth + 1)? {
                if !text.is_empty() {
                    parts.push(StrPart::Text(std::mem::take(&mut text)));
                }
                parts.push(StrPart::Ref(r));
                continue;
            }
        }
        inner.bump();
        if ch == quote {
            inner.bump(); // the second of a doubled quote
        }
        text.push(ch);
    }
    // Advance the real cursor over the contents and the closing quote.
    for _ in 0..=len {
        c.bump();
    }
    if parts.is_empty() {
        return Ok(Expr::Str(text));
    }
    if !text.is_empty() {
        parts.push(StrPart::Text(text));
    }
    Ok(Expr::Interp(parts))
}
