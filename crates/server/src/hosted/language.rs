//! The hosted pages' language: the first of the widget's catalogs that `Accept-Language` names.
use axum::http::HeaderMap;

pub const SUPPORTED: &[&str] = &["en", "fr", "de", "es", "ja"];

/// The supported language a tag (`fr`, `fr-CA`, `fr_FR`, `JA`) names, if any.
pub fn supported(tag: &str) -> Option<&'static str> {
    let primary = tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
    SUPPORTED.iter().find(|s| **s == primary).copied()
}

pub fn from_headers(headers: &HeaderMap) -> &'static str {
    let header = headers.get(axum::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut ranked: Vec<(f32, &str)> = header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next()?.trim();
            let q = pieces.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse().ok()).unwrap_or(1.0);
            Some((q, tag))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
    ranked.iter().find_map(|(_, tag)| supported(tag)).unwrap_or("en")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_best_supported_language() {
        let mut headers = HeaderMap::new();
        headers.insert("accept-language", "pt-BR, fr-CA;q=0.8, en;q=0.5".parse().expect("valid"));
        assert_eq!(from_headers(&headers), "fr");
        assert_eq!(from_headers(&HeaderMap::new()), "en");
    }
}
