//! The parsed template: an immutable tree the renderer walks and the name checker reads.
//!
//! Sequences (`&&` chains, node lists) are vectors rather than nested binary nodes so that
//! recursion depth follows the *nesting* of the source (capped by the parser), never its length.

use crate::functions::Helper;

#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Literal template text, emitted as-is (it still drives the HTML context scanner).
    Text(String),
    /// `$x`, `${x.y}`, `$!x`, `$f.helper(…)`: a value written to the output.
    Interp(RefExpr),
    If {
        branches: Vec<(Expr, Vec<Node>)>,
        otherwise: Option<Vec<Node>>,
    },
    Foreach {
        var: String,
        list: Path,
        body: Vec<Node>,
        pos: Pos,
    },
    Set {
        var: String,
        value: Expr,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

/// A reference as written: what it reads, whether it is quiet, and its source text
/// (printed verbatim when a non-quiet reference is undefined, as Velocity does).
#[derive(Debug, Clone)]
pub(crate) struct RefExpr {
    pub target: Target,
    pub quiet: bool,
    pub source: String,
}

#[derive(Debug, Clone)]
pub(crate) enum Target {
    Var(Path),
    Call(Call),
}

/// A dotted variable path such as `request.relayState`.
#[derive(Debug, Clone)]
pub(crate) struct Path {
    pub segments: Vec<String>,
    pub pos: Pos,
}

impl Path {
    pub fn dotted(&self) -> String {
        self.segments.join(".")
    }
}

/// `$f.helper(args…)`; the helper and its arity were checked at parse time.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub helper: Helper,
    pub args: Vec<Expr>,
    pub pos: Pos,
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Str(String),
    /// A double-quoted string with references in it: Velocity interpolates those.
    Interp(Vec<StrPart>),
    Int(i64),
    Bool(bool),
    Null,
    Ref(RefExpr),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone)]
pub(crate) enum StrPart {
    Text(String),
    Ref(RefExpr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}
