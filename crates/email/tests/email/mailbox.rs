//! The development mailbox writes standard .eml files.

use std::time::Duration;

use chrono::Utc;
use latchkey_email::{compose, EmailKind, Renderer, Transport};
use mailparse::MailHeaderMap;

use crate::support::{sample, CODE};

#[tokio::test]
async fn mailbox_transport_writes_a_parseable_eml_with_both_parts() {
    let dir = std::env::temp_dir().join(format!("latchkey-mailbox-{}", latchkey_domain_free_suffix()));
    let transport = Transport::mailbox(dir.clone());
    assert_eq!(transport.timeout(), None::<Duration>);
    let rendered = Renderer::with_defaults().render(&sample(EmailKind::ForgotPassword, "ja"), Utc::now()).expect("render");
    let message = compose(&rendered, "Example <no-reply@id.example>", "jane@example.com", "lkMailboxTest", "id.example").expect("compose");
    transport.send(&message, "obxMailbox1").await.expect("written");

    let names: Vec<String> =
        std::fs::read_dir(&dir).expect("mailbox directory").map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.len(), 1, "one file and no temporary left: {names:?}");
    let name = &names[0];
    let (millis, rest) = name.split_once('-').expect("{created-ms}-{id}.eml");
    assert!(millis.parse::<u128>().is_ok() && rest == "obxMailbox1.eml", "{name}");

    let raw = std::fs::read(dir.join(name)).expect("read .eml");
    let parsed = mailparse::parse_mail(&raw).expect("RFC 5322");
    assert_eq!(parsed.headers.get_first_value("Message-ID").as_deref(), Some("<lkMailboxTest@id.example>"));
    assert_eq!(parsed.headers.get_first_value("Subject").as_deref(), Some("Example Corp のパスワード再設定"));
    assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
    let parts: Vec<(String, String)> =
        parsed.subparts.iter().map(|p| (p.ctype.mimetype.clone(), p.get_body().expect("decodable body"))).collect();
    assert_eq!(parts.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(), ["text/plain", "text/html"]);
    assert!(parts.iter().all(|(_, body)| body.contains(CODE)));
    assert!(parts[1].1.contains("<html lang=\"ja\""));
    let _ = std::fs::remove_dir_all(&dir);
}

fn latchkey_domain_free_suffix() -> String {
    format!("{}-{}", std::process::id(), Utc::now().timestamp_nanos_opt().unwrap_or_default())
}
