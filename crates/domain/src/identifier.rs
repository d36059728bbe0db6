//! Logins and the identifiers people type to name an account.
//!
//! Matching is done on one documented canonical form (security-checklist REC-4): Unicode NFKC,
//! then full Unicode lower-casing, nothing else. NFKC folds compatibility variants (fullwidth
//! `ｖ` → `v`) so a look-alike can only ever select the account whose canonical form it equals,
//! and mail is only ever addressed to that account's stored address, never to the typed string.
//! Lower-casing is per code point: dotless `ı` stays `ı`, so `vıctim` never matches `victim`.
use unicode_normalization::UnicodeNormalization;

/// Maximum identifier length in octets (RFC 5321 path limit; security-checklist INP-4).
pub const MAX_IDENTIFIER_OCTETS: usize = 254;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdentifierError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 254 octets long")]
    TooLong,
    #[error("must not contain control characters")]
    ControlCharacter,
}

/// What a person typed into "Email or Username", bounded and canonicalised.
#[derive(Clone, PartialEq, Eq)]
pub struct Identifier {
    canonical: String,
}

impl Identifier {
    pub fn parse(raw: &str) -> Result<Self, IdentifierError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(IdentifierError::Empty);
        }
        if trimmed.len() > MAX_IDENTIFIER_OCTETS {
            return Err(IdentifierError::TooLong);
        }
        if trimmed.chars().any(char::is_control) {
            return Err(IdentifierError::ControlCharacter);
        }
        Ok(Self { canonical: canonicalize(trimmed) })
    }

    /// The canonical form used for look-ups and per-identifier limits.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }
}

impl std::fmt::Debug for Identifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identifier({})", crate::email::mask(&self.canonical))
    }
}

/// The account's login as set by an administrator (Okta's `profile.login`).
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    display: String,
    canonical: String,
}

impl Login {
    pub fn parse(raw: &str) -> Result<Self, IdentifierError> {
        let id = Identifier::parse(raw)?;
        if raw.trim().chars().any(char::is_whitespace) {
            return Err(IdentifierError::ControlCharacter);
        }
        Ok(Self { display: raw.trim().nfc().collect(), canonical: id.canonical })
    }

    pub fn as_str(&self) -> &str {
        &self.display
    }

    pub fn canonical(&self) -> &str {
        &self.canonical
    }
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Login({})", crate::email::mask(&self.display))
    }
}

pub fn canonicalize(value: &str) -> String {
    value.nfkc().collect::<String>().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_fullwidth_variants_share_one_canonical_form() {
        let a = Identifier::parse("Victim@Example.com").expect("valid");
        let b = Identifier::parse("ｖictim@example.com").expect("valid");
        assert_eq!(a.canonical(), "victim@example.com");
        assert_eq!(a.canonical(), b.canonical());
    }

    #[test]
    fn dotless_i_is_a_different_identifier() {
        let a = Identifier::parse("victim@example.com").expect("valid");
        let b = Identifier::parse("v\u{131}ctim@example.com").expect("valid");
        assert_ne!(a.canonical(), b.canonical());
    }

    #[test]
    fn bounds_are_enforced() {
        assert_eq!(Identifier::parse("   "), Err(IdentifierError::Empty));
        assert_eq!(Identifier::parse(&"a".repeat(300)), Err(IdentifierError::TooLong));
        assert_eq!(Identifier::parse("a\nb"), Err(IdentifierError::ControlCharacter));
    }
}
