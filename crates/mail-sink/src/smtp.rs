//! The SMTP side (RFC 5321, as much as a sink needs): accepts connections,
//! runs one session per connection, and hands complete messages to the store.
//!
//! Every reply is written before the next command line is read, which is all
//! PIPELINING (RFC 2920) asks of a server: the client may send a batch and the
//! replies come back in order. Input is untrusted bytes; nothing here panics on it.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::store::{RecipientVerdict, Store};

/// RFC 5321 §4.5.3.1.4 allows 512 octets; extensions (SIZE, BODY, SMTPUTF8
/// addresses) make longer lines legitimate, so allow some room.
const MAX_COMMAND_LINE: usize = 2048;
/// RFC 5321 §4.5.3.1.6: 1000 octets including CRLF. Enforced strictly so a
/// sender that would be refused by a real relay fails here first.
const MAX_TEXT_LINE: usize = 1000;
/// Advertised with SIZE; generous for any transactional email.
pub(crate) const MAX_MESSAGE_SIZE: usize = 10 * 1024 * 1024;
const MAX_RECIPIENTS: usize = 1000;
/// RFC 5321 §4.5.3.2.7: a server should wait at least 5 minutes for a command.
const IDLE_TIMEOUT: Duration = Duration::from_secs(300);
/// A client that keeps sending nonsense is dropped rather than served forever.
const MAX_ERRORS: usize = 100;
const GREETING_NAME: &str = "localhost";

/// Accepts connections until `shutdown` changes or its sender is dropped, then
/// aborts the sessions still running.
pub(crate) async fn serve(listener: TcpListener, store: Arc<Store>, mut shutdown: watch::Receiver<bool>) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let store = store.clone();
                    sessions.spawn(async move {
                        if let Err(error) = session(stream, store).await {
                            tracing::debug!(%peer, %error, "smtp session ended with an error");
                        }
                    });
                }
                Err(error) => {
                    // Usually EMFILE; back off instead of spinning on the error.
                    tracing::warn!(%error, "smtp accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            // Reap finished sessions so the set does not grow over a long run.
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    sessions.shutdown().await;
}

/// One envelope being built: MAIL FROM, then RCPT TOs, then DATA.
#[derive(Default)]
struct Transaction {
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

async fn session(stream: TcpStream, store: Arc<Store>) -> io::Result<()> {
    store.count_connection();
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut lines = LineReader::new(read);

    if store.behavior().refuse_connections {
        // A reply rather than a bare close makes the failure unambiguous in the
        // client's error (lettre reports the 421 text).
        write.write_all(b"421 4.3.2 Service not available, closing channel\r\n").await?;
        return Ok(());
    }
    reply(&mut write, &format!("220 {GREETING_NAME} latchkey-mail-sink ESMTP ready")).await?;

    let mut greeted = false;
    let mut tx = Transaction::default();
    let mut errors = 0usize;
    loop {
        let line = match lines.next_line(MAX_COMMAND_LINE).await? {
            Line::Eof => return Ok(()),
            Line::TooLong => {
                errors += 1;
                reply(&mut write, "500 5.5.2 Line too long").await?;
                continue;
            }
            Line::Complete(bytes) => String::from_utf8_lossy(&bytes).trim_end_matches(['\r', '\n']).to_owned(),
        };
        let (verb, arg) = match line.split_once(' ') {
            Some((verb, arg)) => (verb.to_ascii_uppercase(), arg.trim()),
            None => (line.trim().to_ascii_uppercase(), ""),
        };
        let response: String = match verb.as_str() {
            "EHLO" | "HELO" if arg.is_empty() => format!("501 5.5.4 {verb} requires a domain"),
            "EHLO" => {
                greeted = true;
                tx = Transaction::default();
                format!(
                    "250-{GREETING_NAME} greets {arg}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-PIPELINING\r\n\
                     250-ENHANCEDSTATUSCODES\r\n250 SIZE {MAX_MESSAGE_SIZE}"
                )
            }
            "HELO" => {
                greeted = true;
                tx = Transaction::default();
                format!("250 {GREETING_NAME}")
            }
            "MAIL" => {
                if store.behavior().refuse_connections {
                    reply(&mut write, "421 4.3.2 Service not available, closing channel").await?;
                    return Ok(());
                }
                mail_from(greeted, &mut tx, arg)
            }
            "RCPT" => rcpt_to(&store, &mut tx, arg),
            "DATA" if tx.mail_from.is_none() => "503 5.5.1 MAIL FROM first".to_owned(),
            "DATA" if tx.rcpt_to.is_empty() => "554 5.5.1 No valid recipients".to_owned(),
            "DATA" => {
                reply(&mut write, "354 End data with <CR><LF>.<CR><LF>").await?;
                let outcome = read_data(&mut lines).await?;
                let tx = std::mem::take(&mut tx);
                match outcome {
                    Data::Eof => return Ok(()),
                    Data::LineTooLong => "500 5.5.2 Line too long (limit 1000 octets including CRLF)".to_owned(),
                    Data::TooBig => "552 5.3.4 Message size exceeds fixed maximum message size".to_owned(),
                    Data::Complete(raw) => {
                        let delay = store.behavior().delay_per_message;
                        if !delay.is_zero() {
                            tokio::time::sleep(delay).await;
                        }
                        let mail_from = tx.mail_from.unwrap_or_default();
                        let id = store.push(mail_from, tx.rcpt_to, &raw);
                        format!("250 2.0.0 Ok: queued as {id}")
                    }
                }
            }
            "RSET" => {
                tx = Transaction::default();
                "250 2.0.0 Ok".to_owned()
            }
            "NOOP" => "250 2.0.0 Ok".to_owned(),
            "QUIT" => {
                reply(&mut write, "221 2.0.0 Bye").await?;
                return Ok(());
            }
            "VRFY" => "252 2.1.5 Cannot VRFY user, but will accept message".to_owned(),
            // Known commands this sink deliberately does not offer. STARTTLS is
            // not advertised: lettre's builder_dangerous never asks for it.
            "EXPN" | "HELP" | "TURN" | "ETRN" | "STARTTLS" | "AUTH" | "BDAT" | "ATRN" => "502 5.5.1 Command not implemented".to_owned(),
            _ => "500 5.5.2 Command unrecognized".to_owned(),
        };
        if response.starts_with('5') {
            errors += 1;
        }
        reply(&mut write, &response).await?;
        if errors >= MAX_ERRORS {
            reply(&mut write, "421 4.7.0 Too many errors, closing channel").await?;
            return Ok(());
        }
    }
}

fn mail_from(greeted: bool, tx: &mut Transaction, arg: &str) -> String {
    if !greeted {
        return "503 5.5.1 Send EHLO/HELO first".to_owned();
    }
    if tx.mail_from.is_some() {
        return "503 5.5.1 Nested MAIL command".to_owned();
    }
    let Some((address, params)) = parse_path(arg, "FROM:") else {
        return "501 5.5.4 Syntax: MAIL FROM:<address>".to_owned();
    };
    for param in params.split_whitespace() {
        let (key, value) = param.split_once('=').unwrap_or((param, ""));
        if key.eq_ignore_ascii_case("SIZE") {
            match value.parse::<usize>() {
                Ok(size) if size > MAX_MESSAGE_SIZE => return "552 5.3.4 Message size exceeds fixed maximum message size".to_owned(),
                Ok(_) => {}
                Err(_) => return "501 5.5.4 Invalid SIZE parameter".to_owned(),
            }
        }
        // BODY=8BITMIME, SMTPUTF8 and anything else: accepted, nothing to do.
    }
    tx.mail_from = Some(address);
    "250 2.1.0 Ok".to_owned()
}

fn rcpt_to(store: &Store, tx: &mut Transaction, arg: &str) -> String {
    if tx.mail_from.is_none() {
        return "503 5.5.1 MAIL FROM first".to_owned();
    }
    let Some((address, _params)) = parse_path(arg, "TO:") else {
        return "501 5.5.4 Syntax: RCPT TO:<address>".to_owned();
    };
    if address.is_empty() {
        return "501 5.1.3 Empty recipient".to_owned();
    }
    if tx.rcpt_to.len() >= MAX_RECIPIENTS {
        return "452 4.5.3 Too many recipients".to_owned();
    }
    match store.behavior().judge_recipient(&address) {
        RecipientVerdict::Reject => format!("550 5.1.1 <{address}>: Recipient address rejected"),
        RecipientVerdict::TempFail => {
            format!("451 4.3.0 <{address}>: Temporary failure, try again later")
        }
        RecipientVerdict::Accept => {
            tx.rcpt_to.push(address);
            "250 2.1.5 Ok".to_owned()
        }
    }
}

/// Parses `FROM:<path> params` / `TO:<path> params` into the bare address and
/// the parameter text. Tolerates a space after the colon and a missing pair of
/// brackets (some clients), and drops an RFC 5321 §4.1.2 source route.
fn parse_path<'a>(arg: &'a str, keyword: &str) -> Option<(String, &'a str)> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let (path, params) = if let Some(inner) = rest.strip_prefix('<') {
        let end = inner.find('>')?;
        (&inner[..end], &inner[end + 1..])
    } else {
        let end = rest.find(' ').unwrap_or(rest.len());
        (&rest[..end], &rest[end..])
    };
    let address = match path.strip_prefix('@') {
        Some(routed) => routed.split_once(':').map_or(path, |(_, a)| a),
        None => path,
    };
    if address.chars().any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>') {
        return None;
    }
    Some((address.to_owned(), params.trim()))
}

enum Data {
    Complete(Vec<u8>),
    LineTooLong,
    TooBig,
    Eof,
}

/// Reads message text up to the lone `.` line, undoing dot-stuffing
/// (RFC 5321 §4.5.2). An over-long line or message does not end the read
/// early: the client is still sending, so the rest is consumed and discarded
/// and the error is given after the terminator, keeping the session in sync.
async fn read_data<R: AsyncRead + Unpin>(lines: &mut LineReader<R>) -> io::Result<Data> {
    let mut raw = Vec::new();
    let mut line_too_long = false;
    let mut too_big = false;
    loop {
        match lines.next_line(MAX_TEXT_LINE).await? {
            Line::Eof => return Ok(Data::Eof),
            Line::TooLong => line_too_long = true,
            Line::Complete(line) => {
                // A bare-LF terminator is accepted too: this is a test tool and
                // hanging on a sloppy client helps nobody.
                if line == b".\r\n" || line == b".\n" {
                    break;
                }
                let content = line.strip_prefix(b".").unwrap_or(&line);
                if raw.len() + content.len() > MAX_MESSAGE_SIZE {
                    too_big = true;
                    raw = Vec::new();
                }
                if !too_big {
                    raw.extend_from_slice(content);
                }
            }
        }
    }
    Ok(if line_too_long {
        Data::LineTooLong
    } else if too_big {
        Data::TooBig
    } else {
        Data::Complete(raw)
    })
}

async fn reply<W: AsyncWriteExt + Unpin>(write: &mut W, text: &str) -> io::Result<()> {
    let mut bytes = Vec::with_capacity(text.len() + 2);
    bytes.extend_from_slice(text.as_bytes());
    bytes.extend_from_slice(b"\r\n");
    write.write_all(&bytes).await
}

enum Line {
    /// A line including its terminating LF (and CR, if sent).
    Complete(Vec<u8>),
    /// A line longer than the limit; it has been consumed and discarded.
    TooLong,
    Eof,
}

/// Splits a byte stream into LF-terminated lines however the bytes were split
/// across TCP reads, without ever buffering more than the line limit plus one read.
struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`; compacted before each read so
    /// that consuming a line is O(line), not O(buffer).
    start: usize,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    fn new(inner: R) -> Self {
        LineReader { inner, buf: Vec::with_capacity(8192), start: 0 }
    }

    async fn next_line(&mut self, max: usize) -> io::Result<Line> {
        let mut discarding = false;
        loop {
            let pending = &self.buf[self.start..];
            if let Some(pos) = pending.iter().position(|&b| b == b'\n') {
                let line = &pending[..=pos];
                let result = if discarding || line.len() > max { Line::TooLong } else { Line::Complete(line.to_vec()) };
                self.start += pos + 1;
                return Ok(result);
            }
            if pending.len() > max {
                discarding = true;
                self.start = self.buf.len();
            }
            self.buf.drain(..self.start);
            self.start = 0;
            let mut chunk = [0u8; 8192];
            let n = match tokio::time::timeout(IDLE_TIMEOUT, self.inner.read(&mut chunk)).await {
                Ok(read) => read?,
                Err(_) => return Err(io::Error::new(io::ErrorKind::TimedOut, "client idle too long")),
            };
            if n == 0 {
                return Ok(Line::Eof);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_path_handles_brackets_params_routes_and_garbage() {
        assert_eq!(parse_path("FROM:<a@x.test> SIZE=10 BODY=8BITMIME", "FROM:"), Some(("a@x.test".into(), "SIZE=10 BODY=8BITMIME")));
        assert_eq!(parse_path("from: <>", "FROM:"), Some((String::new(), "")));
        assert_eq!(parse_path("TO:<@relay.test:b@x.test>", "TO:"), Some(("b@x.test".into(), "")));
        assert_eq!(parse_path("TO:b@x.test", "TO:"), Some(("b@x.test".into(), "")));
        assert_eq!(parse_path("TO:<unterminated", "TO:"), None);
        assert_eq!(parse_path("T", "TO:"), None);
        assert_eq!(parse_path("ÿÿÿ", "TO:"), None);
    }

    #[tokio::test]
    async fn line_reader_joins_split_reads_and_discards_long_lines() {
        let (mut client, server) = tokio::io::duplex(64);
        let writer = tokio::spawn(async move {
            for chunk in [&b"EH"[..], b"LO x\r", b"\nNOOP\r\n", &[b'a'; 300], b"\r\nQUIT\r\n"] {
                client.write_all(chunk).await.unwrap();
            }
        });
        let mut lines = LineReader::new(server);
        assert!(matches!(lines.next_line(100).await.unwrap(), Line::Complete(l) if l == b"EHLO x\r\n"));
        assert!(matches!(lines.next_line(100).await.unwrap(), Line::Complete(l) if l == b"NOOP\r\n"));
        assert!(matches!(lines.next_line(100).await.unwrap(), Line::TooLong));
        assert!(matches!(lines.next_line(100).await.unwrap(), Line::Complete(l) if l == b"QUIT\r\n"));
        writer.await.unwrap();
        assert!(matches!(lines.next_line(100).await.unwrap(), Line::Eof));
    }
}
