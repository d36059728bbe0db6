//! Accepting connections. `axum::serve` reads request heads with no deadline, accepts any
//! number of connections and buffers ~400 KB of headers, so a few slowloris clients could hold
//! every socket and file descriptor (finding 4, security-checklist INP-1). This loop drives
//! hyper's HTTP/1 connection itself: a request head must arrive within
//! `server.header_read_timeout_secs` of the connection opening or going idle, it may be at most
//! [`MAX_HEADER_BYTES`] (431 beyond), and at most `server.max_connections` are served at once.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

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
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut saturated = false;
    loop {
        let permit = match slots.clone().try_acquire_owned() {
            Ok(permit) => {
                saturated = false;
                permit
            }
            Err(_) => {
                // Once per episode, not per connection: a flood would otherwise flood the log too.
                if !saturated {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached: new connections wait until one closes (server.max_connections)"
                    );
                    saturated = true;
                }
                tokio::select! {
                    permit = slots.clone().acquire_owned() => permit.expect("the connection semaphore is never closed"),
                    () = shutdown.cancelled() => break,
                }
            }
        };
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
        let local = stream.local_addr().unwrap_or(peer);
        tokio::spawn(serve_connection(stream, peer, local, app.clone(), limits.header_read_timeout, shutdown.clone(), permit));
    }
    drop(listener);
    // Every connection holds a slot until it ends, so owning all slots means all have ended.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(grace, slots.acquire_many(all)).await.is_err() {
        tracing::warn!(grace_secs = grace.as_secs(), "connections still open after the shutdown grace period are dropped");
    }
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
