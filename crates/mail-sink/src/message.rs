//! What the sink keeps for one accepted message, and how the raw RFC 5322 text
//! is decoded into the parts tests read (subject, text, HTML, headers).
//!
//! Decoding is best effort: the sink must keep every message it accepted, so a
//! message `mailparse` cannot parse is still stored with its envelope and raw
//! text, just without the decoded fields.

use mailparse::{DispositionType, MailHeaderMap, ParsedMail};
use serde::Serialize;

/// One message accepted by the sink, as the SMTP envelope and the decoded content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceivedMessage {
    /// Increasing from 1 over the sink's life; `clear()` does not reset it, so an
    /// id seen before a clear never names a different message afterwards.
    pub id: u64,
    /// The envelope sender (`MAIL FROM`), without angle brackets; empty for `<>`.
    pub mail_from: String,
    /// The envelope recipients (`RCPT TO`) that were accepted, without angle brackets.
    pub rcpt_to: Vec<String>,
    /// The message exactly as received after dot-unstuffing (CRLF line ends kept).
    pub raw: String,
    /// The `Subject` header with RFC 2047 encoded words decoded.
    pub subject: Option<String>,
    /// The `Message-ID` header as sent (with its angle brackets).
    pub message_id: Option<String>,
    /// Every header in order, values unfolded and RFC 2047-decoded.
    pub headers: Vec<(String, String)>,
    /// The first inline `text/plain` part, transfer encoding and charset decoded.
    pub text: Option<String>,
    /// The first inline `text/html` part, transfer encoding and charset decoded.
    pub html: Option<String>,
    /// When the sink accepted the message (end of DATA), in ms since the Unix epoch.
    pub received_at_ms: u64,
}

impl ReceivedMessage {
    /// Decodes `raw` into a message. Never fails: undecodable parts stay `None`.
    pub(crate) fn parse(id: u64, mail_from: String, rcpt_to: Vec<String>, raw: &[u8], received_at_ms: u64) -> Self {
        let mut message = ReceivedMessage {
            id,
            mail_from,
            rcpt_to,
            raw: String::from_utf8_lossy(raw).into_owned(),
            subject: None,
            message_id: None,
            headers: Vec::new(),
            text: None,
            html: None,
            received_at_ms,
        };
        let Ok(parsed) = mailparse::parse_mail(raw) else {
            return message;
        };
        message.subject = parsed.headers.get_first_value("Subject");
        message.message_id = parsed.headers.get_first_value("Message-ID").map(|v| v.trim().to_owned());
        message.headers = parsed.headers.iter().map(|h| (h.get_key(), h.get_value())).collect();
        message.text = first_inline_body(&parsed, "text/plain");
        message.html = first_inline_body(&parsed, "text/html");
        message
    }

    /// Whether `address` is one of the envelope recipients. Case-insensitive
    /// because tests compare against addresses the server may have normalised
    /// differently than the test typed them.
    pub fn is_to(&self, address: &str) -> bool {
        let address = address.trim().to_lowercase();
        self.rcpt_to.iter().any(|r| r.to_lowercase() == address)
    }
}

/// Depth-first search for the first part of `mimetype` that is not an attachment.
/// A message without a Content-Type is `text/plain` (RFC 2045 §5.2), which
/// `mailparse` already reports as the default.
fn first_inline_body(parsed: &ParsedMail<'_>, mimetype: &str) -> Option<String> {
    parsed
        .parts()
        .filter(|part| part.subparts.is_empty())
        .filter(|part| part.ctype.mimetype.eq_ignore_ascii_case(mimetype))
        .find(|part| part.get_content_disposition().disposition != DispositionType::Attachment)
        .and_then(|part| part.get_body().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_quoted_printable_base64_and_encoded_subject() {
        let raw = concat!(
            "Subject: =?utf-8?b?R3LDvMOfZQ==?=\r\n",
            "Message-ID: <m1@example.test>\r\n",
            "Content-Type: multipart/alternative; boundary=b\r\n",
            "\r\n",
            "--b\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n",
            "\r\n",
            "Code: 123456 =E2=82=AC\r\n",
            "--b\r\n",
            "Content-Type: text/html; charset=utf-8\r\n",
            "Content-Transfer-Encoding: base64\r\n",
            "\r\n",
            "PHA+SGk8L3A+\r\n",
            "--b--\r\n",
        );
        let m = ReceivedMessage::parse(1, "a@x".into(), vec!["B@X".into()], raw.as_bytes(), 0);
        assert_eq!(m.subject.as_deref(), Some("Grüße"));
        assert_eq!(m.message_id.as_deref(), Some("<m1@example.test>"));
        assert_eq!(m.text.as_deref().map(str::trim_end), Some("Code: 123456 €"));
        assert_eq!(m.html.as_deref().map(str::trim_end), Some("<p>Hi</p>"));
        assert!(m.is_to("b@x"));
    }

    #[test]
    fn garbage_is_kept_raw() {
        let m = ReceivedMessage::parse(1, String::new(), vec![], b"\xff\xfe no headers at all", 0);
        assert!(m.raw.contains("no headers"));
    }
}
