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

both_backends!(recovery_mail_queued_during_an_smtp_outage_arrives_once_and_promptly_after_it);

/// How long the relay stays down in the test: several retry rounds of the urgent back-off.
const SMTP_OUTAGE: Duration = Duration::from_secs(8);
const RECOVERIES: usize = 10;

async fn recovery_mail_queued_during_an_smtp_outage_arrives_once_and_promptly_after_it(backend: Backend) {
    // Production back-off (5 s doubling), not the tests' one-second base: the point is that
    // the relay's return, not the back-off, decides when the mail goes out.
    let app = spawn_app_with(backend, |s| {
        s.outbox.retry_base_secs = 5;
        s.outbox.retry_max_secs = 3600;
    })
    .await;
    let users: Vec<String> = (0..RECOVERIES).map(|i| format!("outage{i}@example.com")).collect();
    for user in &users {
        app.create_user(user).await;
    }
    app.sink.set_behavior(Behavior { refuse_connections: true, ..Behavior::default() });
    let outage_started = Instant::now();
    for (i, user) in users.iter().enumerate() {
        app.start_recovery(user, &format!("outage-{i}")).await;
    }
    tokio::time::sleep(SMTP_OUTAGE.saturating_sub(outage_started.elapsed())).await;
    assert!(app.sink.messages().is_empty(), "the relay refused everything during the outage");
    let deferred = app.state.store.outbox_messages(Some(latchkey_store::OutboxStatus::Deferred), 100).await.expect("list");
    assert!(!deferred.is_empty(), "the outage deferred the messages");

    app.sink.set_behavior(Behavior::default());
    let back = Instant::now();
    let mails = app.sink.wait_for_count(None, RECOVERIES, Duration::from_secs(30)).await.expect("every recovery email arrives");
    let last_after = back.elapsed();
    app.drain_outbox().await;
    let mails = if app.sink.messages().len() > mails.len() { app.sink.messages() } else { mails };
    assert_eq!(mails.len(), RECOVERIES, "each email exactly once");
    let recipients: HashSet<&str> = mails.iter().flat_map(|m| m.rcpt_to.iter().map(String::as_str)).collect();
    assert_eq!(recipients, users.iter().map(String::as_str).collect::<HashSet<_>>());
    let ids: HashSet<Option<&str>> = mails.iter().map(|m| m.message_id.as_deref()).collect();
    assert_eq!(ids.len(), RECOVERIES, "distinct Message-IDs");
    // A benchmark, not an assertion (ARCHITECTURE.md: timing targets are never assertions).
    eprintln!(
        "{backend:?}: {RECOVERIES} recovery emails queued during a {SMTP_OUTAGE:?} SMTP outage; the last arrived {last_after:?} after the relay's return"
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
