//! What the outbox stores for one message, and how it is sealed into and opened from a row.
//!
//! The payload holds the one-time code and links, so it is stored only AEAD-sealed under the
//! outbox key, bound to the row id (security-checklist OTP-2): a sealed payload copied into
//! another row does not open. The store purges it after delivery or expiry.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use latchkey_domain::secret::{okta_style_id, seal};
use latchkey_store::{Millis, NewMessage, OutboxMessage};
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::kinds::EmailKind;

/// Format version of the sealed JSON, so a later change can still read rows queued before it.
const VERSION: u32 = 1;
/// Largest payload accepted, sealed or not: a few variables, never a document.
const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

/// Which template, the recipient's locale, and the variables by their Okta dotted names
/// (`oneTimePassword`, `user.profile.firstName`, …).
#[derive(Clone, PartialEq, Eq)]
pub struct EmailPayload {
    pub kind: EmailKind,
    /// BCP 47 tag (`fr-CA`; `fr_CA` is read the same), `None` for the default language.
    pub locale: Option<String>,
    pub vars: BTreeMap<String, String>,
}

/// `vars` hold codes and links: only their names are printed.
impl fmt::Debug for EmailPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailPayload")
            .field("kind", &self.kind)
            .field("locale", &self.locale)
            .field("vars", &self.vars.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayloadError {
    #[error("the payload is not valid JSON of the expected shape")]
    Malformed,
    #[error("the payload was written by a newer version (format {0})")]
    Version(u32),
    #[error("unknown email kind `{0}`")]
    UnknownKind(String),
    #[error("`{0}` is not a valid variable name")]
    BadVariableName(String),
    #[error("the payload is larger than {MAX_PAYLOAD_BYTES} bytes")]
    TooLarge,
    #[error("the recipient is not a valid email address")]
    BadRecipient,
    #[error("the row has no payload (already delivered or expired)")]
    Purged,
    #[error("the outbox key must be 32 bytes")]
    BadKey,
    #[error("the payload does not open with this key for this row")]
    Open,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    v: u32,
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    locale: Option<String>,
    vars: BTreeMap<String, String>,
}

impl EmailPayload {
    pub fn new(kind: EmailKind) -> Self {
        Self { kind, locale: None, vars: BTreeMap::new() }
    }

    /// Builder: sets one variable by its dotted name.
    #[must_use]
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.vars.insert(name.to_owned(), value.into());
        self
    }

    #[must_use]
    pub fn with_locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = Some(locale.into());
        self
    }

    pub fn to_json(&self) -> String {
        let wire = Wire { v: VERSION, kind: self.kind.as_str().to_owned(), locale: self.locale.clone(), vars: self.vars.clone() };
        let json = serde_json::to_string(&wire).expect("a map of strings always serializes");
        zeroize_map(wire.vars);
        json
    }

    /// # Errors
    /// [`PayloadError`] for malformed JSON, an unknown kind or version, or a variable name that
    /// is not a dotted identifier.
    pub fn from_json(s: &str) -> Result<Self, PayloadError> {
        if s.len() > MAX_PAYLOAD_BYTES {
            return Err(PayloadError::TooLarge);
        }
        let wire: Wire = serde_json::from_str(s).map_err(|_| PayloadError::Malformed)?;
        if wire.v != VERSION {
            return Err(PayloadError::Version(wire.v));
        }
        let kind = EmailKind::parse(&wire.kind).ok_or(PayloadError::UnknownKind(wire.kind.clone()))?;
        if let Some(bad) = wire.vars.keys().find(|name| !is_variable_name(name)) {
            return Err(PayloadError::BadVariableName(bad.clone()));
        }
        Ok(Self { kind, locale: wire.locale, vars: wire.vars })
    }
}

/// `user.profile.firstName`: identifiers joined by dots, as the template engine reads them.
fn is_variable_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name.split('.').all(|seg| {
            let mut chars = seg.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

fn zeroize_map(map: BTreeMap<String, String>) {
    for (_, mut value) in map {
        value.zeroize();
    }
}

/// The AEAD associated data: binds the sealed payload to its row.
fn seal_context(id: &str) -> String {
    format!("outbox:{id}")
}

/// Seals `payload` for a new outbox row and builds the row. The row id and a stable
/// Message-ID local part are generated here; `expires_at` is when the code inside dies (the
/// store never sends, and purges, a message past it).
///
/// # Errors
/// [`PayloadError::BadRecipient`] when `recipient` is not a plain address (this also refuses
/// CR/LF, security-checklist EML-1), [`PayloadError::BadKey`], [`PayloadError::TooLarge`].
pub fn new_outbox_message(
    outbox_key: &[u8],
    recipient: &str,
    payload: &EmailPayload,
    expires_at: Option<Millis>,
) -> Result<NewMessage, PayloadError> {
    let address = lettre::Address::from_str(recipient).map_err(|_| PayloadError::BadRecipient)?;
    if let Some(bad) = payload.vars.keys().find(|name| !is_variable_name(name)) {
        return Err(PayloadError::BadVariableName(bad.clone()));
    }
    let id = okta_style_id("obx");
    let mut json = payload.to_json();
    if json.len() > MAX_PAYLOAD_BYTES {
        json.zeroize();
        return Err(PayloadError::TooLarge);
    }
    let sealed = seal::seal(outbox_key, &seal_context(&id), json.as_bytes());
    json.zeroize();
    let sealed = sealed.map_err(|_| PayloadError::BadKey)?;
    Ok(NewMessage {
        // Its own random value rather than the row id: the Message-ID travels to every mail
        // server on the way and need not reveal how rows are named.
        message_id: format!("{}{}", okta_style_id("lk"), okta_style_id("")),
        id,
        kind: payload.kind.as_str().to_owned(),
        recipient: address.to_string(),
        payload: sealed,
        expires_at,
    })
}

/// Opens the sealed payload of a claimed row.
///
/// # Errors
/// [`PayloadError::Purged`] when the payload is gone, [`PayloadError::Open`] when it does not
/// open with this key for this row id, or a parse error.
pub fn open_payload(outbox_key: &[u8], row: &OutboxMessage) -> Result<EmailPayload, PayloadError> {
    let sealed = row.payload.as_deref().ok_or(PayloadError::Purged)?;
    if sealed.len() > 2 * MAX_PAYLOAD_BYTES {
        return Err(PayloadError::TooLarge);
    }
    let mut plain = seal::open(outbox_key, &seal_context(&row.id), sealed).map_err(|e| match e {
        seal::SealError::BadKey => PayloadError::BadKey,
        seal::SealError::Open => PayloadError::Open,
    })?;
    let parsed = std::str::from_utf8(&plain).map_err(|_| PayloadError::Malformed).and_then(EmailPayload::from_json);
    plain.zeroize();
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> EmailPayload {
        EmailPayload::new(EmailKind::ForgotPassword)
            .with_locale("fr_CA")
            .with("oneTimePassword", "123456")
            .with("user.profile.firstName", "Zoé")
    }

    fn row_from(message: &NewMessage) -> OutboxMessage {
        OutboxMessage {
            id: message.id.clone(),
            message_id: message.message_id.clone(),
            kind: message.kind.clone(),
            recipient: message.recipient.clone(),
            payload: Some(message.payload.clone()),
            status: latchkey_store::OutboxStatus::Queued,
            attempts: 1,
            next_attempt_at: 0,
            last_error: None,
            created_at: 0,
            expires_at: message.expires_at,
            sent_at: None,
        }
    }

    #[test]
    fn json_round_trips() {
        let payload = sample();
        assert_eq!(EmailPayload::from_json(&payload.to_json()), Ok(payload));
    }

    #[test]
    fn debug_prints_names_not_values() {
        let printed = format!("{:?}", sample());
        assert!(printed.contains("oneTimePassword"));
        assert!(!printed.contains("123456"));
        assert!(!printed.contains("Zoé"));
    }

    #[test]
    fn from_json_refuses_bad_input() {
        assert_eq!(EmailPayload::from_json("{"), Err(PayloadError::Malformed));
        assert_eq!(EmailPayload::from_json(r#"{"v":1,"kind":"Nope","vars":{}}"#), Err(PayloadError::UnknownKind("Nope".into())));
        assert_eq!(EmailPayload::from_json(r#"{"v":9,"kind":"ForgotPassword","vars":{}}"#), Err(PayloadError::Version(9)));
        assert!(matches!(
            EmailPayload::from_json(r#"{"v":1,"kind":"ForgotPassword","vars":{"a..b":"x"}}"#),
            Err(PayloadError::BadVariableName(_))
        ));
    }

    #[test]
    fn sealed_row_opens_only_for_its_own_id_and_key() {
        let key = [3u8; 32];
        let message = new_outbox_message(&key, "jane@example.com", &sample(), Some(5)).expect("row");
        assert!(!message.payload.contains("123456"));
        assert_eq!(message.kind, "ForgotPassword");
        assert_ne!(message.message_id, message.id);
        let row = row_from(&message);
        assert_eq!(open_payload(&key, &row), Ok(sample()));
        assert_eq!(open_payload(&[4u8; 32], &row), Err(PayloadError::Open));
        let moved = OutboxMessage { id: "obxOther".into(), ..row.clone() };
        assert_eq!(open_payload(&key, &moved), Err(PayloadError::Open));
        let purged = OutboxMessage { payload: None, ..row };
        assert_eq!(open_payload(&key, &purged), Err(PayloadError::Purged));
    }

    #[test]
    fn header_injection_in_the_recipient_is_refused() {
        let key = [3u8; 32];
        for bad in ["jane@example.com\r\nBcc: att@evil.test", "Jane <jane@example.com>", "", "no-at-sign"] {
            assert_eq!(new_outbox_message(&key, bad, &sample(), None).err(), Some(PayloadError::BadRecipient), "{bad:?}");
        }
    }
}
