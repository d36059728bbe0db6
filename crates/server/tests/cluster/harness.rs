//! `Cluster`: three real `latchkey serve` processes on one fresh PostgreSQL database and one
//! master key, one SMTP sink, and Debian's HAProxy in front (round robin, no stickiness). Every
//! child process is killed when the `Cluster` is dropped, also when a test panics.
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use latchkey_mail_sink::MailSink;
use latchkey_store::testing::{fresh, Backend, TestDatabase};
use rand::RngCore;
use sqlx::{Connection, PgConnection};

pub const ADMIN_TOKEN: &str = "cluster-admin-token-0123456789abcdefghijklmnop";
pub const PUBLIC_CLIENT: &str = "cluster-public-client";
pub const REDIRECT_URI: &str = "http://127.0.0.1:7777/login/callback";
pub const PROCESSES: usize = 3;
/// How long a process, HAProxy or an email may take before a test fails: generous, because two
/// shared cores run three servers, PostgreSQL and the test at once.
const DEADLINE: Duration = Duration::from_secs(60);

/// Deletes a directory when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process killed (SIGKILL) and reaped when dropped.
struct ChildGuard(Child);

impl ChildGuard {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One `latchkey serve` process and the port it keeps across restarts.
struct Server {
    port: u16,
    /// `None` while killed. A lock so a test can kill and restart while other tasks use the
    /// cluster; it is never held across an await.
    child: Mutex<Option<ChildGuard>>,
    /// How many times it was started: names its log files.
    starts: AtomicUsize,
    /// Variables for this process only (a clock moved by libfaketime).
    own_env: Vec<(String, String)>,
}

impl Server {
    fn log_name(&self, i: usize) -> String {
        format!("server-{i}-{}.log", self.starts.load(Ordering::SeqCst).saturating_sub(1))
    }
}

pub struct Cluster {
    // Fields drop in order: the processes first, then what they use.
    servers: Vec<Server>,
    _haproxy: ChildGuard,
    /// The HAProxy URL: the public URL of every process.
    pub url: String,
    pub sink: MailSink,
    pub http: reqwest::Client,
    db: TestDatabase,
    env: Vec<(String, String)>,
    dir: PathBuf,
    _dir_guard: TempDir,
}

/// A loopback port nothing listens on right now (the OS picks it; it is released at once).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

pub fn epoch_ms() -> u64 {
    u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis()).expect("fits")
}

fn haproxy_config(listen: u16, ports: &[u16]) -> String {
    let servers: String = ports
        .iter()
        .enumerate()
        // `inter 200ms fall 2 rise 1`: a killed process leaves the rotation within two checks (until
        // then HAProxy retries refused connections on another process), one slow answer under
        // load does not take a live one out, and a restarted one rejoins at its first good check.
        .map(|(i, port)| format!("    server s{i} 127.0.0.1:{port} check inter 200ms fall 2 rise 1\n"))
        .collect();
    format!(
        "global\n    maxconn 2048\n\n\
         defaults\n    mode http\n    timeout connect 1s\n    timeout client 30s\n    timeout server 30s\n    \
         timeout check 2s\n    retries 3\n    option redispatch\n\n\
         frontend latchkey\n    bind 127.0.0.1:{listen}\n    default_backend servers\n\n\
         backend servers\n    balance roundrobin\n    option httpchk GET /readyz\n    http-check expect status 200\n    \
         # Which process answered, so tests can show that consecutive requests roam.\n    \
         http-response set-header X-Served-By %[srv_name]\n{servers}"
    )
}

impl Cluster {
    /// Starts the database, the sink, three processes (at the same time, as a deployment
    /// would) and HAProxy; returns once every process is ready and HAProxy answers.
    pub async fn start(extra_env: &[(&str, &str)]) -> Cluster {
        Self::start_with_clock_ahead(extra_env, None).await
    }

    /// As `start`, with process `ahead.0`'s clock moved by `ahead.1` (libfaketime's offset
    /// syntax, e.g. `+5m`): the machine clocks of a deployment never agree exactly.
    pub async fn start_with_clock_ahead(extra_env: &[(&str, &str)], ahead: Option<(usize, &str)>) -> Cluster {
        assert!(
            Command::new("haproxy").arg("-v").stdout(Stdio::null()).status().is_ok_and(|s| s.success()),
            "the cluster tests need Debian's haproxy on PATH: `apt-get install -y haproxy` (scripts/test installs it)"
        );
        let db = fresh(Backend::Postgres).await;
        let sink = MailSink::start().await.expect("start the SMTP sink");
        let dir = std::env::temp_dir().join(format!("latchkey-cluster-{}", latchkey_domain::secret::okta_style_id("").to_lowercase()));
        std::fs::create_dir_all(&dir).expect("cluster dir");
        let dir_guard = TempDir(dir.clone());
        let mut master = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut master);
        std::fs::write(dir.join("master.key"), master).expect("write the master key");
        std::fs::write(
            dir.join("latchkey.toml"),
            format!("[[clients]]\nclient_id = \"{PUBLIC_CLIENT}\"\nclient_name = \"Cluster SPA\"\nredirect_uris = [\"{REDIRECT_URI}\"]\n"),
        )
        .expect("write the config file");

        let proxy_port = free_port();
        let url = format!("http://127.0.0.1:{proxy_port}");
        let mut env: Vec<(String, String)> = [
            ("LATCHKEY_PUBLIC_URL", url.as_str()),
            ("LATCHKEY_DATABASE_URL", db.url.as_str()),
            ("LATCHKEY_ADMIN_TOKEN", ADMIN_TOKEN),
            ("LATCHKEY_ADMIN_EMAIL", "admin@example.com"),
            ("LATCHKEY_SMTP_URL", &sink.smtp_url()),
            ("LATCHKEY_UNSAFE_TEST_SETTINGS", "1"),
            ("LATCHKEY_OUTBOX__POLL_INTERVAL_MS", "50"),
            ("LATCHKEY_OUTBOX__RETRY_BASE_SECS", "1"),
            // Every request comes from HAProxy's loopback address: per-address budgets would
            // count the whole test as one client.
            ("LATCHKEY_RECOVERY__PER_IP_PER_HOUR", "100000"),
            ("LATCHKEY_OTP__PER_IP_FAILURES_PER_HOUR", "100000"),
            ("LATCHKEY_SIGNIN__PER_IP_FAILURES_PER_HOUR", "100000"),
            ("LATCHKEY_TOKENS__PER_IP_FAILURES_PER_HOUR", "100000"),
            ("LATCHKEY_ADMIN__PER_IP_FAILURES_PER_HOUR", "100000"),
            ("RUST_LOG", "warn"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        env.push(("LATCHKEY_MASTER_KEY_FILE".to_owned(), dir.join("master.key").display().to_string()));
        env.push(("LATCHKEY_CONFIG".to_owned(), dir.join("latchkey.toml").display().to_string()));
        env.extend(extra_env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));

        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let servers: Vec<Server> = (0..PROCESSES)
            .map(|i| Server {
                port: free_port(),
                child: Mutex::new(None),
                starts: AtomicUsize::new(0),
                own_env: match ahead {
                    Some((process, offset)) if process == i => faketime_env(offset),
                    _ => Vec::new(),
                },
            })
            .collect();
        for (i, server) in servers.iter().enumerate() {
            server.start(&dir, &env, i);
        }
        for (i, server) in servers.iter().enumerate() {
            if let Err(log) = wait_ready(&http, &dir, i, server).await {
                start_until_ready(&http, &dir, &env, i, server, log).await;
            }
        }

        let config = dir.join("haproxy.cfg");
        std::fs::write(&config, haproxy_config(proxy_port, &servers.iter().map(|s| s.port).collect::<Vec<_>>()))
            .expect("write haproxy.cfg");
        let log = std::fs::File::create(dir.join("haproxy.log")).expect("haproxy log");
        let haproxy = ChildGuard(
            Command::new("haproxy")
                .arg("-f")
                .arg(&config)
                .arg("-db")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .expect("start haproxy"),
        );
        let cluster = Cluster { url, sink, http, db, env, servers, _haproxy: haproxy, dir: dir.clone(), _dir_guard: dir_guard };
        cluster.wait_until_every_process_serves().await;
        cluster
    }

    /// The URL of process `i` itself, bypassing HAProxy.
    pub fn direct_url(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.servers[i].port)
    }

    /// Waits until HAProxy answers and has each of the processes in its rotation: a run of
    /// `PROCESSES` consecutive requests reaches every one.
    async fn wait_until_every_process_serves(&self) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..PROCESSES {
                if let Ok(response) = self.http.get(format!("{}/readyz", self.url)).send().await {
                    if response.status() == 200 {
                        if let Some(name) = response.headers().get("x-served-by").and_then(|v| v.to_str().ok()) {
                            seen.insert(name.to_owned());
                        }
                    }
                }
            }
            if seen.len() == PROCESSES {
                return;
            }
            assert!(Instant::now() < deadline, "HAProxy did not reach every process: {seen:?}\n{}", self.log("haproxy.log"));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn log(&self, name: &str) -> String {
        read_log(&self.dir.join(name))
    }

    /// SIGKILL: the process gets no chance to finish a request, a transaction or a send.
    pub fn kill(&self, i: usize) {
        if let Some(mut child) = self.servers[i].child.lock().expect("child lock").take() {
            child.kill();
        }
    }

    /// Starts process `i` again on its port (the same environment, a new process) and waits
    /// until it is ready.
    pub async fn restart(&self, i: usize) {
        self.kill(i);
        let server = &self.servers[i];
        server.start(&self.dir, &self.env, i);
        if let Err(log) = wait_ready(&self.http, &self.dir, i, server).await {
            start_until_ready(&self.http, &self.dir, &self.env, i, server, log).await;
        }
    }

    /// A direct connection to the cluster's database, for gray-box assertions.
    pub async fn db(&self) -> PgConnection {
        PgConnection::connect(&self.db.url).await.expect("connect to the cluster's database")
    }

    /// Waits until the outbox has nothing left to send. If only rows leased by a killed
    /// process are left, moves the shared test clock past their lease instead of waiting
    /// a minute for it; returns whether it did.
    pub async fn drain_outbox(&self) -> bool {
        let mut db = self.db().await;
        let deadline = Instant::now() + DEADLINE;
        let mut advanced = false;
        let mut stuck_since: Option<Instant> = None;
        loop {
            let now = db_now(&mut db).await;
            let (pending, leased): (i64, i64) = sqlx::query_as(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE lease_until > $1) FROM outbox WHERE status IN ('queued', 'deferred')",
            )
            .bind(now)
            .fetch_one(&mut db)
            .await
            .expect("count the outbox");
            if pending == 0 {
                return advanced;
            }
            if pending == leased && !advanced {
                // A live worker finishes a leased row within a second; two seconds of no
                // progress mean the lease belongs to a killed process.
                let since = *stuck_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(2) {
                    sqlx::query(
                        "INSERT INTO test_clock (id, offset_ms) VALUES (1, 120000) \
                         ON CONFLICT (id) DO UPDATE SET offset_ms = test_clock.offset_ms + 120000",
                    )
                    .execute(&mut db)
                    .await
                    .expect("advance the test clock");
                    advanced = true;
                }
            } else {
                stuck_since = None;
            }
            assert!(Instant::now() < deadline, "the outbox did not drain: {pending} pending, {leased} leased");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The database's clock as the servers read it (milliseconds, with the test clock's offset).
pub async fn db_now(db: &mut PgConnection) -> i64 {
    sqlx::query_scalar(
        "SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT + COALESCE((SELECT offset_ms FROM test_clock WHERE id = 1), 0)",
    )
    .fetch_one(db)
    .await
    .expect("read the database clock")
}

impl Server {
    fn start(&self, dir: &Path, env: &[(String, String)], i: usize) {
        let start = self.starts.fetch_add(1, Ordering::SeqCst);
        let child = spawn_server(dir, env, &self.own_env, i, self.port, start);
        *self.child.lock().expect("child lock") = Some(child);
    }
}

/// libfaketime preloaded into the process itself (not the `faketime` wrapper, which would be
/// the child that `kill` reaches). Debian's package `faketime` installs it.
fn faketime_env(offset: &str) -> Vec<(String, String)> {
    let library = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("faketime/libfaketimeMT.so.1"))
        .find(|path| path.exists())
        .expect("libfaketime: `apt-get install -y faketime` (scripts/test installs it)");
    vec![("LD_PRELOAD".to_owned(), library.display().to_string()), ("FAKETIME".to_owned(), offset.to_owned())]
}

fn spawn_server(dir: &Path, env: &[(String, String)], own_env: &[(String, String)], i: usize, port: u16, start: usize) -> ChildGuard {
    let data_dir = dir.join(format!("data-{i}"));
    std::fs::create_dir_all(&data_dir).expect("data dir");
    let log = std::fs::File::create(dir.join(format!("server-{i}-{start}.log"))).expect("server log");
    let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("serve")
        // Only what the test sets: nothing leaks in from the environment running the tests.
        .env_clear()
        .envs(env.iter().chain(own_env).map(|(k, v)| (k.as_str(), v.as_str())))
        .env("LATCHKEY_LISTEN", format!("127.0.0.1:{port}"))
        .env("LATCHKEY_METRICS_LISTEN", "127.0.0.1:0")
        .env("LATCHKEY_DATA_DIR", &data_dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start latchkey serve");
    ChildGuard(child)
}

/// A process that could not listen is started again a few times: while it was down, another
/// program on this machine may have held its port for a moment (as the source port of an
/// outgoing connection), and the port cannot change under HAProxy.
async fn start_until_ready(http: &reqwest::Client, dir: &Path, env: &[(String, String)], i: usize, server: &Server, log: String) {
    let mut log = log;
    for _ in 0..10 {
        // Only a port held by someone else is worth another try; any other failure to start
        // is a finding.
        assert!(log.contains("cannot listen on"), "process {i} exited at start:\n{log}");
        let last_line = log.lines().last().unwrap_or_default().to_owned();
        println!("process {i} exited at start ({last_line}); starting it again");
        tokio::time::sleep(Duration::from_millis(500)).await;
        server.start(dir, env, i);
        match wait_ready(http, dir, i, server).await {
            Ok(()) => return,
            Err(again) => log = again,
        }
    }
    panic!("process {i} exited at every start:\n{log}");
}

/// Waits until process `i` answers `/readyz`; `Err` with its log if it exited first.
async fn wait_ready(http: &reqwest::Client, dir: &Path, i: usize, server: &Server) -> Result<(), String> {
    let deadline = Instant::now() + DEADLINE;
    let url = format!("http://127.0.0.1:{}/readyz", server.port);
    loop {
        if let Ok(response) = http.get(&url).timeout(Duration::from_secs(2)).send().await {
            if response.status() == 200 {
                return Ok(());
            }
        }
        let log = dir.join(server.log_name(i));
        let exited = server.child.lock().expect("child lock").as_mut().and_then(|child| child.0.try_wait().ok().flatten());
        if let Some(status) = exited {
            return Err(format!("exit: {status}\n{}", read_log(&log)));
        }
        assert!(Instant::now() < deadline, "process {i} was not ready within {DEADLINE:?}:\n{}", read_log(&log));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn read_log(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let tail: Vec<&str> = text.lines().rev().take(40).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
}
