//! The ceilings each figure is read against, measured in the same run on the same machine:
//! a bare axum server (JSON, and one single-row write), Argon2id on every core, and the SMTP
//! sink's own acceptance rate.
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::{Algorithm, Argon2, Block, Params, Version};
use axum::routing::post;
use axum::{Json, Router};
use latchkey_store::testing::Backend;
use serde_json::{json, Value};

/// A bare axum server on its own two-worker runtime (a process of its own, as far as the
/// scheduler is concerned), stopped when dropped.
pub struct BareServer {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for BareServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs the router `build` makes (on the server's own runtime, so that any connection it opens
/// is driven there too).
fn serve<F, Fut>(build: F) -> BareServer
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Router>,
{
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        runtime.block_on(async move {
            let app = build().await;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let _ = addr_tx.send(listener.local_addr().expect("address"));
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
    });
    let addr = addr_rx.recv().expect("the bare server started");
    BareServer { addr, stop: Some(stop), thread: Some(thread) }
}

/// `POST /json`: parses a small JSON body and answers JSON, nothing else.
pub fn bare_json() -> BareServer {
    serve(|| async {
        Router::new().route("/json", post(|Json(body): Json<Value>| async move { Json(json!({"status": "ok", "echo": body["n"]})) }))
    })
}

/// `POST /write`: inserts one row, the floor under Latchkey's interact (which inserts one).
/// SQLite: one rusqlite connection (WAL, `synchronous = NORMAL`, as the store sets) behind a
/// mutex on the blocking pool. PostgreSQL: 16 tokio-postgres clients with the statement
/// prepared, picked round robin.
pub fn bare_write(backend: Backend, url: &str) -> BareServer {
    match backend {
        Backend::Sqlite => {
            let path = url.trim_start_matches("sqlite://").split('?').next().unwrap_or_default().replace("latchkey.db", "bare-write.db");
            let conn = rusqlite::Connection::open(&path).expect("open the bare-write SQLite file");
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;
                 CREATE TABLE IF NOT EXISTS bare_write (id TEXT PRIMARY KEY, created_at INTEGER NOT NULL, payload TEXT NOT NULL)",
            )
            .expect("bare-write schema");
            let conn = Arc::new(Mutex::new(conn));
            serve(move || async move {
                Router::new().route(
                    "/write",
                    post(move || {
                        let conn = conn.clone();
                        async move {
                            let written = tokio::task::spawn_blocking(move || {
                                let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
                                let mut insert =
                                    conn.prepare_cached("INSERT INTO bare_write (id, created_at, payload) VALUES (?1, ?2, ?3)")?;
                                insert.execute(rusqlite::params![new_id(), now_ms(), PAYLOAD])
                            })
                            .await;
                            Json(json!({"written": matches!(written, Ok(Ok(1)))}))
                        }
                    }),
                )
            })
        }
        Backend::Postgres => {
            let url = url.to_owned();
            serve(move || async move {
                let mut prepared = Vec::new();
                for i in 0..16 {
                    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.expect("connect tokio-postgres");
                    tokio::spawn(connection);
                    if i == 0 {
                        client
                            .batch_execute(
                                "CREATE TABLE IF NOT EXISTS bare_write (id TEXT PRIMARY KEY, created_at BIGINT NOT NULL, payload TEXT NOT NULL)",
                            )
                            .await
                            .expect("bare-write schema");
                    }
                    let statement =
                        client.prepare("INSERT INTO bare_write (id, created_at, payload) VALUES ($1, $2, $3)").await.expect("prepare");
                    prepared.push((client, statement));
                }
                let prepared = Arc::new(prepared);
                let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
                Router::new().route(
                    "/write",
                    post(move || {
                        let (prepared, next) = (prepared.clone(), next.clone());
                        async move {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % prepared.len();
                            let (client, statement) = &prepared[i];
                            let written = client.execute(statement, &[&new_id(), &now_ms(), &PAYLOAD]).await;
                            Json(json!({"written": matches!(written, Ok(1))}))
                        }
                    }),
                )
            })
        }
    }
}

/// About the size of the columns an interaction row carries.
const PAYLOAD: &str = "openid profile email|https://app.example.com/login/callback|E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn new_id() -> String {
    latchkey_domain::secret::okta_style_id("bw")
}

fn now_ms() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(0)
}

/// Argon2id computations per second on every core at the server's parameters: one thread per
/// core, each computing the hash of a stored password (what a verification costs) into working
/// memory it keeps, as the server's hasher does. (The argon2 crate's `verify_password`
/// allocates that memory on every call; glibc then maps and faults in 19 MiB each time, which
/// is no longer what the server pays.)
pub fn argon2_per_sec(memory_kib: u32, iterations: u32, parallelism: u32, duration: Duration) -> f64 {
    let params = Params::new(memory_kib, iterations, parallelism, Some(32)).expect("argon2 parameters");
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
    let started = Instant::now();
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let (argon2, blocks) = (argon2.clone(), params.block_count());
            std::thread::spawn(move || {
                let mut memory = vec![Block::default(); blocks];
                let mut out = [0u8; 32];
                let mut n = 0u64;
                while started.elapsed() < duration {
                    let ok = argon2.hash_password_into_with_memory(
                        super::server::PASSWORD.as_bytes(),
                        b"bench-salt-16byte",
                        &mut out,
                        &mut memory,
                    );
                    n += u64::from(ok.is_ok());
                }
                n
            })
        })
        .collect();
    let verified: u64 = threads.into_iter().map(|t| t.join().unwrap_or(0)).sum();
    verified as f64 / started.elapsed().as_secs_f64()
}

/// Messages per second the sink accepts: `connections` pooled SMTP connections (lettre, as the
/// outbox worker uses) sending a message of a recovery email's size, for `duration`.
pub async fn sink_per_sec(sink: &latchkey_mail_sink::MailSink, connections: u32, duration: Duration) -> f64 {
    use lettre::message::{header::ContentType, Message, MultiPart, SinglePart};
    use lettre::transport::smtp::PoolConfig;
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

    let transport: AsyncSmtpTransport<Tokio1Executor> = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(sink.smtp_addr().port())
        .pool_config(PoolConfig::new().max_size(connections))
        .build();
    let text = "Your verification code is 123456. ".repeat(40);
    let html = format!("<html><body><p>{}</p></body></html>", "Reset your password with code 123456. ".repeat(60));
    let started = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|i| {
            let (transport, text, html) = (transport.clone(), text.clone(), html.clone());
            tokio::spawn(async move {
                let mut sent = 0u64;
                while started.elapsed() < duration {
                    let message = Message::builder()
                        .from("Latchkey <no-reply@localhost>".parse().expect("from"))
                        .to(format!("ceiling{i}-{sent}@example.com").parse().expect("to"))
                        .subject("Reset your password")
                        .multipart(
                            MultiPart::alternative()
                                .singlepart(SinglePart::builder().header(ContentType::TEXT_PLAIN).body(text.clone()))
                                .singlepart(SinglePart::builder().header(ContentType::TEXT_HTML).body(html.clone())),
                        )
                        .expect("message");
                    if transport.send(message).await.is_ok() {
                        sent += 1;
                    }
                }
                sent
            })
        })
        .collect();
    let mut sent = 0;
    for task in tasks {
        sent += task.await.unwrap_or(0);
    }
    let rate = sent as f64 / started.elapsed().as_secs_f64();
    sink.clear();
    rate
}
