//! The renderer: walks the tree with a context, local variables (`#set`, loop variables) and
//! the safety budgets (loop iterations, evaluation steps, output size).

use std::collections::{BTreeMap, HashMap};

use crate::ast::{CmpOp, Expr, Node, Path, RefExpr, StrPart, Target};
use crate::functions;
use crate::output::Output;
use crate::value::{Context, Value};
use crate::{OutputMode, RenderError, MAX_LOOP_ITERATIONS, MAX_RENDER_STEPS, MAX_TOTAL_ITERATIONS};

/// An evaluated expression.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    /// The name is not in the context (distinct from `Null`: Velocity prints it literally).
    Absent,
    Value(Value),
    /// Escaped HTML from `$f.escapeHtml*`, with the string it was made from.
    Safe {
        html: String,
        raw: String,
    },
}

impl Val {
    /// The string a helper sees (Velocity would pass the escaped text along as a string).
    pub fn as_string(&self) -> Option<String> {
        match self {
            Val::Absent | Val::Value(Value::Null) => None,
            Val::Value(v) => Some(v.to_string()),
            Val::Safe { html, .. } => Some(html.clone()),
        }
    }

    fn truthy(&self) -> bool {
        match self {
            Val::Absent => false,
            Val::Value(v) => v.is_truthy(),
            Val::Safe { html, .. } => !html.is_empty(),
        }
    }

    fn into_value(self) -> Value {
        match self {
            Val::Absent => Value::Null,
            Val::Value(v) => v,
            Val::Safe { html, .. } => Value::Str(html),
        }
    }
}

pub(crate) fn render(nodes: &[Node], ctx: &Context, mode: OutputMode) -> Result<String, RenderError> {
    let mut r = Renderer { ctx, locals: HashMap::new(), out: Output::new(mode), iterations: 0, steps: 0 };
    r.nodes(nodes)?;
    Ok(r.out.finish())
}

struct Renderer<'a> {
    ctx: &'a Context,
    locals: HashMap<String, Value>,
    out: Output,
    iterations: usize,
    steps: usize,
}

impl Renderer<'_> {
    fn nodes(&mut self, nodes: &[Node]) -> Result<(), RenderError> {
        for node in nodes {
            self.node(node)?;
        }
        Ok(())
    }

    fn step(&mut self) -> Result<(), RenderError> {
        self.steps += 1;
        if self.steps > MAX_RENDER_STEPS {
            return Err(RenderError::TooMuchWork { limit: MAX_RENDER_STEPS });
        }
        Ok(())
    }

    fn node(&mut self, node: &Node) -> Result<(), RenderError> {
        self.step()?;
        match node {
            Node::Text(s) => self.out.literal(s),
            Node::Interp(r) => match self.reference(r)? {
                Val::Absent if r.quiet => Ok(()),
                // Velocity prints an undefined, non-quiet reference as written.
                Val::Absent => self.out.literal(&r.source),
                Val::Value(Value::Null) => Ok(()),
                Val::Value(v) => self.out.value(&v.to_string(), None),
                Val::Safe { html, raw } => self.out.value(&html, Some(&raw)),
            },
            Node::If { branches, otherwise } => {
                for (cond, body) in branches {
                    if self.expr(cond)?.truthy() {
                        return self.nodes(body);
                    }
                }
                match otherwise {
                    Some(body) => self.nodes(body),
                    None => Ok(()),
                }
            }
            Node::Set { var, value } => {
                let v = self.expr(value)?.into_value();
                self.locals.insert(var.clone(), v);
                Ok(())
            }
            Node::Foreach { var, list, body, pos } => {
                let items = match self.lookup(list) {
                    Some(Value::List(items)) => items,
                    Some(Value::Map(map)) => map.into_values().collect(),
                    // Velocity skips a loop over null or a scalar.
                    _ => Vec::new(),
                };
                let too_many = |limit| RenderError::TooManyIterations { limit, line: pos.line, column: pos.column };
                if items.len() > MAX_LOOP_ITERATIONS {
                    return Err(too_many(MAX_LOOP_ITERATIONS));
                }
                // Loop variables are scoped to the loop; restore what they shadowed.
                let saved: Vec<(String, Option<Value>)> =
                    [var.as_str(), "foreach", "velocityCount"].iter().map(|k| ((*k).to_owned(), self.locals.get(*k).cloned())).collect();
                let n = items.len();
                for (i, item) in items.into_iter().enumerate() {
                    self.iterations += 1;
                    if self.iterations > MAX_TOTAL_ITERATIONS {
                        return Err(too_many(MAX_TOTAL_ITERATIONS));
                    }
                    let count = i64::try_from(i + 1).unwrap_or(i64::MAX);
                    let info = BTreeMap::from([
                        ("count".to_owned(), Value::Int(count)),
                        ("index".to_owned(), Value::Int(count - 1)),
                        ("hasNext".to_owned(), Value::Bool(i + 1 < n)),
                        ("first".to_owned(), Value::Bool(i == 0)),
                        ("last".to_owned(), Value::Bool(i + 1 == n)),
                    ]);
                    self.locals.insert("foreach".to_owned(), Value::Map(info));
                    self.locals.insert("velocityCount".to_owned(), Value::Int(count));
                    self.locals.insert(var.clone(), item);
                    self.nodes(body)?;
                }
                for (k, v) in saved {
                    match v {
                        Some(v) => self.locals.insert(k, v),
                        None => self.locals.remove(&k),
                    };
                }
                Ok(())
            }
        }
    }

    /// Locals shadow the context; a path descends through maps.
    fn lookup(&self, path: &Path) -> Option<Value> {
        let (first, rest) = path.segments.split_first()?;
        let mut cur = self.locals.get(first).or_else(|| self.ctx.root(first))?;
        for seg in rest {
            match cur {
                Value::Map(m) => cur = m.get(seg)?,
                _ => return None,
            }
        }
        Some(cur.clone())
    }

    fn reference(&mut self, r: &RefExpr) -> Result<Val, RenderError> {
        match &r.target {
            Target::Var(path) => Ok(self.lookup(path).map_or(Val::Absent, Val::Value)),
            Target::Call(call) => {
                let mut args = Vec::with_capacity(call.args.len());
                for a in &call.args {
                    args.push(self.expr(a)?);
                }
                functions::call(call.helper, &args, self.ctx, call.pos)
            }
        }
    }

    fn expr(&mut self, e: &Expr) -> Result<Val, RenderError> {
        self.step()?;
        Ok(match e {
            Expr::Str(s) => Val::Value(Value::Str(s.clone())),
            Expr::Int(i) => Val::Value(Value::Int(*i)),
            Expr::Bool(b) => Val::Value(Value::Bool(*b)),
            Expr::Null => Val::Value(Value::Null),
            Expr::Interp(parts) => {
                let mut s = String::new();
                for part in parts {
                    match part {
                        StrPart::Text(t) => s.push_str(t),
                        StrPart::Ref(r) => match self.reference(r)? {
                            Val::Absent if !r.quiet => s.push_str(&r.source),
                            other => s.push_str(&other.as_string().unwrap_or_default()),
                        },
                    }
                    if s.len() > crate::MAX_OUTPUT_BYTES {
                        return Err(RenderError::OutputTooLarge { limit: crate::MAX_OUTPUT_BYTES });
                    }
                }
                Val::Value(Value::Str(s))
            }
            Expr::Ref(r) => self.reference(r)?,
            Expr::Not(inner) => Val::Value(Value::Bool(!self.expr(inner)?.truthy())),
            Expr::And(items) => {
                let mut all = true;
                for item in items {
                    if !self.expr(item)?.truthy() {
                        all = false;
                        break;
                    }
                }
                Val::Value(Value::Bool(all))
            }
            Expr::Or(items) => {
                let mut any = false;
                for item in items {
                    if self.expr(item)?.truthy() {
                        any = true;
                        break;
                    }
                }
                Val::Value(Value::Bool(any))
            }
            Expr::Cmp(op, a, b) => {
                let a = self.expr(a)?;
                let b = self.expr(b)?;
                Val::Value(Value::Bool(compare(*op, &a, &b)))
            }
        })
    }
}

/// Velocity's comparison: numbers numerically; null equals only null; anything else by its
/// string form (so `$flag == "true"` works for a boolean flag).
fn compare(op: CmpOp, a: &Val, b: &Val) -> bool {
    let ord = match (a, b) {
        (Val::Value(Value::Int(x)), Val::Value(Value::Int(y))) => Some(x.cmp(y)),
        _ => match (a.as_string(), b.as_string()) {
            (None, None) => Some(std::cmp::Ordering::Equal),
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => None,
        },
    };
    match op {
        CmpOp::Eq => ord == Some(std::cmp::Ordering::Equal),
        CmpOp::Ne => ord != Some(std::cmp::Ordering::Equal),
        CmpOp::Lt => ord == Some(std::cmp::Ordering::Less),
        CmpOp::Le => matches!(ord, Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)),
        CmpOp::Gt => ord == Some(std::cmp::Ordering::Greater),
        CmpOp::Ge => matches!(ord, Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)),
    }
}
