//! Connection-level limits (security-checklist INP-1, finding 4): a request head must arrive
//! within the header-read timeout and fit in 16 KiB, hosted forms take 16 KiB, and a flood of
//! idle connections beyond `server.max_connections` waits instead of exhausting the process.
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::both_backends;
use crate::helpers::{spawn_app_with, TestApp};

both_backends!(
    a_slow_or_silent_client_is_disconnected_at_the_header_timeout,
    request_heads_over_16_kib_get_431,
    hosted_form_posts_over_16_kib_get_413,
    idle_connections_beyond_the_cap_wait_and_the_server_keeps_answering,
);

/// Far longer than the 1 s timeout these tests configure; only a server that never closes
/// the connection reaches it.
const DEADLINE: Duration = Duration::from_secs(15);

async fn spawn_with_short_header_timeout(backend: latchkey_store::testing::Backend, max_connections: usize) -> TestApp {
    spawn_app_with(backend, |s| {
        s.server.header_read_timeout_secs = 1;
        s.server.max_connections = max_connections;
    })
    .await
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://")).await.expect("connect")
}

/// Reads until the server closes the connection; `None` if it did not before [`DEADLINE`].
async fn read_until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    match tokio::time::timeout(DEADLINE, stream.read_to_end(&mut received)).await {
        Ok(_) => Some(received),
        Err(_) => None,
    }
}

async fn a_slow_or_silent_client_is_disconnected_at_the_header_timeout(backend: latchkey_store::testing::Backend) {
    let app = spawn_with_short_header_timeout(backend, 1024).await;
    let mut dripping = connect(&app).await;
    dripping.write_all(b"GET /healthz HTTP/1.1\r\nHost: latch").await.expect("a partial head");
    assert!(read_until_closed(&mut dripping).await.is_some(), "a partial request head holds the connection open");
    let mut silent = connect(&app).await;
    assert!(read_until_closed(&mut silent).await.is_some(), "a connection that sends nothing is held open");
}

async fn request_heads_over_16_kib_get_431(backend: latchkey_store::testing::Backend) {
    let app = spawn_with_short_header_timeout(backend, 1024).await;
    let mut stream = connect(&app).await;
    let head = format!("GET /healthz HTTP/1.1\r\nHost: latchkey.test\r\nX-Padding: {}\r\n\r\n", "a".repeat(20 * 1024));
    stream.write_all(head.as_bytes()).await.expect("send the head");
    let answer = read_until_closed(&mut stream).await.expect("the server answers and closes");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{}", answer.lines().next().unwrap_or_default());

    let fits = app.http.get(format!("{}/healthz", app.base)).header("X-Padding", "a".repeat(8 * 1024)).send().await.expect("request");
    assert_eq!(fits.status(), 200, "8 KiB of headers are fine");
}

async fn hosted_form_posts_over_16_kib_get_413(backend: latchkey_store::testing::Backend) {
    let app = spawn_with_short_header_timeout(backend, 1024).await;
    let form = format!("token=x&csrf=y&password={}", "a".repeat(100 * 1024));
    let response = app
        .http
        .post(format!("{}/signin/set-password", app.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Origin", app.base.as_str())
        .body(form)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 413);
}

async fn idle_connections_beyond_the_cap_wait_and_the_server_keeps_answering(backend: latchkey_store::testing::Backend) {
    let app = spawn_with_short_header_timeout(backend, 3).await;
    let started = Instant::now();
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(connect(&app).await);
    }
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    let response = http.get(format!("{}/healthz", app.base)).send().await.expect("healthz answers once idle connections time out");
    assert_eq!(response.status(), 200);
    // Not a timing target: with three slots held by silent clients, no request can be served
    // before the first of them times out, so an answer sooner means the cap did not hold.
    assert!(started.elapsed() >= Duration::from_millis(500), "answered after {:?}: the cap was not applied", started.elapsed());
    for mut stream in idle {
        assert!(read_until_closed(&mut stream).await.is_some(), "every idle connection is closed in turn");
    }
    // A fresh connection: the pooled one sat idle past the header timeout and is closed too.
    let fresh = reqwest::Client::builder().pool_max_idle_per_host(0).build().expect("client");
    assert_eq!(fresh.get(format!("{}/healthz", app.base)).send().await.expect("still up").status(), 200);
}

/// The real binary, flooded past its cap: the operator gets one clear line, not one per
/// connection (finding 4).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaching_the_connection_cap_is_logged_once() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};

    let dir = std::env::temp_dir().join(format!("latchkey-cap-{}", latchkey_domain::secret::okta_style_id("")));
    let mut child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve", "--dev"])
        .env("RUST_LOG", "info")
        .env("LATCHKEY_LISTEN", "127.0.0.1:0")
        .env("LATCHKEY_METRICS_LISTEN", "127.0.0.1:0")
        .env("LATCHKEY_DATA_DIR", &dir)
        .env("LATCHKEY_SERVER__MAX_CONNECTIONS", "2")
        .env("LATCHKEY_SERVER__HEADER_READ_TIMEOUT_SECS", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("ready line");
    let base = line.trim().strip_prefix("listening on ").expect("ready").to_owned();
    let mut stderr = child.stderr.take().expect("stderr");
    let collector = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = stderr.read_to_string(&mut all);
        all
    });
    let mut idle = Vec::new();
    for _ in 0..8 {
        idle.push(TcpStream::connect(base.trim_start_matches("http://")).await.expect("connect"));
    }
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    assert_eq!(http.get(format!("{base}/healthz")).send().await.expect("healthz").status(), 200);
    drop(idle);

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().expect("the server exits");
    let logs = collector.join().expect("stderr");
    let _ = std::fs::remove_dir_all(dir);
    assert!(status.success(), "a clean shutdown after the flood: {logs}");
    assert_eq!(logs.matches("connection limit reached").count(), 1, "{logs}");
    assert!(!logs.contains("panicked"), "{logs}");
}
