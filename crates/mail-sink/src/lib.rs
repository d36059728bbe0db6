//! A real SMTP server on loopback that keeps every message it receives, for
//! tests and development. Rust tests start it in-process with
//! [`MailSink::start`]; other test suites run the `latchkey-mail-sink` binary
//! and read messages over its HTTP API.
//!
//! It accepts anything from anyone, so it only ever binds loopback addresses.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use std::time::Duration;
//! let sink = latchkey_mail_sink::MailSink::start().await?;
//! // point the server under test at sink.smtp_url(), trigger an email, then:
//! let mail = sink.wait_for_count(Some("user@example.test"), 1, Duration::from_secs(5)).await?;
//! println!("{:?}", mail[0].text);
//! # Ok(()) }
//! ```

mod http;
mod message;
mod smtp;
mod store;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use message::ReceivedMessage;
pub use store::Behavior;

use store::Store;

/// Where to listen. Port 0 picks a free port.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    pub smtp: SocketAddr,
    /// The JSON API; `None` runs SMTP only (enough for in-process Rust tests).
    pub http: Option<SocketAddr>,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions { smtp: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), http: None }
    }
}

/// A running sink. Clones share the same server; it stops at [`MailSink::shutdown`]
/// or when the last clone is dropped.
#[derive(Clone)]
pub struct MailSink {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    smtp_addr: SocketAddr,
    http_addr: Option<SocketAddr>,
    /// The server tasks hold only receivers, so dropping this (with the last
    /// handle) also stops them: no task outlives every handle by accident.
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// How long shutdown waits for the HTTP server to finish in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

impl MailSink {
    /// SMTP on `127.0.0.1` with a free port, no HTTP API.
    pub async fn start() -> anyhow::Result<MailSink> {
        Self::start_with(SinkOptions::default()).await
    }

    /// Binds both listeners before returning, so the addresses are ready to use.
    pub async fn start_with(opts: SinkOptions) -> anyhow::Result<MailSink> {
        refuse_non_loopback(opts.smtp)?;
        if let Some(http) = opts.http {
            refuse_non_loopback(http)?;
        }
        let store = Arc::new(Store::default());
        let (shutdown, shutdown_rx) = watch::channel(false);

        let smtp_listener = TcpListener::bind(opts.smtp).await.with_context(|| format!("binding the SMTP listener on {}", opts.smtp))?;
        let smtp_addr = smtp_listener.local_addr()?;
        let mut tasks = vec![tokio::spawn(smtp::serve(smtp_listener, store.clone(), shutdown_rx.clone()))];

        let http_addr = match opts.http {
            Some(addr) => {
                let listener = TcpListener::bind(addr).await.with_context(|| format!("binding the HTTP listener on {addr}"))?;
                let http_addr = listener.local_addr()?;
                let app = http::router(store.clone(), shutdown_rx.clone());
                let mut stop = shutdown_rx.clone();
                tasks.push(tokio::spawn(async move {
                    let served = axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stop.changed().await;
                        })
                        .await;
                    if let Err(error) = served {
                        tracing::warn!(%error, "mail sink HTTP server failed");
                    }
                }));
                Some(http_addr)
            }
            None => None,
        };
        tracing::info!(%smtp_addr, ?http_addr, "mail sink listening");
        Ok(MailSink { inner: Arc::new(Inner { store, smtp_addr, http_addr, shutdown, tasks: Mutex::new(tasks) }) })
    }

    pub fn smtp_addr(&self) -> SocketAddr {
        self.inner.smtp_addr
    }

    /// `smtp://127.0.0.1:PORT`, the form the server's SMTP setting takes.
    pub fn smtp_url(&self) -> String {
        format!("smtp://{}", self.inner.smtp_addr)
    }

    /// `http://127.0.0.1:PORT`, if the HTTP API was started.
    pub fn http_url(&self) -> Option<String> {
        self.inner.http_addr.map(|addr| format!("http://{addr}"))
    }

    /// Every message kept, oldest first.
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        self.inner.store.list(None)
    }

    /// Messages with `address` among the envelope recipients (case-insensitive), oldest first.
    pub fn messages_to(&self, address: &str) -> Vec<ReceivedMessage> {
        self.inner.store.list(Some(address))
    }

    /// Waits until at least `count` messages exist (to `address`, if given) and
    /// returns them all; wakes on arrival rather than polling.
    pub async fn wait_for_count(&self, address: Option<&str>, count: usize, timeout: Duration) -> anyhow::Result<Vec<ReceivedMessage>> {
        match self.inner.store.wait_for_count(address, count, timeout).await {
            Ok(messages) => Ok(messages),
            Err(found) => bail!(
                "timed out after {timeout:?} waiting for {count} message(s) to {}: found {}; all recipients so far: {:?}",
                address.unwrap_or("anyone"),
                found.len(),
                self.messages().iter().flat_map(|m| m.rcpt_to.clone()).collect::<std::collections::BTreeSet<_>>(),
            ),
        }
    }

    /// SMTP connections accepted since start (refused ones included), to check
    /// that a client reuses its connection across messages.
    pub fn connections_accepted(&self) -> u64 {
        self.inner.store.connections()
    }

    /// Forgets every message (ids keep increasing).
    pub fn clear(&self) {
        self.inner.store.clear();
    }

    /// Changes the failure simulation; takes effect at the next SMTP command.
    pub fn set_behavior(&self, behavior: Behavior) {
        self.inner.store.set_behavior(behavior);
    }

    pub fn behavior(&self) -> Behavior {
        self.inner.store.behavior()
    }

    /// Stops accepting, ends SMTP sessions, and lets in-flight HTTP requests
    /// finish (bounded by a grace period). Stops the server for every clone.
    pub async fn shutdown(self) {
        let _ = self.inner.shutdown.send(true);
        let tasks = std::mem::take(&mut *self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for mut task in tasks {
            if tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err() {
                task.abort();
            }
        }
    }
}

/// The sink accepts mail from anyone without authentication and serves it to
/// anyone over HTTP; on a public interface that would be an open mail drop.
fn refuse_non_loopback(addr: SocketAddr) -> anyhow::Result<()> {
    if !addr.ip().is_loopback() {
        bail!("refusing to listen on {addr}: the mail sink is a test tool and only binds loopback addresses (127.0.0.1, ::1)");
    }
    Ok(())
}
