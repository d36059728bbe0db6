//! Strict JSON for request bodies (security-checklist INP-2, INP-3): nesting deeper than 32 and
//! duplicate keys are refused instead of silently taking the last value; invalid UTF-8 and bad
//! escapes are errors, never panics. Unknown members are the caller's business: IDX ignores
//! them, the admin APIs refuse them.
use std::fmt;

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

pub const MAX_DEPTH: usize = 32;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(pub String);

pub fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue { depth: 0 }.deserialize(&mut de).map_err(|e| JsonError(format!("the body is not valid JSON: {e}")))?;
    de.end().map_err(|e| JsonError(format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// Parses into `T` after the strict checks (for admin bodies with `deny_unknown_fields`).
pub fn parse_into<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, JsonError> {
    let value = parse(bytes)?;
    serde_json::from_value(value).map_err(|e| JsonError(e.to_string()))
}

struct StrictValue {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(A::Error::custom(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue { depth: self.depth + 1 })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(A::Error::custom(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(StrictValue { depth: self.depth + 1 })?;
            if out.insert(key.clone(), value).is_some() {
                return Err(A::Error::custom(format!("duplicate member {key:?}")));
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_duplicates_depth_and_garbage() {
        assert!(parse(br#"{"password":"a","password":"b"}"#).is_err());
        assert!(parse("[".repeat(100_000).as_bytes()).is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
        assert!(parse(br#"{"a":"\ud800"}"#).is_err());
        assert!(parse(br#"{"a":1} trailing"#).is_err());
        assert!(parse(br#"{"a":{"b":[1,2,{"c":null}]}}"#).is_ok());
    }
}
