//! The server under test: the real `latchkey serve` binary in its own process (so its RSS, its
//! start and its restart are its own), on a fresh database, sending to the bench's SMTP sink.
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use latchkey_store::testing::{fresh, Backend, TestDatabase};

pub const ADMIN_TOKEN: &str = "bench-admin-token-0123456789abcdefghijkl";
pub const CLIENT: &str = "bench-client";
pub const REDIRECT: &str = "http://127.0.0.1:7777/cb";
pub const PASSWORD: &str = "correct horse battery staple orbit";

/// How long a start may take before the bench gives up on it.
const START_DEADLINE: Duration = Duration::from_secs(60);

/// One database, data directory, master key and configuration: what every process of the
/// deployment shares. Dropped last, it removes the database and the directory.
pub struct Deployment {
    db: TestDatabase,
    dir: PathBuf,
    smtp_url: String,
}

impl Deployment {
    pub async fn new(backend: Backend, smtp_url: String) -> Deployment {
        let db = fresh(backend).await;
        let dir = std::env::temp_dir().join(format!("latchkey-perf-{}", latchkey_domain::secret::okta_style_id("").to_lowercase()));
        std::fs::create_dir_all(&dir).expect("bench data directory");
        std::fs::write(dir.join("master.key"), &latchkey_domain::BearerToken::generate().expose().as_bytes()[..32]).expect("master key");
        std::fs::write(
            dir.join("latchkey.toml"),
            format!("[[clients]]\nclient_id = \"{CLIENT}\"\nclient_name = \"Bench\"\nredirect_uris = [\"{REDIRECT}\"]\n"),
        )
        .expect("config file");
        Deployment { db, dir, smtp_url }
    }

    /// The deployment's database, for work the bench does through the store (the bulk import).
    pub fn db_url(&self) -> &str {
        &self.db.url
    }

    /// Starts `latchkey serve` and waits until `/readyz` answers 200. `extra` adds or overrides
    /// configuration variables.
    pub fn start(&self, extra: &[(&str, &str)]) -> (Server, Duration) {
        let dir = self.dir.display().to_string();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("server.log")).expect("server log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LATCHKEY_LISTEN", "127.0.0.1:0")
            // Metrics on a port of its own per server (the default 9464 would clash between runs).
            .env("LATCHKEY_METRICS_LISTEN", "127.0.0.1:0")
            .env("LATCHKEY_DATA_DIR", &dir)
            .env("LATCHKEY_DATABASE_URL", &self.db.url)
            .env("LATCHKEY_MASTER_KEY_FILE", self.dir.join("master.key"))
            .env("LATCHKEY_CONFIG", self.dir.join("latchkey.toml"))
            .env("LATCHKEY_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("LATCHKEY_SMTP_URL", &self.smtp_url)
            // The bench is one client address: per-address budgets would count the whole run
            // as one attacker. Raised here only (docs/performance.md, "Configuration").
            .env("LATCHKEY_RECOVERY__PER_IP_PER_HOUR", "100000000")
            .env("LATCHKEY_SIGNIN__PER_IP_FAILURES_PER_HOUR", "100000000")
            .env("LATCHKEY_OTP__PER_IP_FAILURES_PER_HOUR", "100000000")
            .env("LATCHKEY_ADMIN__PER_IP_FAILURES_PER_HOUR", "100000000")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log);
        for (key, value) in extra {
            command.env(key, value);
        }
        let started = Instant::now();
        let mut child = command.spawn().expect("start latchkey serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
        let Some(url) = line.trim().strip_prefix("listening on ").map(str::to_owned) else {
            let _ = child.kill();
            panic!("latchkey serve did not start: {line:?}; see {}", self.dir.join("server.log").display());
        };
        let server = Server { child, url };
        server.wait_ready(started);
        (server, started.elapsed())
    }

    pub fn database_url(&self) -> &str {
        &self.db.url
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A running `latchkey serve`; killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    fn wait_ready(&self, started: Instant) {
        let ready = format!("{}/readyz", self.url);
        loop {
            if ready_once(&ready) {
                return;
            }
            assert!(started.elapsed() < START_DEADLINE, "latchkey serve was not ready within {START_DEADLINE:?}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident set size in MiB (`VmRSS` of /proc/PID/status).
    pub fn rss_mib(&self) -> f64 {
        rss_mib(self.pid())
    }

    /// SIGTERM, then waits for the exit (graceful shutdown); returns how long that took.
    pub fn stop(mut self) -> Duration {
        let started = Instant::now();
        let _ = Command::new("kill").arg("-TERM").arg(self.pid().to_string()).status();
        let _ = self.child.wait();
        started.elapsed()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    kib / 1024.0
}

/// One `GET /readyz` over a plain socket (HTTP/1.0): whether it answered 200. Synchronous, so
/// the wait for a start needs no runtime and measures nothing but the server.
fn ready_once(url: &str) -> bool {
    use std::io::{Read, Write};
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let Ok(mut stream) = std::net::TcpStream::connect(host) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    if write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}
