//! Accepting connections. `axum::serve` reads request heads with no deadline, accepts any
//! number of connections and buffers ~400 KB of headers, so a few slowloris clients could hold
//! every socket and file descriptor (finding 4, security-checklist INP-1). This loop drives
//! hyper's HTTP/1 connection itself: a request head must arrive within
//! `server.header_read_timeout_secs` of the connection opening or going idle, it may be at most
//! [`MAX_HEADER_BYTES`] (431 beyond), and at most `server.max_connections` are served at once.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// The request line and headers together (INP-1: 16 KiB, else 431).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// The address a connection was accepted on, for handlers that must know which interface a
/// request came in through (the dev mailbox answers on loopback only).
#[derive(Debug, Clone, Copy)]
pub struct LocalAddr(pub SocketAddr);

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `app` on `listener` until `shutdown` is cancelled, then lets open connections finish
/// their requests for at most `grace`.
pub async fn serve(listener: TcpListener, app: Router, limits: ConnectionLimits, shutdown: CancellationToken, grace: Duration) {
    let mut slots = Slots::new(effective_max_connections(limits.max_connections, open_file_limit()));
    while let Some(slot) = slots.acquire(&shutdown).await {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    pause_after_accept_error(error).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        // Unknown (it never is in practice) reads as a non-loopback address: the stricter answer.
        let local = stream.local_addr().unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
        tokio::spawn(serve_connection(stream, peer, local, app.clone(), limits.header_read_timeout, shutdown.clone(), slot));
    }
    drop(listener);
    slots.drain(grace).await;
}

/// One slot per open connection. A connection is accepted only once it has a slot, so beyond
/// the cap clients wait in the kernel's listen backlog instead of costing us a descriptor.
struct Slots {
    semaphore: Arc<Semaphore>,
    max: usize,
    last_warning: Option<Instant>,
}

impl Slots {
    fn new(max: usize) -> Self {
        Self { semaphore: Arc::new(Semaphore::new(max)), max, last_warning: None }
    }

    /// A free slot, waiting for one if all are taken; `None` once `shutdown` is cancelled.
    async fn acquire(&mut self, shutdown: &CancellationToken) -> Option<OwnedSemaphorePermit> {
        if let Ok(slot) = self.semaphore.clone().try_acquire_owned() {
            return Some(slot);
        }
        // At most one line a minute: a flood of connections must not flood the log too.
        if self.last_warning.is_none_or(|at| at.elapsed() >= LIMIT_WARNING_INTERVAL) {
            tracing::warn!(
                max_connections = self.max,
                "connection limit reached: new connections wait until one closes (server.max_connections)"
            );
            self.last_warning = Some(Instant::now());
        }
        tokio::select! {
            slot = self.semaphore.clone().acquire_owned() => Some(slot.expect("the connection semaphore is never closed")),
            () = shutdown.cancelled() => None,
        }
    }

    /// Waits until every connection has ended (each holds its slot until then), for at most
    /// `grace`.
    async fn drain(&self, grace: Duration) {
        let all = u32::try_from(self.max).unwrap_or(u32::MAX);
        if tokio::time::timeout(grace, self.semaphore.acquire_many(all)).await.is_err() {
            tracing::warn!(grace_secs = grace.as_secs(), "connections still open after the shutdown grace period are cut off");
        }
    }
}

/// How often a saturated server repeats its connection-limit warning.
const LIMIT_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// File descriptors kept for everything but client connections: the database pool, SQLite's
/// journal files, the listener, SMTP connections, mailbox writes and the runtime itself.
const RESERVED_FDS: usize = 128;

/// The cap actually applied: the configured one, lowered (with a warning) when the process's
/// open-file limit cannot hold that many connections plus [`RESERVED_FDS`]. Above it, accept
/// would fail with EMFILE before the cap is ever reached, and so would opening the database.
fn effective_max_connections(configured: usize, open_file_limit: Option<usize>) -> usize {
    let Some(limit) = open_file_limit else { return configured };
    let room = limit.saturating_sub(RESERVED_FDS).max(1);
    if configured <= room {
        return configured;
    }
    tracing::warn!(
        configured,
        open_file_limit = limit,
        applied = room,
        "server.max_connections does not fit the open-file limit (ulimit -n); raise the limit or lower the setting"
    );
    room
}

/// The soft `RLIMIT_NOFILE`, read from `/proc` (Linux; `None` elsewhere or when unlimited).
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    parse_open_file_limit(&limits)
}

fn parse_open_file_limit(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

/// A failed accept is the client's problem (it reset the connection before we took it) or a
/// resource limit (out of file descriptors). The loop must not spin on the latter.
async fn pause_after_accept_error(error: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(error.kind(), ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    local: SocketAddr,
    app: Router,
    header_read_timeout: Duration,
    shutdown: CancellationToken,
    _slot: OwnedSemaphorePermit,
) {
    let service = app.map_request(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(LocalAddr(local));
        request.map(Body::new)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(header_read_timeout).max_header_size(MAX_HEADER_BYTES);
    let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::pin!(connection);
    let outcome = tokio::select! {
        outcome = connection.as_mut() => outcome,
        () = shutdown.cancelled() => {
            // Finishes the request in flight, then closes; an idle connection closes at once.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    // Timeouts, oversized heads and resets end here: the client's doing, not worth a warning.
    if let Err(error) = outcome {
        tracing::debug!(%error, "connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_inside_the_open_file_limit() {
        assert_eq!(effective_max_connections(512, None), 512);
        assert_eq!(effective_max_connections(512, Some(20_000)), 512);
        assert_eq!(effective_max_connections(1024, Some(1024)), 1024 - RESERVED_FDS);
        assert_eq!(effective_max_connections(1024, Some(64)), 1, "never zero: the server must still answer");
    }

    #[test]
    fn the_soft_open_file_limit_is_read_from_proc() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(parse_open_file_limit(limits), Some(1024));
        assert_eq!(parse_open_file_limit("Max open files            unlimited            unlimited            files\n"), None);
        assert_eq!(parse_open_file_limit(""), None);
    }
}
