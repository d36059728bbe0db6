//! The performance bench (issue 12): every figure next to its ceiling, measured in one run, for
//! SQLite and PostgreSQL.
//!
//!     cargo bench -p latchkey-server --bench perf [-- [sqlite|postgres] [enumeration]]
//!
//! It starts the real `latchkey serve` binary (release build) on loopback, on a fresh database,
//! sending to a real SMTP sink (`latchkey-mail-sink`) in this process, and loads it from here
//! (keep-alive HTTP/1.1 connections, closed loop, like wrk). Ceilings run in the same process
//! on their own runtime: a bare axum JSON endpoint, a bare axum endpoint writing one row,
//! Argon2id on every core, and the sink's own acceptance rate. PostgreSQL comes from
//! `LATCHKEY_TEST_POSTGRES_URL` (default the local server). Words after `--` keep one backend,
//! or only the enumeration part, or only the cheap endpoints (`cheap`, for a profile), or only
//! the latency by user-table size (`table`: 1 thousand to 1 million users);
//! `secs=N` sets each closed-loop cell's length (default 4). docs/performance.md holds the
//! figures and how to read them.
//!
//! Under `cargo test` (no `--bench` argument) it runs in a smoke mode: the same phases on both
//! databases with tiny sizes, checking that every phase works (requests answered, emails
//! delivered) and asserting nothing about time.
mod ceilings;
mod enumeration;
mod flows;
mod load;
mod scale;
mod server;
mod table;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use latchkey_mail_sink::MailSink;
use latchkey_store::testing::Backend;
use serde_json::json;

use load::{closed_loop, Call, Stats};
use server::{Deployment, Server, PASSWORD};
use table::{ms, per_sec, Row};

/// How big each phase is: the full run, or the smoke run under `cargo test`.
struct Scale {
    smoke: bool,
    /// Each closed-loop cell.
    duration: Duration,
    /// Connections for the cheap endpoints (wrk's c=64 in the first figures).
    connections: usize,
    /// Connections doing sign-ins: enough to keep every hashing slot busy.
    sign_in_connections: usize,
    /// Recovery starts in the throughput phase (half real, half unknown).
    recovery_starts: usize,
    recovery_clients: usize,
    /// Starts at 100 per second in the Submit → email phase.
    paced_starts: usize,
    parallel_sign_ins: usize,
    /// Sign-in accounts: at most 4 parallel sign-ins each, since a fifth attempt in flight on
    /// one identifier is throttled (429) like a guessing attack.
    sign_in_users: usize,
    enumeration_samples: usize,
    /// User-table sizes for the latency-by-size row, and recoveries timed at each.
    table_sizes: Vec<u64>,
    table_samples: u64,
}

impl Scale {
    fn full() -> Scale {
        Scale {
            smoke: false,
            duration: Duration::from_secs(4),
            connections: 64,
            sign_in_connections: 8,
            recovery_starts: 1000,
            recovery_clients: 16,
            paced_starts: 500,
            parallel_sign_ins: 500,
            sign_in_users: 128,
            enumeration_samples: 200,
            table_sizes: vec![1_000, 100_000, 1_000_000],
            table_samples: 200,
        }
    }

    fn smoke() -> Scale {
        Scale {
            smoke: true,
            duration: Duration::from_millis(300),
            connections: 4,
            sign_in_connections: 2,
            recovery_starts: 8,
            recovery_clients: 4,
            paced_starts: 6,
            parallel_sign_ins: 12,
            sign_in_users: 4,
            enumeration_samples: 2,
            table_sizes: vec![20, 200],
            table_samples: 2,
        }
    }
}

/// Which phases run: all, or one part alone.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Only {
    All,
    Enumeration,
    Cheap,
    Table,
}

const PACED_PER_SEC: f64 = 100.0;
const ARGON2: (u32, u32, u32) = (19_456, 2, 1);

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut scale = if args.iter().any(|a| a == "--bench") { Scale::full() } else { Scale::smoke() };
    let words: Vec<&str> = args.iter().map(String::as_str).filter(|a| !a.starts_with('-')).collect();
    if let Some(secs) = words.iter().find_map(|w| w.strip_prefix("secs=")).and_then(|n| n.parse().ok()) {
        scale.duration = Duration::from_secs(secs);
    }
    let only = if words.contains(&"enumeration") {
        Only::Enumeration
    } else if words.contains(&"cheap") {
        Only::Cheap
    } else if words.contains(&"table") {
        Only::Table
    } else {
        Only::All
    };
    let backends: Vec<Backend> = [Backend::Sqlite, Backend::Postgres]
        .into_iter()
        .filter(|b| !words.iter().any(|w| *w == "sqlite" || *w == "postgres") || words.contains(&b.name()))
        .collect();
    if scale.smoke {
        println!("perf bench, smoke mode: tiny sizes, checks that every phase works; no figure below means anything");
    }
    machine();
    let sink = MailSink::start().await.expect("start the SMTP sink");
    for backend in backends {
        let rows = run_backend(backend, &scale, &sink, only).await;
        table::print(&format!("{} ({})", backend.name(), if scale.smoke { "smoke" } else { "full" }), &rows);
    }
}

fn machine() {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find_map(|l| l.strip_prefix("model name").map(|m| m.trim_start_matches([' ', '\t', ':']).to_owned())))
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    println!("machine: {cores} cores, {cpu}");
}

async fn run_backend(backend: Backend, scale: &Scale, sink: &MailSink, only: Only) -> Vec<Row> {
    let mut rows = Vec::new();
    let deployment = Deployment::new(backend, sink.smtp_url()).await;
    let (server, cold) = tokio::task::block_in_place(|| deployment.start(&[]));
    let idle_rss = server.rss_mib();
    let base = server.url.clone();
    let addr: SocketAddr = base.trim_start_matches("http://").parse().expect("the server's address");
    let http = flows::client();

    let real = scale.recovery_starts / 2;
    let paced_real = scale.paced_starts / 2;
    let sign_in_users: Vec<String> = (0..scale.sign_in_users).map(|i| format!("signin{i:03}@example.com")).collect();
    let recovery_users: Vec<String> = (0..real).map(|i| format!("rec{i:05}@example.com")).collect();
    let paced_users: Vec<String> = (0..paced_real).map(|i| format!("paced{i:05}@example.com")).collect();
    if only == Only::Cheap {
        cheap_endpoints(&mut rows, backend, scale, &deployment, addr, &http, &base).await;
        return rows;
    }
    if only == Only::Table {
        table_size_latency(&mut rows, backend, scale, &deployment, &base).await;
        return rows;
    }
    let started = Instant::now();
    let all: Vec<String> = sign_in_users.iter().chain(&recovery_users).chain(&paced_users).cloned().collect();
    flows::create_users(&http, &base, &all, 4).await;
    println!("{}: {} users created in {:.1} s", backend.name(), all.len(), started.elapsed().as_secs_f64());

    if only == Only::All {
        cheap_endpoints(&mut rows, backend, scale, &deployment, addr, &http, &base).await;
        sign_ins(&mut rows, scale, addr, &http, &base, &sign_in_users).await;
        recovery(&mut rows, scale, sink, &http, &base, &recovery_users, &paced_users).await;
        rss_under_burst(&mut rows, scale, &server, addr, &http, &base, &sign_in_users, idle_rss).await;
    }

    // Restart on the same database, with the mail gap at 0 for the enumeration phase (resend then
    // issues a new code: its heavier path). That needs the unsafe test settings, which also
    // turn on the controllable clock, so only this last phase runs with them.
    let stopping = tokio::task::block_in_place(|| server.stop());
    let (server, restart) = tokio::task::block_in_place(|| {
        deployment.start(&[("LATCHKEY_UNSAFE_TEST_SETTINGS", "1"), ("LATCHKEY_RECOVERY__MAIL_MIN_GAP_SECS", "0")])
    });
    rows.push(Row::new("cold start to ready (fresh database: migrations, first keys)", ms(cold.as_secs_f64() * 1000.0), "≤ 1 s"));
    rows.push(Row::new(
        "restart to ready (SIGTERM → exit, then start → ready)",
        format!(
            "{} ({} + {})",
            ms((stopping + restart).as_secs_f64() * 1000.0),
            ms(stopping.as_secs_f64() * 1000.0),
            ms(restart.as_secs_f64() * 1000.0)
        ),
        "≤ 200 ms",
    ));

    let samples = enumeration::measure(&server.url, &recovery_users[..scale.enumeration_samples.min(recovery_users.len())]).await;
    println!("\n{}: known (E) against unknown (U) identifiers", backend.name());
    for (step, name) in enumeration::STEPS.iter().enumerate() {
        enumeration::report(name, &samples.existing[step], &samples.unknown[step]);
        let (ratio, t) = enumeration::compare(&samples.existing[step], &samples.unknown[step]);
        let mut row =
            Row::new(format!("known/unknown at {name} (median ratio, Welch t)"), format!("{ratio:.3}, t = {t:.2}"), "1.00 ± 0.05, |t| < 3");
        row.ratio = format!("{ratio:.2}");
        rows.push(row);
    }
    table_size_latency(&mut rows, backend, scale, &deployment, &server.url).await;
    let log = deployment.dir().join("server.log");
    let errors = std::fs::read_to_string(&log).unwrap_or_default().lines().filter(|l| l.contains("ERROR")).count();
    if errors > 0 {
        println!("{}: the server logged {errors} errors (see {})", backend.name(), log.display());
    }
    drop(server);
    rows
}

/// Bare axum JSON against IDX introspect, and a bare one-row write against interact.
async fn cheap_endpoints(
    rows: &mut Vec<Row>,
    backend: Backend,
    scale: &Scale,
    deployment: &Deployment,
    addr: SocketAddr,
    http: &reqwest::Client,
    base: &str,
) {
    let bare = ceilings::bare_json();
    let bare_json =
        closed_loop(bare.addr, scale.connections, scale.duration, Arc::new(|n| Some(Call::json("/json", &json!({ "n": n }))))).await;
    drop(bare);
    let state_handle = flows::state_handle(http, base).await.expect("a transaction to introspect");
    let body = json!({ "stateHandle": state_handle });
    let introspect =
        closed_loop(addr, scale.connections, scale.duration, Arc::new(move |_| Some(Call::json("/idp/idx/introspect", &body)))).await;
    check(&introspect, "IDX introspect");
    check(&bare_json, "bare JSON");
    rows.push(rate_row("IDX introspect (req/s; p50, p99)", &introspect, "bare axum JSON", bare_json.per_sec(), "≥ 50 %"));

    let bare = ceilings::bare_write(backend, deployment.database_url());
    let bare_write = closed_loop(bare.addr, scale.connections, scale.duration, Arc::new(|_| Some(Call::json("/write", &json!({}))))).await;
    drop(bare);
    let form = flows::interact_form();
    let interact = closed_loop(
        addr,
        scale.connections,
        scale.duration,
        Arc::new(move |_| Some(Call::form("/oauth2/default/v1/interact", form.clone()))),
    )
    .await;
    check(&interact, "interact");
    check(&bare_write, "bare write");
    rows.push(rate_row("interact (req/s; p50, p99)", &interact, "bare axum one-row write", bare_write.per_sec(), "≥ 50 %"));
}

/// Sign-ins against the Argon2 ceiling, then IDX introspect's p99 while sign-ins saturate the CPU.
async fn sign_ins(rows: &mut Vec<Row>, scale: &Scale, addr: SocketAddr, http: &reqwest::Client, base: &str, users: &[String]) {
    let (m, t, p) = ARGON2;
    let duration = scale.duration;
    let ceiling = tokio::task::spawn_blocking(move || ceilings::argon2_per_sec(m, t, p, duration)).await.expect("argon2 ceiling");
    // One transaction per sign-in (a signed-in transaction is finished), prepared beforehand.
    // Generous: a run that uses them all up ends early, and says so.
    let needed = (ceiling * scale.duration.as_secs_f64() * 2.5) as usize + 8 * scale.sign_in_connections;
    let sign_in = sign_in_calls(http, base, users, needed).await;
    let stats = closed_loop(addr, scale.sign_in_connections, scale.duration, sign_in).await;
    check(&stats, "sign-in");
    rows.push(rate_row("sign-in, argon2id m=19456 t=2 p=1 (per s; p50, p99)", &stats, "argon2id on all cores", ceiling, "≥ 90 %"));

    let sign_in = sign_in_calls(http, base, users, needed).await;
    let state_handle = flows::state_handle(http, base).await.expect("a transaction to introspect");
    let body = json!({ "stateHandle": state_handle });
    let (signing, probe) = tokio::join!(
        closed_loop(addr, scale.sign_in_connections, scale.duration, sign_in),
        closed_loop(addr, 1, scale.duration, Arc::new(move |_| Some(Call::json("/idp/idx/introspect", &body))))
    );
    check(&signing, "sign-in under the probe");
    check(&probe, "introspect under saturation");
    rows.push(Row::new(
        "IDX introspect p99 while sign-ins saturate the CPU (p50; sign-ins/s meanwhile)",
        format!("{} ({}; {})", ms(probe.quantile_ms(0.99)), ms(probe.quantile_ms(0.5)), per_sec(signing.per_sec())),
        "< 10 ms",
    ));
}

/// `count` prepared sign-ins with the right password, spread over `users`; call `n` is the
/// `n`-th transaction, and there are no more after the last.
async fn sign_in_calls(http: &reqwest::Client, base: &str, users: &[String], count: usize) -> load::MakeCall {
    let mut calls = Vec::with_capacity(count);
    for i in 0..count {
        let state_handle = flows::state_handle(http, base).await.expect("a transaction to sign in on");
        let who = &users[i % users.len()];
        calls.push(Call::json(
            "/idp/idx/identify",
            &json!({"stateHandle": state_handle, "identifier": who, "credentials": {"passcode": PASSWORD}}),
        ));
    }
    Arc::new(move |n| usize::try_from(n).ok().and_then(|n| calls.get(n)).cloned())
}

/// Recovery starts per second until every real email is accepted, next to the sink's ceiling;
/// then Submit → email accepted at 100 starts per second.
async fn recovery(
    rows: &mut Vec<Row>,
    scale: &Scale,
    sink: &MailSink,
    http: &reqwest::Client,
    base: &str,
    real: &[String],
    paced: &[String],
) {
    sink.clear();
    // Half real, half unknown, interleaved, every identifier distinct.
    let identifiers: Arc<Vec<String>> =
        Arc::new(real.iter().enumerate().flat_map(|(i, login)| [login.clone(), format!("unknown{i:05}@example.com")]).collect());
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started_ms = epoch_ms();
    let started = Instant::now();
    let clients: Vec<_> = (0..scale.recovery_clients)
        .map(|_| {
            let (identifiers, next, http, base) = (identifiers.clone(), next.clone(), http.clone(), base.to_owned());
            tokio::spawn(async move {
                let mut failures = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(who) = identifiers.get(i) else { break };
                    if let Err(e) = flows::recovery_start(&http, &base, who).await {
                        failures.push(e);
                    }
                }
                failures
            })
        })
        .collect();
    let mut failures = Vec::new();
    for client in clients {
        failures.extend(client.await.unwrap_or_default());
    }
    let requests_done = started.elapsed();
    assert!(failures.is_empty(), "recovery starts failed: {:?}", &failures[..failures.len().min(3)]);
    let mails = sink.wait_for_count(None, real.len(), Duration::from_secs(300)).await.expect("every real recovery email arrives");
    let last_ms = mails.iter().map(|m| m.received_at_ms).max().unwrap_or(started_ms);
    let until_delivered = (last_ms.saturating_sub(started_ms)) as f64 / 1000.0;
    let rate = identifiers.len() as f64 / until_delivered.max(requests_done.as_secs_f64());
    let sink_ceiling = ceilings::sink_per_sec(sink, 16, scale.duration).await;
    let mut row = Row::new(
        format!("recovery starts until every real email is accepted ({} starts, {} clients)", identifiers.len(), scale.recovery_clients),
        format!("{} (requests done {:.2} s, last email {:.2} s)", per_sec(rate), requests_done.as_secs_f64(), until_delivered),
        "≥ 430/s, every email delivered",
    );
    // The sink accepts one message per real start: its ceiling bounds real starts at that rate.
    row.ceiling = format!("SMTP sink accepts {} (16 connections)", per_sec(sink_ceiling));
    row.ratio = format!("{:.0} %", 100.0 * rate / 2.0 / sink_ceiling);
    rows.push(row);

    // Submit → email at a steady 100 starts per second (open loop: starts are not held back by
    // slow answers).
    sink.clear();
    let submitted: Arc<std::sync::Mutex<HashMap<String, f64>>> = Arc::default();
    let started = Instant::now();
    let tasks: Vec<_> = paced
        .iter()
        .enumerate()
        .flat_map(|(i, login)| [(2 * i, login.clone(), true), (2 * i + 1, format!("paced-unknown{i:05}@example.com"), false)])
        .map(|(i, who, is_real)| {
            let (http, base, submitted) = (http.clone(), base.to_owned(), submitted.clone());
            let at = started + Duration::from_secs_f64(i as f64 / PACED_PER_SEC);
            tokio::spawn(async move {
                tokio::time::sleep_until(at.into()).await;
                let sh = flows::recovery_until_submit(&http, &base, &who).await?;
                let submit = epoch_ms_f64();
                flows::submit_email(&http, &base, &sh).await?;
                if is_real {
                    submitted.lock().unwrap_or_else(|p| p.into_inner()).insert(who, submit);
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("paced start").expect("a paced recovery start");
    }
    let achieved = (2 * paced.len()) as f64 / started.elapsed().as_secs_f64();
    let mails = sink.wait_for_count(None, paced.len(), Duration::from_secs(120)).await.expect("every paced email arrives");
    let submitted = submitted.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let latencies: Vec<f64> = mails
        .iter()
        .filter_map(|m| m.rcpt_to.first().and_then(|to| submitted.get(to)).map(|submit| m.received_at_ms as f64 - submit))
        .collect();
    assert_eq!(latencies.len(), paced.len(), "each paced email matched to its Submit");
    rows.push(Row::new(
        format!("Submit → email accepted by SMTP at {PACED_PER_SEC:.0} starts/s (p50, p99; starts/s achieved)"),
        format!("{}, {} ({})", ms(load::quantile(&latencies, 0.5)), ms(load::quantile(&latencies, 0.99)), per_sec(achieved)),
        "p99 ≤ 200 ms",
    ));
}

/// RSS idle, then at its highest while `parallel_sign_ins` sign-ins arrive at once, each on its
/// own connection; how many were refused by the bounded hashing queue.
#[allow(clippy::too_many_arguments)]
async fn rss_under_burst(
    rows: &mut Vec<Row>,
    scale: &Scale,
    server: &Server,
    addr: SocketAddr,
    http: &reqwest::Client,
    base: &str,
    users: &[String],
    idle_rss: f64,
) {
    let calls = sign_in_calls(http, base, users, scale.parallel_sign_ins).await;
    let before = server.rss_mib();
    let pid = server.pid();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let done = done.clone();
        tokio::spawn(async move {
            let mut peak = 0.0f64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(server::rss_mib(pid));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            peak
        })
    };
    let started = Instant::now();
    let burst: Vec<_> = (0..scale.parallel_sign_ins)
        .map(|n| {
            let call = calls(n as u64).expect("a prepared sign-in per parallel request");
            tokio::spawn(async move {
                let mut sender = load::connect(addr).await.map_err(|e| e.to_string())?;
                load::send(&mut sender, addr, call).await.map_err(|e| e.to_string())
            })
        })
        .collect();
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for task in burst {
        let status = task.await.map_err(|e| e.to_string()).and_then(|s| s).expect("a sign-in of the burst is answered");
        *statuses.entry(status).or_default() += 1;
    }
    let burst_time = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await.unwrap_or(f64::NAN);
    assert!(statuses.keys().all(|s| *s == 200 || *s == 503), "sign-ins of the burst: {statuses:?}");
    rows.push(Row::new("RSS idle (after start)", format!("{idle_rss:.1} MiB"), "≤ 15 MiB"));
    rows.push(Row::new(
        format!("RSS peak during {} parallel sign-ins (before the burst; answers)", scale.parallel_sign_ins),
        format!(
            "{peak:.1} MiB ({before:.1} MiB; {} signed in, {} got 503, in {:.1} s)",
            statuses.get(&200).copied().unwrap_or(0),
            statuses.get(&503).copied().unwrap_or(0),
            burst_time.as_secs_f64()
        ),
        "≤ 80 MiB",
    ));
}

/// A rate with its p50 and p99, next to the ceiling it is read against.
fn rate_row(figure: &str, ours: &Stats, ceiling_name: &str, ceiling: f64, goal: &'static str) -> Row {
    let value = format!("{} ({}, {})", per_sec(ours.per_sec()), ms(ours.quantile_ms(0.5)), ms(ours.quantile_ms(0.99)));
    Row::against(figure, value, ours.per_sec(), ceiling_name, ceiling, goal)
}

/// A phase with requests that failed is reported, not hidden; in smoke mode it fails the run.
fn check(stats: &Stats, what: &str) {
    if stats.failures > 0 {
        println!("warning: {what}: {} of {} requests failed (by status: {:?})", stats.failures, stats.latencies_us.len(), stats.failed);
    }
    assert!(!stats.latencies_us.is_empty(), "{what}: no request was answered");
    assert!(stats.failures * 100 <= stats.latencies_us.len(), "{what}: {} of {} requests failed", stats.failures, stats.latencies_us.len());
}

fn epoch_ms() -> u64 {
    u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(0)
}

fn epoch_ms_f64() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64() * 1000.0
}

/// Identify and a wrong answer as the user table grows, the users written through the store's
/// bulk import with one pre-computed hash (a million Argon2 hashes through the API would take
/// hours). Each size is compared with the smallest: the goal is flat.
async fn table_size_latency(rows: &mut Vec<Row>, backend: Backend, scale: &Scale, deployment: &Deployment, base: &str) {
    let store = latchkey_store::Store::connect(deployment.db_url()).await.expect("the bench's store");
    let hash = scale::precomputed_hash();
    let imported = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let points = scale::measure(base, &scale.table_sizes, scale.table_samples, scale::login, |total| {
        let (store, hash, imported) = (store.clone(), hash.clone(), imported.clone());
        async move { scale::import_up_to(&store, &hash, &imported, total).await }
    })
    .await;
    println!("{}: user-table sizes measured in {:.1} s", backend.name(), started.elapsed().as_secs_f64());
    store.close().await;
    let Some(first) = points.first().map(|p| (p.identify_ms.0, p.answer_ms.0)) else { return };
    for point in &points {
        let mut row = Row::new(
            format!("identify / wrong answer p50 (p99) with {} users", point.users),
            format!("{:.2} ({:.2}) / {:.2} ({:.2}) ms", point.identify_ms.0, point.identify_ms.1, point.answer_ms.0, point.answer_ms.1),
            "flat ± 10 %",
        );
        row.ratio = format!("{:.2} / {:.2}", point.identify_ms.0 / first.0, point.answer_ms.0 / first.1);
        rows.push(row);
    }
}
