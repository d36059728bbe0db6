//! Where rendered messages go: an SMTP relay (lettre over tokio and rustls), or a directory of
//! `.eml` files for development.
//!
//! SMTP is encrypted unless the operator explicitly says otherwise (security-checklist EML-3):
//! `smtps://` is implicit TLS, `smtp://` requires STARTTLS, and certificates are validated
//! against the webpki roots. There is no opportunistic mode, because a stripped STARTTLS offer
//! would silently downgrade it; plaintext happens only for a loopback relay or with
//! `?tls=none`. A relay that cannot do TLS makes every send fail as transient, so the message
//! stays queued and the failure is logged.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use percent_encoding::percent_decode_str;
use url::{Host, Url};

/// Pooled connections kept per relay. The worker sends a handful of messages at once; more
/// connections would only make a small relay rate-limit us.
const POOL_SIZE: u32 = 8;
/// Longest failure reason kept (it ends up in the outbox row and the logs).
const MAX_REASON: usize = 300;

/// How messages leave the process.
pub enum Transport {
    Smtp(SmtpRelay),
    /// Development: one `.eml` file per message in this directory.
    Mailbox(PathBuf),
}

/// A pooled SMTP client for one relay.
pub struct SmtpRelay {
    client: AsyncSmtpTransport<Tokio1Executor>,
    /// `smtp://host:port` with no credentials, for logs and errors.
    description: String,
    timeout: Duration,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Smtp(relay) => f.debug_tuple("Smtp").field(&relay.description).finish(),
            Transport::Mailbox(dir) => f.debug_tuple("Mailbox").field(dir).finish(),
        }
    }
}

/// The SMTP setting is unusable. Messages never contain the password.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TransportError {
    #[error("the SMTP URL is invalid: {0}")]
    BadUrl(String),
    #[error("TLS cannot be set up for {host}: {reason}")]
    Tls { host: String, reason: String },
    #[error("the SMTP transport must be created inside a Tokio runtime")]
    NoRuntime,
}

/// Why a send failed. Permanent means the relay refused this message for good (SMTP 5xx) and
/// retrying cannot help; everything else (4xx, refused connection, timeout, TLS failure) may
/// succeed later.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    #[error("permanent failure: {reason}")]
    Permanent { code: Option<u16>, reason: String },
    #[error("transient failure: {reason}")]
    Transient { code: Option<u16>, reason: String },
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent { .. })
    }

    /// The SMTP reply code, when the relay answered with one.
    pub fn code(&self) -> Option<u16> {
        match self {
            SendError::Permanent { code, .. } | SendError::Transient { code, .. } => *code,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            SendError::Permanent { reason, .. } | SendError::Transient { reason, .. } => reason,
        }
    }
}

impl Transport {
    /// An SMTP relay. `smtps://[user:pass@]host[:465]` is implicit TLS; `smtp://host[:587]`
    /// requires STARTTLS, except in plaintext when the host is a loopback address or the URL
    /// says `?tls=none` (`?tls=starttls` forces STARTTLS even on loopback). User and password
    /// are percent-decoded. `timeout` bounds connecting and every SMTP command. Must be
    /// called inside a Tokio runtime (the connection pool starts a reaper task).
    ///
    /// # Errors
    /// [`TransportError`], whose message names the host but never the password.
    pub fn smtp(url: &str, timeout: Duration) -> Result<Self, TransportError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(TransportError::NoRuntime);
        }
        let bad = |why: &str| TransportError::BadUrl(why.to_owned());
        let parsed = Url::parse(url).map_err(|_| bad("expected smtp://host[:port] or smtps://host[:port]"))?;
        let implicit_tls = match parsed.scheme() {
            "smtps" => true,
            "smtp" => false,
            _ => return Err(bad("the scheme must be smtp:// (STARTTLS) or smtps:// (implicit TLS)")),
        };
        let (host, loopback) = match parsed.host() {
            // `smtp` is not a "special" URL scheme, so the url crate leaves an IPv4 address as
            // an opaque domain: parse it here, or `smtp://127.0.0.1` would not count as loopback.
            Some(Host::Domain(d)) => match d.parse::<IpAddr>() {
                Ok(ip) => (ip.to_string(), ip.is_loopback()),
                Err(_) => (d.to_owned(), d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost")),
            },
            Some(Host::Ipv4(ip)) => (ip.to_string(), IpAddr::V4(ip).is_loopback()),
            Some(Host::Ipv6(ip)) => (ip.to_string(), IpAddr::V6(ip).is_loopback()),
            None => return Err(bad("a host is required")),
        };
        if !matches!(parsed.path(), "" | "/") || parsed.fragment().is_some() {
            return Err(bad("the URL must not have a path or fragment"));
        }
        let mut tls_mode = None;
        for (key, value) in parsed.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "none" | "starttls") if tls_mode.is_none() => tls_mode = Some(value.into_owned()),
                ("tls", _) => return Err(bad("tls must be `none` or `starttls`, given once")),
                _ => return Err(bad("the only query parameter understood is tls=none|starttls")),
            }
        }
        let port = parsed.port().unwrap_or(if implicit_tls { 465 } else { 587 });
        let description = format!("{}://{}:{port}", parsed.scheme(), parsed.host_str().unwrap_or_default());
        let tls_params = || TlsParameters::new(host.clone()).map_err(|e| TransportError::Tls { host: host.clone(), reason: e.to_string() });
        let tls = match (implicit_tls, tls_mode.as_deref()) {
            (true, Some("none")) => return Err(bad("smtps:// is always TLS; use smtp://…?tls=none for plaintext")),
            (true, _) => Tls::Wrapper(tls_params()?),
            (false, Some("none")) => Tls::None,
            (false, Some(_)) => Tls::Required(tls_params()?),
            // A relay on this machine: nothing crosses a network, and a local relay rarely
            // has a certificate for "localhost".
            (false, None) if loopback => Tls::None,
            (false, None) => Tls::Required(tls_params()?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.as_str())
            .port(port)
            .tls(tls)
            .timeout(Some(timeout))
            .pool_config(PoolConfig::new().max_size(POOL_SIZE));
        if !parsed.username().is_empty() || parsed.password().is_some() {
            let decode = |s: &str| percent_decode_str(s).decode_utf8().map(|c| c.into_owned());
            let user = decode(parsed.username()).map_err(|_| bad("the user name is not valid UTF-8"))?;
            let pass = decode(parsed.password().unwrap_or_default()).map_err(|_| bad("the password is not valid UTF-8"))?;
            if user.is_empty() {
                return Err(bad("a password was given without a user name"));
            }
            builder = builder.credentials(Credentials::new(user, pass));
        }
        Ok(Transport::Smtp(SmtpRelay { client: builder.build(), description, timeout }))
    }

    /// Development: each message is written atomically (temporary file, then rename) as
    /// `{dir}/{created-ms}-{outbox id}.eml`, a standard RFC 5322 file any mail client opens.
    pub fn mailbox(dir: PathBuf) -> Self {
        Transport::Mailbox(dir)
    }

    /// The per-operation SMTP timeout (none for the mailbox).
    pub fn timeout(&self) -> Option<Duration> {
        match self {
            Transport::Smtp(relay) => Some(relay.timeout),
            Transport::Mailbox(_) => None,
        }
    }

    /// Delivers `message` to its envelope recipients. `envelope_id` (the outbox id) names the
    /// mailbox file.
    ///
    /// # Errors
    /// [`SendError::Permanent`] for an SMTP 5xx, [`SendError::Transient`] for everything else.
    pub async fn send(&self, message: &Message, envelope_id: &str) -> Result<(), SendError> {
        match self {
            Transport::Smtp(relay) => {
                relay.client.send_raw(message.envelope(), &message.formatted()).await.map(drop).map_err(|e| classify(&e))
            }
            Transport::Mailbox(dir) => write_mailbox(dir, message, envelope_id).await.map_err(|e| SendError::Transient {
                code: None,
                reason: clean_reason(&format!("writing to the mailbox directory {}: {e}", dir.display())),
            }),
        }
    }
}

fn classify(e: &lettre::transport::smtp::Error) -> SendError {
    let code = e.status().and_then(|c| c.to_string().parse::<u16>().ok());
    let reason = clean_reason(&e.to_string());
    if e.is_permanent() {
        SendError::Permanent { code, reason }
    } else {
        SendError::Transient { code, reason }
    }
}

/// One line, bounded: the reason is stored in the row and logged.
fn clean_reason(s: &str) -> String {
    let one_line: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut out: String = one_line.split_whitespace().collect::<Vec<_>>().join(" ");
    if out.len() > MAX_REASON {
        let mut cut = MAX_REASON;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

async fn write_mailbox(dir: &std::path::Path, message: &Message, envelope_id: &str) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    // Every code and link sent is in these files: owner-only whatever the umask (finding 11b).
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let created_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
    // The id comes from the outbox row; keep it to characters that are safe in any file name.
    let id: String = envelope_id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    let name = format!("{created_ms}-{id}.eml");
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = options.open(&tmp).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, &message.formatted()).await?;
    file.sync_all().await?;
    drop(file);
    // A reader polling the directory sees either no file or the whole message.
    if let Err(e) = tokio::fs::rename(&tmp, dir.join(&name)).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_are_parsed_and_passwords_never_echoed() {
        let t = Duration::from_secs(5);
        assert!(matches!(Transport::smtp("smtps://u:s3cr3t@mail.example", t), Ok(Transport::Smtp(_))));
        assert!(matches!(Transport::smtp("smtp://mail.example:2525", t), Ok(Transport::Smtp(_))));
        assert!(matches!(Transport::smtp("smtp://127.0.0.1:2525", t), Ok(Transport::Smtp(_))));
        assert!(matches!(Transport::smtp("smtp://relay.internal?tls=none", t), Ok(Transport::Smtp(_))));
        for bad in [
            "http://u:s3cr3t@mail.example",
            "smtps://u:s3cr3t@mail.example?tls=none",
            "smtp://u:s3cr3t@mail.example?tls=maybe",
            "smtp://u:s3cr3t@mail.example/path",
            "smtp://:s3cr3t@mail.example",
            "smtp://u:s3cr3t@",
            "not a url s3cr3t",
        ] {
            let err = Transport::smtp(bad, t).expect_err(bad);
            assert!(!err.to_string().contains("s3cr3t"), "{err}");
        }
        let relay = Transport::smtp("smtps://u:s3cr3t@mail.example", t).expect("relay");
        assert!(!format!("{relay:?}").contains("s3cr3t"));
        assert_eq!(relay.timeout(), Some(t));
    }

    #[test]
    fn reasons_are_one_bounded_line() {
        assert_eq!(clean_reason("550 5.1.1\r\nno  such\tuser"), "550 5.1.1 no such user");
        assert!(clean_reason(&"é".repeat(400)).len() <= MAX_REASON);
    }

    #[test]
    fn creating_an_smtp_transport_outside_a_runtime_is_an_error_not_a_panic() {
        assert_eq!(Transport::smtp("smtp://127.0.0.1:25", Duration::from_secs(1)).err(), Some(TransportError::NoRuntime));
    }
}
