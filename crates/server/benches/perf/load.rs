//! Closed-loop HTTP load in the manner of wrk: `connections` keep-alive HTTP/1.1 connections,
//! each sending its next request as soon as the previous answer is read, for a fixed time.
//! Built on hyper's client connection directly, so the load generator does as little per
//! request as the servers it measures.
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Method;
use hyper_util::rt::TokioIo;

/// One request to send: method, path, content type and body.
#[derive(Clone)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub content_type: &'static str,
    pub body: Bytes,
}

impl Call {
    pub fn json(path: &str, body: &serde_json::Value) -> Call {
        Call { method: Method::POST, path: path.to_owned(), content_type: "application/json", body: Bytes::from(body.to_string()) }
    }

    pub fn form(path: &str, body: String) -> Call {
        Call { method: Method::POST, path: path.to_owned(), content_type: "application/x-www-form-urlencoded", body: Bytes::from(body) }
    }
}

/// Latencies of answered requests (microseconds) and how many answers were not 2xx, by status
/// (0: the connection broke).
#[derive(Default, Clone)]
pub struct Stats {
    pub latencies_us: Vec<f64>,
    pub failures: usize,
    pub failed: std::collections::BTreeMap<u16, usize>,
    pub elapsed: Duration,
}

impl Stats {
    pub fn per_sec(&self) -> f64 {
        // Broken connections (status 0) have no latency; every other failure has one.
        let refused = self.failures - self.failed.get(&0).copied().unwrap_or(0);
        self.latencies_us.len().saturating_sub(refused) as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-quantile in milliseconds (`p` in 0..=1).
    pub fn quantile_ms(&self, p: f64) -> f64 {
        quantile(&self.latencies_us, p) / 1000.0
    }

    pub fn merge(&mut self, other: Stats) {
        self.latencies_us.extend(other.latencies_us);
        self.failures += other.failures;
        for (status, n) in other.failed {
            *self.failed.entry(status).or_default() += n;
        }
    }

    fn fail(&mut self, status: u16) {
        self.failures += 1;
        *self.failed.entry(status).or_default() += 1;
    }
}

pub fn quantile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = ((sorted.len() as f64 - 1.0) * p).round();
    sorted.get(index as usize).copied().unwrap_or(f64::NAN)
}

/// What request `n` (counted over all connections) is; `None` ends the run early (prepared
/// requests used up).
pub type MakeCall = Arc<dyn Fn(u64) -> Option<Call> + Send + Sync>;

/// `connections` connections for `duration`, each sending `make(n)` until the time is up or
/// `make` has no more. A connection that breaks is reopened; its request counts as a failure.
pub async fn closed_loop(addr: SocketAddr, connections: usize, duration: Duration, make: MakeCall) -> Stats {
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (make, counter) = (make.clone(), counter.clone());
            tokio::spawn(async move {
                let mut stats = Stats::default();
                'connect: while Instant::now() < deadline {
                    let Ok(mut sender) = connect(addr).await else {
                        stats.fail(0);
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    };
                    while Instant::now() < deadline {
                        let Some(call) = make(counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) else { break 'connect };
                        let sent = Instant::now();
                        match send(&mut sender, addr, call).await {
                            Ok(status) => {
                                stats.latencies_us.push(sent.elapsed().as_secs_f64() * 1e6);
                                if !(200..300).contains(&status) {
                                    stats.fail(status);
                                }
                            }
                            Err(_) => {
                                stats.fail(0);
                                continue 'connect;
                            }
                        }
                    }
                }
                stats
            })
        })
        .collect();
    let mut total = Stats::default();
    for task in tasks {
        if let Ok(stats) = task.await {
            total.merge(stats);
        }
    }
    total.elapsed = started.elapsed();
    total
}

pub type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

pub async fn connect(addr: SocketAddr) -> anyhow::Result<Sender> {
    let stream = tokio::net::TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// Sends one request on an open connection and reads the whole answer; returns the status.
pub async fn send(sender: &mut Sender, addr: SocketAddr, call: Call) -> anyhow::Result<u16> {
    sender.ready().await?;
    let mut request = hyper::Request::builder().method(call.method).uri(call.path).header(hyper::header::HOST, addr.to_string());
    if !call.content_type.is_empty() {
        request = request.header(hyper::header::CONTENT_TYPE, call.content_type);
    }
    let response = sender.send_request(request.body(Full::new(call.body))?).await?;
    let status = response.status().as_u16();
    response.into_body().collect().await?;
    Ok(status)
}
