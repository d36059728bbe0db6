//! The subset of Apache Velocity that Okta email templates use, so templates customised in
//! Okta render the same here: parse once ([`parse`]), check the names a template reads against
//! an allow-list at save time ([`Template::check_names`]), render many times
//! ([`Template::render`]). No I/O.
//!
//! ```
//! use chrono::Utc;
//! use latchkey_template::{parse, Context, OutputMode, Value};
//!
//! let template = parse(
//!     r#"<a href="https://app.example/cb?otp=${oneTimePassword}&state=${request.relayState}">Reset</a>"#,
//! )?;
//! // Save-time typo protection against the documented names.
//! template.check_names(|name| ["oneTimePassword", "request.relayState"].contains(&name))?;
//! let ctx = Context::new(Utc::now())
//!     .with("oneTimePassword", "123456")
//!     .with("request.relayState", "a&b")
//!     .with("user.profile.nickName", Value::Null); // documented, unknown here: renders empty
//! assert_eq!(
//!     template.render(&ctx, OutputMode::Html)?,
//!     r#"<a href="https://app.example/cb?otp=123456&state=a%26b">Reset</a>"#,
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Language
//! * References `$a`, `$a.b.c`, `${a.b.c}`; quiet `$!a`, `$!{a}`. A `$` not followed by a name
//!   is text (`$5`). A name absent from the context prints as written (`${foo}`), or nothing
//!   when quiet; a [`Value::Null`] always prints nothing (for documented names Latchkey cannot fill).
//! * `#if(…)`/`#elseif(…)`/`#else`/`#end` (and `#{if}`…`#{end}`) with `==` `!=` `<` `<=` `>` `>=`
//!   (`eq` `ne` `lt` `le` `gt` `ge`), `&&`/`and`, `||`/`or`, `!`/`not`, parentheses, `'single'`
//!   and `"double $interpolated"` strings, integers, `true`/`false`/`null`. Null, undefined,
//!   false, `""`, `0` and empty lists are false.
//! * `#set($x = expr)`; `#foreach($item in $list)…#end` with `$foreach.count`/`.index`/
//!   `.hasNext`/`.first`/`.last` and `$velocityCount`.
//! * `## line comments` (they eat their line break), `#* block comments *#`, `#[[unparsed]]#`,
//!   `\$` and `\#` for a literal `$`/`#`. A `#word` that is not a directive is text (`#fafafa`).
//! * `$f.helper(args…)` / `${f.helper(args…)}` from the allow-list in [`functions`](crate)
//!   (see the module docs of `functions.rs` for each helper's exact output).
//! * A directive alone on its line takes its indentation and line break with it (Velocity 2's
//!   default "lines" whitespace gobbling).
//!
//! # Sandbox
//! `#macro`, `#include`, `#parse`, `#evaluate`, `#define`, `#stop` and `#break` are refused at
//! parse time, as is any method call other than a `$f` helper. `#foreach` only walks lists from
//! the context. Limits: [`MAX_SOURCE_BYTES`], [`MAX_DEPTH`], [`MAX_LOOP_ITERATIONS`],
//! [`MAX_TOTAL_ITERATIONS`], [`MAX_RENDER_STEPS`], [`MAX_OUTPUT_BYTES`]. Parsing is a single
//! linear pass whose recursion is bounded by [`MAX_DEPTH`].
//!
//! # Escaping
//! See [`OutputMode`] and `output.rs`: HTML-escaping of every value in [`OutputMode::Html`],
//! percent-encoding of values in a URL query (both modes), CR/LF/NUL removal in
//! [`OutputMode::Subject`]. In a URL attribute a value that would decide the scheme is written
//! as `#` unless it makes the URL http(s) (or mailto in `href`).

mod ast;
mod cursor;
mod error;
mod escape;
mod eval;
mod expr;
mod functions;
mod html;
mod names;
mod output;
mod parser;
mod value;

use std::sync::Arc;

pub use error::{CheckError, ParseError, RenderError};
/// HTML-escapes text for element content and quoted attributes (`& < > " '`), for callers
/// that build HTML outside a template.
pub use escape::escape_html;
pub use value::{Context, Value};

/// Largest template source accepted by [`parse`].
pub const MAX_SOURCE_BYTES: usize = 1024 * 1024;
/// Deepest nesting of `#if`/`#foreach` blocks, and of parentheses/`!`/helper calls in an expression.
pub const MAX_DEPTH: usize = 64;
/// Longest list a single `#foreach` may walk.
pub const MAX_LOOP_ITERATIONS: usize = 1_000;
/// Loop iterations of all `#foreach`es of one render together (nested loops multiply).
pub const MAX_TOTAL_ITERATIONS: usize = 10_000;
/// Nodes and expressions evaluated in one render.
pub const MAX_RENDER_STEPS: usize = 1_000_000;
/// Largest rendered output.
pub const MAX_OUTPUT_BYTES: usize = 1024 * 1024;

/// How interpolated values are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputMode {
    /// An HTML body: values are HTML-escaped (`& < > " '`), and percent-encoded where they sit
    /// in a URL query (in `href`/`src`/… after the `?`, or after the `?` of an
    /// `http(s)://` URL in running text).
    Html,
    /// A plain-text body: values as-is, except percent-encoding inside a URL query.
    Text,
    /// A subject line: as [`OutputMode::Text`], then every CR, LF and NUL is removed.
    Subject,
}

/// A variable path the template reads, at its first occurrence (position of its `$`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// Dotted path, e.g. `request.relayState`.
    pub name: String,
    pub line: usize,
    pub column: usize,
}

/// A parsed template: immutable and cheap to clone (shared tree), safe to render concurrently.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Arc<[ast::Node]>,
}

/// Parses template source.
///
/// # Errors
/// [`ParseError`] with the 1-based line and column (in chars) of the first problem: malformed
/// syntax, an unclosed or stray block, a forbidden directive (`#macro`, `#include`, …), a method
/// call outside the `$f` allow-list, a helper with the wrong number of arguments, nesting deeper
/// than [`MAX_DEPTH`] or a source larger than [`MAX_SOURCE_BYTES`].
pub fn parse(source: &str) -> Result<Template, ParseError> {
    let nodes = parser::parse_template(source)?;
    Ok(Template { nodes: nodes.into() })
}

impl Template {
    /// Every context variable path the template reads, each once at its first occurrence, in
    /// source order — e.g. `oneTimePassword`, `request.relayState`, `user.profile.firstName`.
    /// Excludes `#set` locals (after their `#set`), loop variables inside their loop and `$f`.
    #[must_use]
    pub fn referenced_names(&self) -> Vec<Reference> {
        names::referenced(&self.nodes)
    }

    /// Refuses the first (in source order) name that `is_allowed` rejects: typo protection
    /// when an administrator saves a template.
    ///
    /// # Errors
    /// [`CheckError`] naming the first refused variable and where it is.
    pub fn check_names(&self, is_allowed: impl Fn(&str) -> bool) -> Result<(), CheckError> {
        match self.referenced_names().into_iter().find(|r| !is_allowed(&r.name)) {
            Some(r) => Err(CheckError { name: r.name, line: r.line, column: r.column }),
            None => Ok(()),
        }
    }

    /// Renders with `ctx`, escaping values for `mode`.
    ///
    /// # Errors
    /// [`RenderError`] when a safety limit is hit (output size, loop iterations, evaluation
    /// steps) or a time helper gets something that is not a date.
    pub fn render(&self, ctx: &Context, mode: OutputMode) -> Result<String, RenderError> {
        eval::render(&self.nodes, ctx, mode)
    }
}
