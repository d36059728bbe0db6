//! The sink as its users see it: lettre delivering over real TCP, raw SMTP
//! clients misbehaving, the HTTP API, and the binary's start-up contract.

use std::io::BufRead;
use std::net::SocketAddr;
use std::time::Duration;

use latchkey_mail_sink::{Behavior, MailSink, SinkOptions};
use lettre::message::{header::ContentType, Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(5);

fn transport(sink: &MailSink) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(sink.smtp_addr().port())
        .pool_config(PoolConfig::new().max_size(1))
        .timeout(Some(WAIT))
        .build()
}

fn plain(to: &str, subject: &str, body: &str) -> Message {
    Message::builder()
        .from("Latchkey <noreply@latchkey.test>".parse::<Mailbox>().unwrap())
        .to(to.parse::<Mailbox>().unwrap())
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .body(body.to_owned())
        .unwrap()
}

async fn http_sink() -> MailSink {
    MailSink::start_with(SinkOptions { http: Some(SocketAddr::from(([127, 0, 0, 1], 0))), ..SinkOptions::default() }).await.unwrap()
}

#[tokio::test]
async fn multipart_message_arrives_decoded_with_subject_and_message_id() {
    let sink = MailSink::start().await.unwrap();
    let message = Message::builder()
        .from("noreply@latchkey.test".parse::<Mailbox>().unwrap())
        .to("Alice <Alice@Example.test>".parse::<Mailbox>().unwrap())
        .subject("Ihr Bestätigungscode – 验证码 ✓")
        .message_id(Some("<reset-1@latchkey.test>".to_owned()))
        .multipart(MultiPart::alternative_plain_html(
            "Your code is 482913. Grüße, €100 — a long line that certainly forces quoted-printable wrapping past seventy-six characters."
                .to_owned(),
            "<p>Your code is <b>482913</b>. <a href=\"https://id.test/verify?otp=482913&amp;state=abc\">Verify</a> é</p>".to_owned(),
        ))
        .unwrap();
    transport(&sink).send(message).await.unwrap();

    let got = sink.wait_for_count(Some("alice@example.test"), 1, WAIT).await.unwrap();
    let m = &got[0];
    assert_eq!(m.mail_from, "noreply@latchkey.test");
    assert_eq!(m.rcpt_to, vec!["Alice@Example.test".to_owned()]);
    assert_eq!(m.subject.as_deref(), Some("Ihr Bestätigungscode – 验证码 ✓"));
    assert_eq!(m.message_id.as_deref(), Some("<reset-1@latchkey.test>"));
    assert!(m.text.as_deref().unwrap().contains("Your code is 482913. Grüße, €100 — a long line that certainly forces"));
    assert!(m.html.as_deref().unwrap().contains("<b>482913</b>"));
    assert!(m.html.as_deref().unwrap().contains("é"));
    assert!(m.raw.contains("Message-ID: <reset-1@latchkey.test>"));
    assert!(m.raw.to_lowercase().contains("=?utf-8?b?"), "the subject travelled MIME-encoded: {}", m.raw);
    assert!(m.raw.contains("Content-Transfer-Encoding: quoted-printable") || m.raw.contains("Content-Transfer-Encoding: base64"));
    assert_eq!(sink.messages_to("ALICE@example.TEST").len(), 1);
    assert!(sink.messages_to("bob@example.test").is_empty());
    sink.shutdown().await;
}

#[tokio::test]
async fn several_messages_share_one_pooled_connection() {
    let sink = MailSink::start().await.unwrap();
    let mailer = transport(&sink);
    for i in 0..3 {
        mailer.send(plain(&format!("user{i}@example.test"), &format!("message {i}"), "hello")).await.unwrap();
        // lettre parks a used connection from a spawned task; a send that
        // starts before that task runs opens a second connection.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = sink.wait_for_count(None, 3, WAIT).await.unwrap();
    let subjects: Vec<_> = got.iter().map(|m| m.subject.clone().unwrap()).collect();
    assert_eq!(subjects, ["message 0", "message 1", "message 2"]);
    let ids: Vec<_> = got.iter().map(|m| m.id).collect();
    assert_eq!(ids, [1, 2, 3], "newest last, ids increasing");
    assert_eq!(sink.connections_accepted(), 1, "the pool must reuse its connection");
    sink.clear();
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn dot_stuffed_lines_survive() {
    let sink = MailSink::start().await.unwrap();
    let body = "first\r\n.leading dot\r\n..two dots\r\n.\r\nlast\r\n";
    transport(&sink).send(plain("dots@example.test", "dots", body)).await.unwrap();
    let m = sink.wait_for_count(None, 1, WAIT).await.unwrap().remove(0);
    assert!(m.raw.contains("\r\n.leading dot\r\n..two dots\r\n.\r\nlast"), "body went as 7bit: {:?}", m.raw);
    let text = m.text.unwrap();
    for line in ["first", ".leading dot", "..two dots", "last"] {
        assert!(text.lines().any(|l| l == line), "{line:?} missing from {text:?}");
    }
    assert!(text.lines().any(|l| l == "."), "a lone dot line must not end the message: {text:?}");
}

#[tokio::test]
async fn refusing_connections_fails_delivery_until_turned_off() {
    let sink = MailSink::start().await.unwrap();
    let mailer = transport(&sink);
    mailer.send(plain("a@example.test", "before", "x")).await.unwrap();

    sink.set_behavior(Behavior { refuse_connections: true, ..Behavior::default() });
    let err = mailer.send(plain("a@example.test", "during", "x")).await.unwrap_err();
    assert!(!err.is_permanent(), "a 421 is transient: {err}");
    // A fresh connection is refused at the greeting, not only a pooled one at MAIL.
    assert!(transport(&sink).send(plain("a@example.test", "during", "x")).await.is_err());

    sink.set_behavior(Behavior::default());
    mailer.send(plain("a@example.test", "after", "x")).await.unwrap();
    let subjects: Vec<_> = sink.messages().into_iter().filter_map(|m| m.subject).collect();
    assert_eq!(subjects, ["before", "after"]);
}

#[tokio::test]
async fn rejected_recipients_give_permanent_and_deferred_ones_transient_errors() {
    let sink = MailSink::start().await.unwrap();
    sink.set_behavior(Behavior {
        reject_recipients_matching: Some("bounce".into()),
        temp_fail_recipients_matching: Some("GREYLIST".into()),
        ..Behavior::default()
    });
    let mailer = transport(&sink);

    let err = mailer.send(plain("bounce@example.test", "x", "x")).await.unwrap_err();
    assert!(err.is_permanent(), "550 must be permanent: {err}");
    let err = mailer.send(plain("greylist@example.test", "x", "x")).await.unwrap_err();
    assert!(err.is_transient(), "451 must be transient: {err}");
    mailer.send(plain("fine@example.test", "ok", "x")).await.unwrap();
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn delay_per_message_holds_the_reply() {
    let sink = MailSink::start().await.unwrap();
    sink.set_behavior(Behavior { delay_per_message: Duration::from_millis(300), ..Behavior::default() });
    let started = std::time::Instant::now();
    transport(&sink).send(plain("slow@example.test", "slow", "x")).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn http_wait_returns_when_the_message_arrives() {
    let sink = http_sink().await;
    let base = sink.http_url().unwrap();
    let client = reqwest::Client::new();

    let waiting = tokio::spawn({
        let client = client.clone();
        let url = format!("{base}/wait?to=Late@Example.test&count=1&timeout_ms=5000");
        async move { client.get(url).send().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    transport(&sink).send(plain("late@example.test", "finally", "code 123456")).await.unwrap();

    let response = waiting.await.unwrap();
    assert_eq!(response.status(), 200);
    let messages: Vec<serde_json::Value> = response.json().await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["subject"], "finally");
    let id = messages[0]["id"].as_u64().unwrap();

    let one: serde_json::Value = client.get(format!("{base}/messages/{id}")).send().await.unwrap().json().await.unwrap();
    assert_eq!(one["rcpt_to"][0], "late@example.test");
    let raw = client.get(format!("{base}/messages/{id}/raw")).send().await.unwrap().text().await.unwrap();
    assert!(raw.contains("Subject: finally\r\n"));
    assert_eq!(client.get(format!("{base}/messages/999")).send().await.unwrap().status(), 404);

    let timed_out = client.get(format!("{base}/wait?to=nobody@example.test&timeout_ms=50")).send().await.unwrap();
    assert_eq!(timed_out.status(), 408);

    let listed: Vec<serde_json::Value> =
        client.get(format!("{base}/messages?to=nobody@example.test")).send().await.unwrap().json().await.unwrap();
    assert!(listed.is_empty());
    assert_eq!(client.delete(format!("{base}/messages")).send().await.unwrap().status(), 204);
    assert!(sink.messages().is_empty());

    let put = client
        .put(format!("{base}/behavior"))
        .json(&serde_json::json!({ "reject_recipients_matching": "nope", "delay_per_message_ms": 1 }))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200);
    assert_eq!(sink.behavior().reject_recipients_matching.as_deref(), Some("nope"));
    assert_eq!(sink.behavior().delay_per_message, Duration::from_millis(1));
    sink.shutdown().await;
}

/// A line-at-a-time SMTP client for speaking the protocol badly on purpose.
struct RawClient {
    read: BufReader<tokio::net::tcp::OwnedReadHalf>,
    write: tokio::net::tcp::OwnedWriteHalf,
}

impl RawClient {
    async fn connect(sink: &MailSink) -> (RawClient, String) {
        let (read, write) = TcpStream::connect(sink.smtp_addr()).await.unwrap().into_split();
        let mut client = RawClient { read: BufReader::new(read), write };
        let greeting = client.reply().await;
        (client, greeting)
    }

    /// One reply, joining multi-line replies (`250-...` continuation lines).
    async fn reply(&mut self) -> String {
        let mut all = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(WAIT, self.read.read_line(&mut line)).await.unwrap().unwrap();
            assert!(n > 0, "server closed the connection; got so far: {all:?}");
            all.push_str(&line);
            if line.as_bytes().get(3) != Some(&b'-') {
                return all;
            }
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.unwrap();
    }

    async fn command(&mut self, line: &str) -> String {
        self.send(format!("{line}\r\n").as_bytes()).await;
        self.reply().await
    }
}

#[tokio::test]
async fn garbage_gets_500s_and_the_server_keeps_serving() {
    let sink = MailSink::start().await.unwrap();
    let (mut c, greeting) = RawClient::connect(&sink).await;
    assert!(greeting.starts_with("220 "));
    assert!(c.command("HELLO WORLD").await.starts_with("500 "));
    c.send(b"\xff\xfe\x00\x01\r\n").await;
    assert!(c.reply().await.starts_with("500 "));
    c.send(&[b'x'; 5000]).await;
    c.send(b"\r\n").await;
    assert!(c.reply().await.starts_with("500 "), "over-long line");
    assert!(c.command("").await.starts_with("500 "));
    assert!(c.command("STARTTLS").await.starts_with("502 "));
    assert!(c.command("MAIL FROM:<a@x.test>").await.starts_with("503 "), "MAIL before EHLO");
    assert!(c.command("RCPT TO:<b@x.test>").await.starts_with("503 "), "RCPT before MAIL");
    assert!(c.command("DATA").await.starts_with("503 "), "DATA before MAIL");
    let ehlo = c.command("EHLO client.test").await;
    for ext in ["8BITMIME", "SMTPUTF8", "PIPELINING", "SIZE"] {
        assert!(ehlo.contains(ext), "{ext} not advertised: {ehlo}");
    }
    assert!(c.command("MAIL FROM:<unterminated").await.starts_with("501 "));
    assert!(c.command("MAIL FROM:<a@x.test> SIZE=999999999999").await.starts_with("552 "));
    // Hang up mid-transaction; the server must not care.
    assert!(c.command("MAIL FROM:<a@x.test>").await.starts_with("250 "));
    drop(c);

    transport(&sink).send(plain("after@example.test", "still alive", "x")).await.unwrap();
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn pipelined_split_and_repeated_transactions_on_one_connection() {
    let sink = MailSink::start().await.unwrap();
    let (mut c, _) = RawClient::connect(&sink).await;
    // The command split across writes (and so across TCP reads).
    c.send(b"EH").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    c.send(b"LO client.test\r").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    c.send(b"\n").await;
    assert!(c.reply().await.starts_with("250-"));

    // A whole transaction in one write, as a PIPELINING client may send it.
    c.send(b"MAIL FROM:<a@x.test> BODY=8BITMIME\r\nRCPT TO:<one@x.test>\r\nRCPT TO:<two@x.test>\r\nDATA\r\n").await;
    for expected in ["250 ", "250 ", "250 ", "354 "] {
        assert!(c.reply().await.starts_with(expected));
    }
    c.send(b"Subject: first\r\n\r\n..stuffed\r\n.\r\n").await;
    assert!(c.reply().await.starts_with("250 "));

    // RSET abandons a transaction; the next one on the same connection works.
    assert!(c.command("MAIL FROM:<>").await.starts_with("250 "));
    assert!(c.command("RCPT TO:<abandoned@x.test>").await.starts_with("250 "));
    assert!(c.command("RSET").await.starts_with("250 "));
    assert!(c.command("DATA").await.starts_with("503 "), "RSET must clear the envelope");
    assert!(c.command("NOOP").await.starts_with("250 "));
    assert!(c.command("MAIL FROM:<b@x.test>").await.starts_with("250 "));
    assert!(c.command("RCPT TO:<three@x.test>").await.starts_with("250 "));
    assert!(c.command("DATA").await.starts_with("354 "));
    c.send(format!("Subject: second\r\n\r\n{}\r\n.\r\n", "y".repeat(1200)).as_bytes()).await;
    assert!(c.reply().await.starts_with("500 "), "a 1200-octet line breaks RFC 5321's limit");
    assert!(c.command("MAIL FROM:<b@x.test>").await.starts_with("250 "), "session still in sync after a refused DATA");
    assert!(c.command("RCPT TO:<three@x.test>").await.starts_with("250 "));
    assert!(c.command("DATA").await.starts_with("354 "));
    c.send(b"Subject: third\r\n\r\nok\r\n.\r\n").await;
    assert!(c.reply().await.starts_with("250 "));
    assert!(c.command("QUIT").await.starts_with("221 "));

    let got = sink.messages();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].rcpt_to, ["one@x.test", "two@x.test"]);
    assert_eq!(got[0].raw, "Subject: first\r\n\r\n.stuffed\r\n");
    assert_eq!(got[1].subject.as_deref(), Some("third"));
    assert_eq!(got[1].mail_from, "b@x.test");
}

#[tokio::test]
async fn non_loopback_addresses_are_refused() {
    let opts = SinkOptions { smtp: SocketAddr::from(([0, 0, 0, 0], 0)), http: None };
    let err = MailSink::start_with(opts).await.err().expect("0.0.0.0 must be refused");
    assert!(err.to_string().contains("loopback"));
}

#[tokio::test]
async fn binary_prints_two_lines_serves_and_exits_cleanly_on_sigterm() {
    let mut child =
        std::process::Command::new(env!("CARGO_BIN_EXE_latchkey-mail-sink")).stdout(std::process::Stdio::piped()).spawn().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (mut smtp, mut http) = (String::new(), String::new());
    stdout.read_line(&mut smtp).unwrap();
    stdout.read_line(&mut http).unwrap();
    let smtp: SocketAddr = smtp.trim_end().strip_prefix("smtp ").expect("first line is `smtp ADDR`").parse().unwrap();
    let http = http.trim_end().strip_prefix("http ").expect("second line is `http URL`").to_owned();
    assert!(http.starts_with("http://127.0.0.1:"));

    let mailer = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1").port(smtp.port()).build();
    mailer.send(plain("bin@example.test", "via binary", "x")).await.unwrap();
    let listed: Vec<serde_json::Value> =
        reqwest::get(format!("{http}/wait?to=bin@example.test&timeout_ms=5000")).await.unwrap().json().await.unwrap();
    assert_eq!(listed[0]["subject"], "via binary");

    let killed = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status}");
}
