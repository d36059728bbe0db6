//! The data a template reads: [`Value`] and the render [`Context`] (variables, clock, locale).

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};

/// A value a template can read. Nested maps are reached with dots: `${user.profile.firstName}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A documented name Latchkey cannot fill: always renders as the empty string
    /// (even without `$!`) and is false in `#if`.
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Date(DateTime<Utc>),
}

impl Value {
    /// Velocity truthiness with Velocity 2's "empty check": null, false, "", 0 and empty
    /// lists/maps are false. Templates use `#if(${oneTimePassword})` to mean "is there a code",
    /// and an empty code must take the `#else` branch.
    #[must_use]
    pub fn is_truthy(&self) -> bool {
        match self {
            Value::Null => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Date(_) => true,
        }
    }
}

/// How a value prints when interpolated (before escaping):
/// `Null` → empty, `Bool` → `true`/`false`, `Int` → decimal, `Str` → itself,
/// `List` → `[a, b]` and `Map` → `{k=v, k2=v2}` (Java's `toString`, which Velocity prints),
/// `Date` → RFC 3339 in UTC with seconds, e.g. `2026-11-29T19:17:56Z`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => Ok(()),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => f.write_str(s),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Map(map) => {
                f.write_str("{")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}={v}")?;
                }
                f.write_str("}")
            }
            Value::Date(d) => f.write_str(&d.to_rfc3339_opts(SecondsFormat::Secs, true)),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<DateTime<Utc>> for Value {
    fn from(d: DateTime<Utc>) -> Self {
        Value::Date(d)
    }
}
impl From<Vec<Value>> for Value {
    fn from(l: Vec<Value>) -> Self {
        Value::List(l)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(o: Option<T>) -> Self {
        o.map_or(Value::Null, Into::into)
    }
}

/// Everything a render may read: the variables, the clock (`now`, for the time helpers;
/// passed in so renders are deterministic and use the caller's notion of time) and the
/// recipient's locale (for the `…InUserLocale` helpers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    vars: BTreeMap<String, Value>,
    now: DateTime<Utc>,
    locale: String,
}

impl Context {
    /// An empty context at `now` with locale `en-US`.
    #[must_use]
    pub fn new(now: DateTime<Utc>) -> Self {
        Self { vars: BTreeMap::new(), now, locale: "en-US".to_owned() }
    }

    /// Builder form of [`Context::set_locale`].
    #[must_use]
    pub fn with_locale(mut self, locale: impl Into<String>) -> Self {
        self.set_locale(locale);
        self
    }

    /// BCP 47-ish tag such as `de-DE`, `en_GB` or `fr`; only the language and region are used.
    pub fn set_locale(&mut self, locale: impl Into<String>) {
        self.locale = locale.into();
    }

    /// Builder form of [`Context::set`].
    #[must_use]
    pub fn with(mut self, path: &str, value: impl Into<Value>) -> Self {
        self.set(path, value);
        self
    }

    /// Sets a variable; a dotted path (`user.profile.firstName`) creates or extends nested maps
    /// (a non-map value in the way is replaced by a map). Set a documented-but-unfillable name
    /// to [`Value::Null`] so it renders empty instead of literally.
    pub fn set(&mut self, path: &str, value: impl Into<Value>) {
        let mut segments = path.split('.');
        let Some(first) = segments.next() else {
            return;
        };
        let rest: Vec<&str> = segments.collect();
        let mut slot = self.vars.entry(first.to_owned()).or_insert(Value::Null);
        for seg in rest {
            if !matches!(slot, Value::Map(_)) {
                *slot = Value::Map(BTreeMap::new());
            }
            let Value::Map(map) = slot else {
                unreachable!("slot was just made a map");
            };
            slot = map.entry(seg.to_owned()).or_insert(Value::Null);
        }
        *slot = value.into();
    }

    /// Looks up a dotted path; `None` if any segment is missing (or not a map).
    #[must_use]
    pub fn get(&self, path: &str) -> Option<&Value> {
        let mut segments = path.split('.');
        let mut cur = self.vars.get(segments.next()?)?;
        for seg in segments {
            match cur {
                Value::Map(m) => cur = m.get(seg)?,
                _ => return None,
            }
        }
        Some(cur)
    }

    pub(crate) fn root(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }

    #[must_use]
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    #[must_use]
    pub fn locale(&self) -> &str {
        &self.locale
    }
}
