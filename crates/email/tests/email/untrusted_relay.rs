//! An SMTP relay whose TLS certificate no client should trust (security-checklist EML-3): a
//! self-signed certificate for 127.0.0.1, made by the `openssl` command for each test. One port
//! offers STARTTLS, the other speaks TLS at once (`smtps://`). It records what clients did.
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;

#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Commands received before TLS (STARTTLS port only).
    pub plaintext_commands: Vec<String>,
    pub handshakes_refused: usize,
    pub handshakes_completed: usize,
}

pub struct UntrustedRelay {
    pub starttls_port: u16,
    pub implicit_port: u16,
    seen: Arc<Mutex<Seen>>,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl UntrustedRelay {
    pub async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("latchkey-untrusted-relay-{}", std::process::id() ^ rand::random::<u32>()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let (key, cert) = (dir.join("key.pem"), dir.join("cert.pem"));
        let made = std::process::Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
            .args(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("the openssl command makes a self-signed certificate");
        assert!(made.status.success(), "openssl: {}", String::from_utf8_lossy(&made.stderr));
        let certs = CertificateDer::pem_file_iter(&cert).expect("cert").collect::<Result<Vec<_>, _>>().expect("cert");
        let key = PrivateKeyDer::from_pem_file(&key).expect("key");
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocols")
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let starttls = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let implicit = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let relay = Self {
            starttls_port: starttls.local_addr().expect("addr").port(),
            implicit_port: implicit.local_addr().expect("addr").port(),
            seen: seen.clone(),
            _dir: TempDir(dir),
        };
        for (listener, implicit_tls) in [(starttls, false), (implicit, true)] {
            let (acceptor, seen) = (acceptor.clone(), seen.clone());
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(stream, implicit_tls, acceptor.clone(), seen.clone()));
                }
            });
        }
        relay
    }

    pub fn seen(&self) -> Seen {
        self.seen.lock().expect("lock").clone()
    }

    /// What the relay saw once it has recorded `handshakes` ended handshakes (refused or
    /// completed), or after 10 s: the client gives up on a handshake before the relay's own task
    /// has finished recording it, so reading at once can miss the last one.
    pub async fn seen_after(&self, handshakes: usize) -> Seen {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let seen = self.seen();
            if seen.handshakes_refused + seen.handshakes_completed >= handshakes || tokio::time::Instant::now() >= deadline {
                return seen;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

async fn serve(mut stream: TcpStream, implicit_tls: bool, acceptor: TlsAcceptor, seen: Arc<Mutex<Seen>>) {
    if !implicit_tls {
        if stream.write_all(b"220 relay.test ESMTP\r\n").await.is_err() {
            return;
        }
        let mut reader = BufReader::new(&mut stream);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let command = line.trim_end().to_owned();
            seen.lock().expect("lock").plaintext_commands.push(command.clone());
            let upper = command.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                b"250-relay.test\r\n250 STARTTLS\r\n"
            } else if upper.starts_with("STARTTLS") {
                b"220 2.0.0 Ready to start TLS\r\n"
            } else if upper.starts_with("QUIT") {
                b"221 2.0.0 Bye\r\n"
            } else {
                b"530 5.7.0 Must issue a STARTTLS command first\r\n"
            };
            if reader.get_mut().write_all(reply).await.is_err() || upper.starts_with("QUIT") {
                return;
            }
            if upper.starts_with("STARTTLS") {
                break;
            }
        }
    }
    let outcome = acceptor.accept(stream).await;
    let mut seen = seen.lock().expect("lock");
    match outcome {
        Ok(_) => seen.handshakes_completed += 1,
        Err(_) => seen.handshakes_refused += 1,
    }
}
