//! Which context variables a template reads — for the save-time allow-list check
//! (security-checklist EML-2: a typo such as `${oneTimePasword}` is refused, not sent).
//!
//! Names bound by the template itself are not context reads: a `#set($x …)` binds `x` from
//! that point on, and a `#foreach($item in …)` binds `item`, `foreach` and `velocityCount`
//! inside its body. `$f` is the helper namespace, never a variable.

use std::collections::{HashMap, HashSet};

use crate::ast::{Expr, Node, Path, RefExpr, StrPart, Target};
use crate::Reference;

#[derive(Default)]
struct Walker {
    /// Bound names in binding order (so a loop can unbind its own), plus a count per name
    /// for O(1) membership tests on large templates.
    locals: Vec<String>,
    bound: HashMap<String, usize>,
    seen: HashSet<String>,
    out: Vec<Reference>,
}

/// Each distinct dotted name once, at its first occurrence, in source order.
pub(crate) fn referenced(nodes: &[Node]) -> Vec<Reference> {
    let mut w = Walker::default();
    w.nodes(nodes);
    w.out
}

impl Walker {
    fn nodes(&mut self, nodes: &[Node]) {
        for node in nodes {
            match node {
                Node::Text(_) => {}
                Node::Interp(r) => self.reference(r),
                Node::If { branches, otherwise } => {
                    for (cond, body) in branches {
                        self.expr(cond);
                        self.nodes(body);
                    }
                    if let Some(body) = otherwise {
                        self.nodes(body);
                    }
                }
                Node::Set { var, value } => {
                    self.expr(value);
                    self.bind(var.clone());
                }
                Node::Foreach { var, list, body, .. } => {
                    self.path(list);
                    // Scoped: truncating afterwards forgets the loop names but keeps any
                    // `#set` locals pushed before the loop.
                    let mark = self.locals.len();
                    for name in [var.as_str(), "foreach", "velocityCount"] {
                        self.bind(name.to_owned());
                    }
                    self.nodes(body);
                    // `#set`s inside the body stay bound after it (Velocity's context is global).
                    let sets: Vec<String> = self.locals.drain(mark + 3..).collect();
                    for name in self.locals.drain(mark..).collect::<Vec<_>>() {
                        if let Some(n) = self.bound.get_mut(&name) {
                            *n -= 1;
                        }
                    }
                    self.locals.extend(sets);
                }
            }
        }
    }

    fn bind(&mut self, name: String) {
        *self.bound.entry(name.clone()).or_insert(0) += 1;
        self.locals.push(name);
    }

    fn reference(&mut self, r: &RefExpr) {
        match &r.target {
            Target::Var(p) => self.path(p),
            Target::Call(call) => {
                for a in &call.args {
                    self.expr(a);
                }
            }
        }
    }

    fn path(&mut self, p: &Path) {
        let Some(root) = p.segments.first() else {
            return;
        };
        if self.bound.get(root).is_some_and(|n| *n > 0) {
            return;
        }
        let name = p.dotted();
        if self.seen.insert(name.clone()) {
            self.out.push(Reference { name, line: p.pos.line, column: p.pos.column });
        }
    }

    fn expr(&mut self, e: &Expr) {
        match e {
            Expr::Str(_) | Expr::Int(_) | Expr::Bool(_) | Expr::Null => {}
            Expr::Interp(parts) => {
                for part in parts {
                    if let StrPart::Ref(r) = part {
                        self.reference(r);
                    }
                }
            }
            Expr::Ref(r) => self.reference(r),
            Expr::Not(inner) => self.expr(inner),
            Expr::And(items) | Expr::Or(items) => items.iter().for_each(|i| self.expr(i)),
            Expr::Cmp(_, a, b) => {
                self.expr(a);
                self.expr(b);
            }
        }
    }
}
