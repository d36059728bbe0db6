//! Escaping for the two places the app writes values into HTML: text/attributes and a JSON
//! data block. Every value that reaches a page goes through one of these (security-checklist
//! WEB-8: callback parameters, names and emails are shown as text, never as markup).

/// HTML-escapes text for element content and quoted attribute values.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON for a `<script type="application/json">` block: `<`, `>` and `&` become `\u003c`…,
/// so no value can close the script element or open a comment.
pub fn script_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value)
        .expect("plain data structures always serialize")
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_neutralised() {
        assert_eq!(escape(r#"<img src=x onerror="a('b')">&"#), "&lt;img src=x onerror=&quot;a(&#x27;b&#x27;)&quot;&gt;&amp;");
        assert_eq!(script_json(&"</script><!--&"), r#""\u003c/script\u003e\u003c!--\u0026""#);
    }
}
