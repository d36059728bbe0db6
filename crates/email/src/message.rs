//! Builds the RFC 5322 message from a rendered email: headers through lettre's encoders (no
//! value can add a header line, security-checklist EML-1), multipart/alternative with both a
//! text and an HTML part, and the row's stable Message-ID.

use std::str::FromStr;

use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{Address, Message};

use crate::render::RenderedEmail;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ComposeError {
    #[error("the sender `{0}` is not a valid \"Name <address>\" or address")]
    BadFrom(String),
    #[error("the recipient is not a valid email address")]
    BadRecipient,
    #[error("the Message-ID `{0}` may only hold letters, digits, `.`, `-` and `_`")]
    BadMessageId(String),
    #[error("the message could not be built: {0}")]
    Build(String),
}

/// Builds the message. `to` is a bare address and the only recipient; `message_id` and
/// `message_id_domain` form `Message-ID: <{message_id}@{message_id_domain}>`, which stays the
/// same on every redelivery so a duplicate after a crash is recognisable.
///
/// # Errors
/// [`ComposeError`] naming the invalid input.
pub fn compose(rendered: &RenderedEmail, from: &str, to: &str, message_id: &str, message_id_domain: &str) -> Result<Message, ComposeError> {
    let from = Mailbox::from_str(from).map_err(|_| ComposeError::BadFrom(from.to_owned()))?;
    let to = Address::from_str(to).map_err(|_| ComposeError::BadRecipient)?;
    let safe = |s: &str| !s.is_empty() && s.len() <= 200 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if !safe(message_id) {
        return Err(ComposeError::BadMessageId(message_id.to_owned()));
    }
    if !safe(message_id_domain) {
        return Err(ComposeError::BadMessageId(message_id_domain.to_owned()));
    }
    Message::builder()
        .from(from)
        .to(Mailbox::new(None, to))
        .subject(rendered.subject.as_str())
        .message_id(Some(format!("<{message_id}@{message_id_domain}>")))
        .header(AutoSubmitted)
        .multipart(MultiPart::alternative_plain_html(rendered.text.clone(), rendered.html.clone()))
        .map_err(|e| ComposeError::Build(e.to_string()))
}

/// `Auto-Submitted: auto-generated` (RFC 3834): vacation responders and mailing lists do not
/// answer or loop on a message that carries it.
#[derive(Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// An address for logs: `jane@example.com` → `j***@example.com`. Logs must not hold whole
/// recipient addresses; the first letter and domain are enough to tell deliveries apart.
pub fn mask_address(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => {
            let first = local.chars().next().map(String::from).unwrap_or_default();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered() -> RenderedEmail {
        RenderedEmail { subject: "Réinitialisez".into(), html: "<p>code 123456</p>".into(), text: "code 123456\n".into() }
    }

    #[test]
    fn message_has_both_parts_and_the_stable_id() {
        let msg = compose(&rendered(), "Latchkey <no-reply@id.example>", "jane@example.com", "lkAbc", "id.example").expect("compose");
        let raw = String::from_utf8(msg.formatted()).expect("ascii");
        assert!(raw.contains("Message-ID: <lkAbc@id.example>"), "{raw}");
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
        assert!(raw.contains("Auto-Submitted: auto-generated"));
        assert_eq!(msg.envelope().to().len(), 1);
    }

    #[test]
    fn injection_attempts_are_refused() {
        assert_eq!(
            compose(&rendered(), "a@b.example", "jane@example.com\r\nBcc: x@evil.test", "id", "d.example").err(),
            Some(ComposeError::BadRecipient)
        );
        assert!(matches!(
            compose(&rendered(), "a@b.example", "j@example.com", "id>\r\nX: y", "d.example"),
            Err(ComposeError::BadMessageId(_))
        ));
        assert!(matches!(compose(&rendered(), "nobody", "j@example.com", "id", "d.example"), Err(ComposeError::BadFrom(_))));
    }

    #[test]
    fn masking() {
        assert_eq!(mask_address("jane@example.com"), "j***@example.com");
        assert_eq!(mask_address("weird"), "***");
    }
}
