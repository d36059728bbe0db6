//! Outages of what the server depends on: the SMTP relay and the database. Recovery mail
//! queued while the relay is down goes out exactly once and promptly once it is back; a
//! database out of reach is a 503 with Retry-After in each protocol's shape, and both recover.
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_mail_sink::Behavior;
use latchkey_store::testing::Backend;
use secrecy::ExposeSecret;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::both_backends;
use crate::helpers::{spawn_app_with, TestApp};

both_backends!(
    recovery_mail_queued_during_an_smtp_outage_arrives_once_and_promptly_after_it,
    mail_claimed_by_killed_processes_goes_out_after_the_owner_timeout,
);

/// How long the relay stays down: several retry rounds of the urgent back-off. A benchmark run
/// sets `OUTAGE_TEST_SECS` and `OUTAGE_TEST_RECOVERIES` (e.g. 20 and 40).
fn outage_shape() -> (Duration, usize) {
    let number = |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    (Duration::from_secs(number("OUTAGE_TEST_SECS", 8)), usize::try_from(number("OUTAGE_TEST_RECOVERIES", 10)).unwrap_or(10))
}

async fn recovery_mail_queued_during_an_smtp_outage_arrives_once_and_promptly_after_it(backend: Backend) {
    // Production back-off (5 s doubling), not the tests' one-second base: the point is that
    // the relay's return, not the back-off, decides when the mail goes out.
    let app = spawn_app_with(backend, |s| {
        s.outbox.retry_base_secs = 5;
        s.outbox.retry_max_secs = 3600;
    })
    .await;
    let (smtp_outage, recoveries) = outage_shape();
    let users: Vec<String> = (0..recoveries).map(|i| format!("outage{i}@example.com")).collect();
    for user in &users {
        app.create_user(user).await;
    }
    app.sink.set_behavior(Behavior { refuse_connections: true, ..Behavior::default() });
    let outage_started = Instant::now();
    for (i, user) in users.iter().enumerate() {
        app.start_recovery(user, &format!("outage-{i}")).await;
    }
    tokio::time::sleep(smtp_outage.saturating_sub(outage_started.elapsed())).await;
    assert!(app.sink.messages().is_empty(), "the relay refused everything during the outage");
    let deferred = app.state.store.outbox_messages(Some(latchkey_store::OutboxStatus::Deferred), 100).await.expect("list");
    assert!(!deferred.is_empty(), "the outage deferred the messages");

    app.sink.set_behavior(Behavior::default());
    let back = Instant::now();
    let mails = app.sink.wait_for_count(None, recoveries, Duration::from_secs(30)).await.expect("every recovery email arrives");
    let last_after = back.elapsed();
    app.drain_outbox().await;
    let mails = if app.sink.messages().len() > mails.len() { app.sink.messages() } else { mails };
    assert_eq!(mails.len(), recoveries, "each email exactly once");
    let recipients: HashSet<&str> = mails.iter().flat_map(|m| m.rcpt_to.iter().map(String::as_str)).collect();
    assert_eq!(recipients, users.iter().map(String::as_str).collect::<HashSet<_>>());
    let ids: HashSet<Option<&str>> = mails.iter().map(|m| m.message_id.as_deref()).collect();
    assert_eq!(ids.len(), recoveries, "distinct Message-IDs");
    // A benchmark, not an assertion (ARCHITECTURE.md: timing targets are never assertions).
    eprintln!(
        "{backend:?}: {recoveries} recovery emails queued during a {smtp_outage:?} SMTP outage; the last arrived {last_after:?} after the relay's return"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_out_of_reach_is_a_503_with_retry_after_and_both_recover() {
    let mut proxy = None;
    let app = spawn_app_with(Backend::Postgres, |s| {
        let real = s.database.url.as_ref().expect("a database URL").expose_secret().to_owned();
        let (started, url) = DbProxy::start(&real);
        s.database.url = Some(url.into());
        proxy = Some(started);
    })
    .await;
    let proxy = proxy.expect("the proxy started");
    let flow = app.interact("db-outage").await;
    assert_eq!(readyz(&app).await.0, 200);

    proxy.set_open(false);
    let (status, retry_after) = readyz(&app).await;
    assert_eq!(status, 503, "/readyz while the database is out of reach");
    assert!(retry_after.is_some(), "Retry-After on /readyz");
    let (status, retry_after, body) = introspect(&app, &flow.interaction_handle).await;
    assert_eq!(status, 503, "IDX introspect while the database is out of reach: {body}");
    assert!(retry_after.is_some_and(|secs| secs >= 1), "Retry-After on the IDX 503");
    assert_eq!(body["messages"]["value"][0]["i18n"]["key"], "E0000009", "the IDX envelope: {body}");
    let token = app
        .http
        .post(format!("{}/v1/token", app.issuer()))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", crate::helpers::PUBLIC_CLIENT)])
        .send()
        .await
        .expect("token request");
    assert_eq!(token.status(), 503, "the OAuth token endpoint: {:?}", token.headers());
    assert!(token.headers().contains_key("retry-after"));
    let oauth: Value = token.json().await.expect("json");
    assert_eq!(oauth["error"], "temporarily_unavailable");
    let admin = app.admin_get("/api/v1/users?limit=1").await;
    assert_eq!(admin.status(), 503, "the admin API");
    assert!(admin.headers().contains_key("retry-after"));
    let admin: Value = admin.json().await.expect("json");
    assert_eq!(admin["errorCode"], "E0000010");

    proxy.set_open(true);
    let deadline = Instant::now() + Duration::from_secs(15);
    while readyz(&app).await.0 != 200 {
        assert!(Instant::now() < deadline, "/readyz did not recover");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _, body) = introspect(&app, &flow.interaction_handle).await;
    assert_eq!(status, 200, "introspect after the database came back: {body}");
}

async fn readyz(app: &TestApp) -> (u16, Option<u64>) {
    let response = app.http.get(format!("{}/readyz", app.base)).send().await.expect("readyz");
    (response.status().as_u16(), retry_after(&response))
}

async fn introspect(app: &TestApp, handle: &str) -> (u16, Option<u64>, Value) {
    let response = app
        .http
        .post(format!("{}/idp/idx/introspect", app.base))
        .header("Content-Type", "application/ion+json; okta-version=1.0.0")
        .json(&json!({"interactionHandle": handle}))
        .send()
        .await
        .expect("introspect");
    let status = response.status().as_u16();
    let retry = retry_after(&response);
    (status, retry, response.json().await.unwrap_or(Value::Null))
}

fn retry_after(response: &reqwest::Response) -> Option<u64> {
    response.headers().get("retry-after")?.to_str().ok()?.parse().ok()
}

/// A TCP proxy in front of PostgreSQL with a switch: off drops every open connection and
/// closes each new one at once (what a restarting database or a broken network looks like to
/// the pool); on forwards again.
struct DbProxy {
    open: Arc<watch::Sender<bool>>,
}

impl DbProxy {
    /// Starts the proxy for the database at `real_url`; returns it and the URL through it.
    fn start(real_url: &str) -> (Self, String) {
        let parsed = url::Url::parse(real_url).expect("a database URL");
        let upstream = format!("{}:{}", parsed.host_str().expect("a host"), parsed.port().unwrap_or(5432));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr: SocketAddr = listener.local_addr().expect("address");
        let (open, _) = watch::channel(true);
        let open = Arc::new(open);
        let switch = open.clone();
        tokio::spawn(async move {
            let listener = TcpListener::from_std(listener).expect("tokio listener");
            while let Ok((client, _)) = listener.accept().await {
                if !*switch.borrow() {
                    drop(client);
                    continue;
                }
                let mut closed = switch.subscribe();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
                    let mut client = client;
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = closed.wait_for(|open| !*open) => {}
                    }
                });
            }
        });
        let mut through = parsed;
        through.set_host(Some("127.0.0.1")).expect("host");
        through.set_port(Some(addr.port())).expect("port");
        (Self { open }, through.to_string())
    }

    fn set_open(&self, open: bool) {
        self.open.send_replace(open);
    }
}

/// Processes killed with SIGKILL while their sends were in flight (the real binary, eight
/// times in a row): the mail they had claimed goes out once the last killed process's heartbeat
/// is older than the owner timeout, not after a 90-second lease. Reports how long after the
/// last start every message had arrived; duplicates are allowed (at least once, same
/// Message-ID).
async fn mail_claimed_by_killed_processes_goes_out_after_the_owner_timeout(backend: Backend) {
    const KILLS: usize = 8;
    const MESSAGES: usize = 8;
    let sink = latchkey_mail_sink::MailSink::start().await.expect("sink");
    // The relay hangs after DATA for a minute: every send is still in flight when its process is
    // killed (the sink records those only long after this test has measured).
    sink.set_behavior(Behavior { delay_per_message: Duration::from_secs(60), ..Behavior::default() });
    let db = latchkey_store::testing::fresh(backend).await;
    let data_dir = crate::helpers::TempDir(
        std::env::temp_dir().join(format!("latchkey-kill-{}", latchkey_domain::secret::okta_style_id("").to_lowercase())),
    );
    std::fs::create_dir_all(&data_dir.0).expect("data dir");
    // PostgreSQL needs the master key from outside the database; every start shares it.
    let master_key = data_dir.0.join("master.key");
    std::fs::write(&master_key, latchkey_domain::BearerToken::generate().expose().as_bytes().get(..32).expect("32 bytes"))
        .expect("write master key");
    let start = || Binary::start(&data_dir.0, &master_key, &db.url, &sink.smtp_url());

    let first = start();
    let http = reqwest::Client::new();
    for i in 0..MESSAGES {
        let login = format!("killed{i}@example.com");
        let created = http
            .post(format!("{}/api/v1/users?activate=true", first.url))
            .header("Authorization", format!("SSWS {}", crate::helpers::ADMIN_TOKEN))
            .json(&json!({"profile": {"login": login, "email": login, "firstName": "K", "lastName": "U"},
                          "credentials": {"password": {"value": crate::helpers::PASSWORD}}}))
            .send()
            .await
            .expect("create");
        assert_eq!(created.status(), 200, "create user");
        let reset = http
            .post(format!("{}/api/v1/users/{login}/lifecycle/reset_password?sendEmail=true", first.url))
            .header("Authorization", format!("SSWS {}", crate::helpers::ADMIN_TOKEN))
            .send()
            .await
            .expect("reset");
        assert_eq!(reset.status(), 200, "reset_password");
    }
    let mut process = first;
    for _ in 0..KILLS {
        // Kill while a send is in flight (or after a second at most).
        let accepted = sink.connections_accepted();
        let deadline = Instant::now() + Duration::from_secs(1);
        while sink.connections_accepted() == accepted && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        process.kill();
        process = start();
    }
    let restarted = Instant::now();
    sink.set_behavior(Behavior::default());
    let deadline = Instant::now() + Duration::from_secs(120);
    let all_in = loop {
        let ids: HashSet<String> = sink.messages().into_iter().filter_map(|m| m.message_id).collect();
        if ids.len() >= MESSAGES {
            break restarted.elapsed();
        }
        assert!(Instant::now() < deadline, "only {} of {MESSAGES} messages arrived", ids.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let received = sink.messages().len();
    eprintln!(
        "{backend:?}: after {KILLS} SIGKILLs mid-send, every one of {MESSAGES} messages had arrived {all_in:?} after the last start ({received} received, {} duplicates)",
        received - MESSAGES
    );
    process.kill();
}

/// The `latchkey serve` binary on a given database and SMTP relay.
struct Binary {
    child: std::process::Child,
    url: String,
}

impl Binary {
    fn start(data_dir: &std::path::Path, master_key: &std::path::Path, database_url: &str, smtp_url: &str) -> Self {
        use std::io::{BufRead, BufReader};
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_latchkey"));
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("LATCHKEY_")) {
            command.env_remove(name);
        }
        let mut child = command
            .arg("serve")
            .env("LATCHKEY_DATA_DIR", data_dir)
            .env("LATCHKEY_LISTEN", "127.0.0.1:0")
            .env("LATCHKEY_METRICS_LISTEN", "127.0.0.1:0")
            .env("LATCHKEY_DATABASE_URL", database_url)
            .env("LATCHKEY_MASTER_KEY_FILE", master_key)
            .env("LATCHKEY_ADMIN_TOKEN", crate::helpers::ADMIN_TOKEN)
            .env("LATCHKEY_SMTP_URL", smtp_url)
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the latchkey binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines.next().expect("the binary printed its address").expect("stdout");
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.trim().to_owned();
            }
        };
        // Keep reading so the binary never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        Self { child, url }
    }

    /// SIGKILL: no clean shutdown, the heartbeat row stays and ages.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        self.kill();
    }
}
