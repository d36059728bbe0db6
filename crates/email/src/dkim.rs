//! Optional DKIM signing of outgoing mail (RFC 6376), so receivers can verify the message came
//! from the operator's domain: an RSA key (PKCS#1 PEM, `-----BEGIN RSA PRIVATE KEY-----`) or
//! an Ed25519 key (RFC 8463; the base64 of its 32-byte seed), with a selector and domain.
use lettre::message::dkim::{DkimConfig, DkimSigningAlgorithm, DkimSigningKey};

/// Builds the signing configuration from the key file's contents.
///
/// # Errors
/// A sentence naming what is wrong (never the key itself).
pub fn dkim_config(key: &str, selector: &str, domain: &str) -> Result<DkimConfig, String> {
    let label = |s: &str| !s.is_empty() && s.len() <= 253 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if !label(selector) {
        return Err(format!("the DKIM selector {selector:?} must be a DNS label"));
    }
    if !label(domain) {
        return Err(format!("the DKIM domain {domain:?} must be a domain name"));
    }
    let (key, algorithm) = if key.contains("-----BEGIN RSA PRIVATE KEY-----") {
        (key.trim(), DkimSigningAlgorithm::Rsa)
    } else if key.contains("-----BEGIN") {
        return Err("the DKIM key must be an RSA key in PKCS#1 PEM (BEGIN RSA PRIVATE KEY) or a base64 Ed25519 seed".to_owned());
    } else {
        (key.trim(), DkimSigningAlgorithm::Ed25519)
    };
    let signing_key = DkimSigningKey::new(key, algorithm).map_err(|e| format!("the DKIM key cannot be read: {e}"))?;
    Ok(DkimConfig::default_config(selector.to_owned(), domain.to_owned(), signing_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_names_are_checked() {
        let seed = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        assert!(dkim_config(seed, "lk1", "example.com").is_ok());
        assert!(dkim_config("not base64!", "lk1", "example.com").is_err());
        assert!(dkim_config(seed, "bad selector", "example.com").is_err());
        assert!(dkim_config("-----BEGIN PRIVATE KEY-----", "lk1", "example.com").is_err());
    }
}
