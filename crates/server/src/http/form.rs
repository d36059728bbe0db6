//! `application/x-www-form-urlencoded` bodies for OAuth endpoints. Duplicate parameters are
//! refused (RFC 6749 §3.1: "parameters MUST NOT be included more than once"; security-checklist
//! REC-3), and so is invalid UTF-8 after decoding.
use std::collections::HashMap;

pub fn parse(body: &[u8]) -> Result<HashMap<String, String>, String> {
    if std::str::from_utf8(body).is_err() {
        return Err("the body is not valid UTF-8".to_owned());
    }
    let mut out = HashMap::new();
    for (key, value) in url::form_urlencoded::parse(body) {
        if value.contains('\u{fffd}') || key.contains('\u{fffd}') {
            return Err("the body contains invalid percent-encoding".to_owned());
        }
        if out.insert(key.to_string(), value.to_string()).is_some() {
            return Err(format!("the parameter {key} appears more than once"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_duplicates_and_bad_encoding() {
        assert!(parse(b"a=1&a=2").is_err());
        assert!(parse(b"a=%ff").is_err());
        assert_eq!(parse(b"a=x%20y&b=").map(|m| m.get("a").cloned()), Ok(Some("x y".to_owned())));
    }
}
