//! What a user may call an authenticator on the account page: a short, printable name.
//!
//! Okta's factors have no name; Latchkey keeps one so a user with a phone and a laptop can tell
//! them apart. The name is shown on the user's own page and in nothing an attacker reads, but
//! it is still bounded and printable: it ends up in HTML (escaped) and in database rows.

/// The longest name, in characters.
pub const MAX_FACTOR_NAME_CHARS: usize = 40;

/// A trimmed name of 1 to [`MAX_FACTOR_NAME_CHARS`] characters with no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadFactorName {
    Empty,
    TooLong,
    ControlCharacter,
}

impl FactorName {
    pub fn parse(raw: &str) -> Result<Self, BadFactorName> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(BadFactorName::Empty);
        }
        if name.chars().count() > MAX_FACTOR_NAME_CHARS {
            return Err(BadFactorName::TooLong);
        }
        if name.chars().any(char::is_control) {
            return Err(BadFactorName::ControlCharacter);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_trimmed_bounded_and_printable() {
        assert_eq!(FactorName::parse("  Work phone ").map(|n| n.as_str().to_owned()), Ok("Work phone".to_owned()));
        assert_eq!(FactorName::parse("   "), Err(BadFactorName::Empty));
        assert_eq!(FactorName::parse(&"x".repeat(41)), Err(BadFactorName::TooLong));
        assert!(FactorName::parse(&"é".repeat(40)).is_ok(), "characters, not bytes");
        assert_eq!(FactorName::parse("a\u{0}b"), Err(BadFactorName::ControlCharacter));
        assert_eq!(FactorName::parse("a\nb"), Err(BadFactorName::ControlCharacter));
    }
}
