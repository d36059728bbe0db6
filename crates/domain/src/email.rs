//! `EmailAddress`: the only way to hold an address we may send mail to.
use unicode_normalization::UnicodeNormalization;

#[derive(Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailError {
    #[error("must be a single email address of the form name@domain")]
    Malformed,
    #[error("must be at most 254 octets long")]
    TooLong,
    #[error("must not contain control characters, spaces, commas or angle brackets")]
    ForbiddenCharacter,
}

impl EmailAddress {
    /// Accepts exactly one addr-spec. Anything that could smuggle a second recipient or a header
    /// (commas, semicolons, angle brackets, CR/LF/NUL, spaces) is refused at input
    /// (security-checklist REC-3, EML-1) rather than escaped later.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let value: String = raw.trim().nfc().collect();
        if value.len() > 254 {
            return Err(EmailError::TooLong);
        }
        if value
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, ',' | ';' | '<' | '>' | '"' | '(' | ')' | '[' | ']' | '\\'))
        {
            return Err(EmailError::ForbiddenCharacter);
        }
        let (local, domain) = value.rsplit_once('@').ok_or(EmailError::Malformed)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(EmailError::Malformed);
        }
        if domain.is_empty() || domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
            return Err(EmailError::Malformed);
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for EmailAddress {
    /// Addresses are personal data: debug output masks them (security-checklist LOG-1).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EmailAddress({})", mask(&self.0))
    }
}

/// `jane.doe@example.com` → `j***@example.com`, for logs.
pub fn mask(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        assert_eq!(EmailAddress::parse(" jane@example.com ").map(|e| e.0), Ok("jane@example.com".into()));
    }

    #[test]
    fn refuses_lists_and_header_injection() {
        for bad in ["a@x,b@y", "a@x;b@y", "a@x\r\nBcc: b@y", "<a@x>", "a b@x", "noat", "@x", "a@", "a@.x", "a@x..y"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn debug_masks_the_address() {
        let e = EmailAddress::parse("jane@example.com").expect("valid");
        assert_eq!(format!("{e:?}"), "EmailAddress(j***@example.com)");
    }
}
