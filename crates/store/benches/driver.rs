//! Which database driver the store should use: sqlx's `Any` pool against the native sqlx pools,
//! rusqlite (the SQLite ceiling) and tokio-postgres (the PostgreSQL ceiling), on the store's
//! hot statements and its real schema.
//!
//! `cargo bench -p latchkey-store --bench driver -- [operations] [filter words…]`
//!
//! One run measures every cell side by side: for each round, statement and concurrency, every
//! driver runs back to back, so a noisy neighbour on our 2 shared cores hits all drivers alike.
//! A cell is `operations` calls split over 1 or 16 tasks; latencies are pooled over the rounds,
//! throughput is the median round's. Filter words keep the cells whose "backend driver
//! statement" label contains all of them (`-- 20000 sqlite "any " lookup` for a profile of the
//! `Any` pool alone). Every driver's call goes through the same boxed closure, so that
//! overhead (tens of nanoseconds) is common to all cells.
//! PostgreSQL comes from `LATCHKEY_BENCH_PG` (default the local server); the bench creates its
//! own database and drops it at the end. Why these figures matter: ARCHITECTURE.md, "Why this
//! driver", and docs/performance.md.
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context};
use sqlx::any::AnyPoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::SqlitePoolOptions;
use sqlx::{ConnectOptions, Connection, Executor, Row};

type Op = Arc<dyn Fn(u64) -> Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>> + Send + Sync>;

fn op<F, Fut>(f: F) -> Op
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    Arc::new(move |n| Box::pin(f(n)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stmt {
    SelectOne,
    Lookup,
    Insert,
    RateUpsert,
    Clock,
}

const STATEMENTS: [Stmt; 5] = [Stmt::SelectOne, Stmt::Lookup, Stmt::Insert, Stmt::RateUpsert, Stmt::Clock];

impl Stmt {
    fn name(self) -> &'static str {
        match self {
            Self::SelectOne => "select_1",
            Self::Lookup => "lookup",
            Self::Insert => "insert",
            Self::RateUpsert => "rate_upsert",
            Self::Clock => "clock",
        }
    }
}

/// Seeded interactions: the look-up's table holds this many live rows.
const SEEDED: u64 = 10_000;
/// Distinct rate buckets the upsert spreads over (per-address budgets rarely collide).
const BUCKETS: u64 = 1024;
const CONCURRENCY: [usize; 2] = [1, 16];
const ROUNDS: usize = 3;

// The statements exactly as the store writes them (interactions.rs, rate.rs, lib.rs `ping`
// and `Dialect::now_expr`), with `$n` placeholders that both databases accept.
const LOOKUP: &str = "SELECT id, auth_server, flow, client_id, redirect_uri, scopes, oauth_state, nonce, code_challenge, \
    step, subject_key, user_id, grant_expires_at, version, auth_time, created_at, expires_at \
    FROM interactions WHERE state_handle_digest = $1 AND expires_at > $2";
const INSERT: &str = "INSERT INTO interactions (id, handle_digest, state_handle_digest, auth_server, client_id, redirect_uri, \
    scopes, oauth_state, nonce, code_challenge, step, version, created_at, expires_at, flow) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'identify', 1, $11, $12, $13)";
const RATE: &str = "INSERT INTO rate_buckets (bucket, window_start, hits) VALUES ($1, $2, 1) \
    ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_buckets.hits + 1 WHERE rate_buckets.hits < $3 RETURNING hits";
const SELECT_ONE: &str = "SELECT 1";
const SQLITE_CLOCK: &str = "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS now";
const PG_CLOCK: &str = "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS now";

/// What `interactions::from_row` reads, decoded into owned values by every driver alike.
#[allow(dead_code)] // read only through `black_box`
#[derive(Debug)]
struct Interaction {
    id: String,
    auth_server: String,
    flow: String,
    client_id: String,
    redirect_uri: String,
    scopes: String,
    oauth_state: String,
    nonce: Option<String>,
    code_challenge: String,
    step: String,
    subject_key: Option<String>,
    user_id: Option<String>,
    grant_expires_at: Option<i64>,
    version: i64,
    auth_time: Option<i64>,
    created_at: i64,
    expires_at: i64,
}

/// Inputs shared by every driver, computed once so that no driver pays for formatting keys.
struct Fixture {
    state_digests: Vec<String>,
    buckets: Vec<String>,
    now: i64,
    window_start: i64,
}

impl Fixture {
    fn new() -> Self {
        let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(0);
        Self {
            state_digests: (0..SEEDED).map(|i| digest(i, 2)).collect(),
            buckets: (0..BUCKETS).map(|i| format!("ip:198.51.{}.{}", i / 256, i % 256)).collect(),
            now,
            window_start: now - now.rem_euclid(3_600_000),
        }
    }

    /// A seeded row's state-handle digest, spread over the index by a hash of `n`.
    fn state_digest(&self, n: u64) -> &str {
        let i = usize::try_from(mix(n) % SEEDED).unwrap_or(0);
        self.state_digests.get(i).map_or("", String::as_str)
    }

    fn bucket(&self, n: u64) -> &str {
        let i = usize::try_from(n % BUCKETS).unwrap_or(0);
        self.buckets.get(i).map_or("", String::as_str)
    }
}

/// A fresh interaction: unique ids for call `n` (the sequence never repeats within a run).
struct NewRow {
    id: String,
    handle_digest: String,
    state_digest: String,
}

impl NewRow {
    fn new(n: u64) -> Self {
        Self { id: format!("bench{n:015}"), handle_digest: digest(n, 11), state_digest: digest(n, 12) }
    }
}

const AUTH_SERVER: &str = "default";
const CLIENT_ID: &str = "0oabenchclient000000";
const REDIRECT_URI: &str = "https://app.example.com/login/callback";
const SCOPES: &str = "openid profile email";
const OAUTH_STATE: &str = "3f1c2b6e9d0a4c7b8e5f";
const CODE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const LIFETIME: i64 = 3_600_000;

/// splitmix64: cheap, well-spread keys.
fn mix(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// 64 hex characters, the length of the store's SHA-256 digests.
fn digest(n: u64, salt: u64) -> String {
    let s = salt << 56;
    format!("{:016x}{:016x}{:016x}{:016x}", mix(n ^ s), mix(n ^ s ^ 1), mix(n ^ s ^ 2), mix(n ^ s ^ 3))
}

/// A driver's five statements, and how to release its connections.
struct Opened {
    ops: [Op; 5],
    close: Pin<Box<dyn Future<Output = ()> + Send>>,
}

type Opener = Box<dyn Fn() -> Pin<Box<dyn Future<Output = anyhow::Result<Opened>> + Send>> + Send + Sync>;

/// Each cell opens its driver's pool and closes it after: seven PostgreSQL pools of 16 kept
/// open at once would pass the server's `max_connections` (100).
struct Driver {
    backend: &'static str,
    name: &'static str,
    open: Opener,
}

fn driver<F, Fut>(backend: &'static str, name: &'static str, open: F) -> Driver
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<Opened>> + Send + 'static,
{
    Driver { backend, name, open: Box::new(move || Box::pin(open())) }
}

/// A driver over one sqlx pool, connected by `$connect(url, test_before_acquire)`.
macro_rules! sqlx_driver {
    ($backend:expr, $name:expr, $connect:ident, $url:expr, $ping:expr, $clock:expr, $fx:expr) => {{
        let (url, fx): (String, Arc<Fixture>) = ($url, $fx.clone());
        driver($backend, $name, move || {
            let (url, fx) = (url.clone(), fx.clone());
            async move {
                let pool = $connect(&url, $ping).await?;
                let closing = pool.clone();
                Ok(Opened { ops: sqlx_ops!(pool, $clock, fx), close: Box::pin(async move { closing.close().await }) })
            }
        })
    }};
}

/// The five statements through one sqlx pool (`AnyPool`, `SqlitePool` or `PgPool`): the same
/// source for every pool type, so the figures differ only by driver.
macro_rules! sqlx_ops {
    ($pool:expr, $clock:expr, $fx:expr) => {{
        let pool = $pool;
        let fx: Arc<Fixture> = $fx;
        let clock: &'static str = $clock;
        let select_one = {
            let pool = pool.clone();
            op(move |_| {
                let pool = pool.clone();
                async move {
                    sqlx::query(SELECT_ONE).execute(&pool).await?;
                    Ok(())
                }
            })
        };
        let lookup = {
            let (pool, fx) = (pool.clone(), fx.clone());
            op(move |n| {
                let (pool, fx) = (pool.clone(), fx.clone());
                async move {
                    let row = sqlx::query(LOOKUP).bind(fx.state_digest(n)).bind(fx.now).fetch_optional(&pool).await?;
                    let row = row.context("a seeded interaction is missing")?;
                    std::hint::black_box(Interaction {
                        id: row.try_get("id")?,
                        auth_server: row.try_get("auth_server")?,
                        flow: row.try_get("flow")?,
                        client_id: row.try_get("client_id")?,
                        redirect_uri: row.try_get("redirect_uri")?,
                        scopes: row.try_get("scopes")?,
                        oauth_state: row.try_get("oauth_state")?,
                        nonce: row.try_get("nonce")?,
                        code_challenge: row.try_get("code_challenge")?,
                        step: row.try_get("step")?,
                        subject_key: row.try_get("subject_key")?,
                        user_id: row.try_get("user_id")?,
                        grant_expires_at: row.try_get("grant_expires_at")?,
                        version: row.try_get("version")?,
                        auth_time: row.try_get("auth_time")?,
                        created_at: row.try_get("created_at")?,
                        expires_at: row.try_get("expires_at")?,
                    });
                    Ok(())
                }
            })
        };
        let insert = {
            let (pool, fx) = (pool.clone(), fx.clone());
            op(move |n| {
                let (pool, fx) = (pool.clone(), fx.clone());
                async move {
                    let new = NewRow::new(n);
                    sqlx::query(INSERT)
                        .bind(&new.id)
                        .bind(&new.handle_digest)
                        .bind(&new.state_digest)
                        .bind(AUTH_SERVER)
                        .bind(CLIENT_ID)
                        .bind(REDIRECT_URI)
                        .bind(SCOPES)
                        .bind(OAUTH_STATE)
                        .bind(None::<&str>)
                        .bind(CODE_CHALLENGE)
                        .bind(fx.now)
                        .bind(fx.now + LIFETIME)
                        .bind("idx")
                        .execute(&pool)
                        .await?;
                    Ok(())
                }
            })
        };
        let rate = {
            let (pool, fx) = (pool.clone(), fx.clone());
            op(move |n| {
                let (pool, fx) = (pool.clone(), fx.clone());
                async move {
                    let row = sqlx::query(RATE).bind(fx.bucket(n)).bind(fx.window_start).bind(i64::MAX).fetch_optional(&pool).await?;
                    let hits: i64 = row.context("the upsert returned no row")?.try_get("hits")?;
                    std::hint::black_box(hits);
                    Ok(())
                }
            })
        };
        let clock = {
            let pool = pool.clone();
            op(move |_| {
                let pool = pool.clone();
                async move {
                    let now: i64 = sqlx::query(clock).fetch_one(&pool).await?.try_get("now")?;
                    std::hint::black_box(now);
                    Ok(())
                }
            })
        };
        [select_one, lookup, insert, rate, clock]
    }};
}

/// The pragmas `Store::connect` runs on every SQLite connection.
const SQLITE_PRAGMAS: [&str; 3] = ["PRAGMA journal_mode = WAL", "PRAGMA busy_timeout = 10000", "PRAGMA synchronous = NORMAL"];

/// `Store::connect`'s `AnyPool` for SQLite, option for option (its pool is private to the crate).
/// `test_before_acquire` is sqlx's default (true): every acquire first pings the connection,
/// one more hop to the SQLite worker thread or one more round trip to PostgreSQL. The
/// `-noping` drivers turn it off to show what that costs.
async fn any_sqlite(url: &str, test_before_acquire: bool) -> anyhow::Result<sqlx::AnyPool> {
    Ok(AnyPoolOptions::new()
        .acquire_timeout(Duration::from_secs(10))
        .max_connections(8)
        .test_before_acquire(test_before_acquire)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                for pragma in SQLITE_PRAGMAS {
                    conn.execute(pragma).await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await?)
}

async fn native_sqlite(url: &str, test_before_acquire: bool) -> anyhow::Result<sqlx::SqlitePool> {
    Ok(SqlitePoolOptions::new()
        .acquire_timeout(Duration::from_secs(10))
        .max_connections(8)
        .test_before_acquire(test_before_acquire)
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                for pragma in SQLITE_PRAGMAS {
                    conn.execute(pragma).await?;
                }
                Ok(())
            })
        })
        .connect(url)
        .await?)
}

/// `Store::connect`'s `AnyPool` for PostgreSQL. A URL with `statement-cache-capacity=0` turns
/// the per-connection prepared-statement cache off (both `Any` and native parse it).
async fn any_pg(url: &str, test_before_acquire: bool) -> anyhow::Result<sqlx::AnyPool> {
    Ok(AnyPoolOptions::new()
        .acquire_timeout(Duration::from_secs(10))
        .max_connections(16)
        .test_before_acquire(test_before_acquire)
        .connect(url)
        .await?)
}

async fn native_pg(url: &str, test_before_acquire: bool) -> anyhow::Result<sqlx::PgPool> {
    Ok(PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(10))
        .max_connections(16)
        .test_before_acquire(test_before_acquire)
        .connect(url)
        .await?)
}

/// One rusqlite connection with the same pragmas (plus `foreign_keys`, which sqlx sets).
fn rusqlite_connection(path: &std::path::Path) -> anyhow::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "busy_timeout", 10_000)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// One statement on the rusqlite connection; cached prepared statements, columns by index.
fn rusqlite_run(conn: &Mutex<rusqlite::Connection>, stmt: Stmt, n: u64, fx: &Fixture) -> anyhow::Result<()> {
    let conn = conn.lock().map_err(|_| anyhow!("a rusqlite call panicked holding the connection"))?;
    match stmt {
        Stmt::SelectOne => {
            let one: i64 = conn.prepare_cached(SELECT_ONE)?.query_row([], |r| r.get(0))?;
            std::hint::black_box(one);
        }
        Stmt::Lookup => {
            let mut st = conn.prepare_cached(LOOKUP)?;
            let record = st.query_row(rusqlite::params![fx.state_digest(n), fx.now], |r| {
                Ok(Interaction {
                    id: r.get(0)?,
                    auth_server: r.get(1)?,
                    flow: r.get(2)?,
                    client_id: r.get(3)?,
                    redirect_uri: r.get(4)?,
                    scopes: r.get(5)?,
                    oauth_state: r.get(6)?,
                    nonce: r.get(7)?,
                    code_challenge: r.get(8)?,
                    step: r.get(9)?,
                    subject_key: r.get(10)?,
                    user_id: r.get(11)?,
                    grant_expires_at: r.get(12)?,
                    version: r.get(13)?,
                    auth_time: r.get(14)?,
                    created_at: r.get(15)?,
                    expires_at: r.get(16)?,
                })
            })?;
            std::hint::black_box(record);
        }
        Stmt::Insert => {
            let new = NewRow::new(n);
            conn.prepare_cached(INSERT)?.execute(rusqlite::params![
                new.id,
                new.handle_digest,
                new.state_digest,
                AUTH_SERVER,
                CLIENT_ID,
                REDIRECT_URI,
                SCOPES,
                OAUTH_STATE,
                None::<&str>,
                CODE_CHALLENGE,
                fx.now,
                fx.now + LIFETIME,
                "idx"
            ])?;
        }
        Stmt::RateUpsert => {
            let hits: i64 =
                conn.prepare_cached(RATE)?.query_row(rusqlite::params![fx.bucket(n), fx.window_start, i64::MAX], |r| r.get(0))?;
            std::hint::black_box(hits);
        }
        Stmt::Clock => {
            let now: i64 = conn.prepare_cached(SQLITE_CLOCK)?.query_row([], |r| r.get(0))?;
            std::hint::black_box(now);
        }
    }
    Ok(())
}

fn rusqlite_ops(conn: &Arc<Mutex<rusqlite::Connection>>, fx: &Arc<Fixture>, blocking: bool) -> [Op; 5] {
    STATEMENTS.map(|stmt| {
        let (conn, fx) = (conn.clone(), fx.clone());
        op(move |n| {
            let (conn, fx) = (conn.clone(), fx.clone());
            async move {
                if blocking {
                    tokio::task::spawn_blocking(move || rusqlite_run(&conn, stmt, n, &fx)).await?
                } else {
                    rusqlite_run(&conn, stmt, n, &fx)
                }
            }
        })
    })
}

/// tokio-postgres: as many clients as the pool has connections, each with the five statements
/// prepared once, picked round-robin by call number.
struct PgClients {
    clients: Vec<(tokio_postgres::Client, [tokio_postgres::Statement; 5])>,
}

impl PgClients {
    async fn connect(url: &str, count: usize) -> anyhow::Result<Self> {
        let mut clients = Vec::with_capacity(count);
        for _ in 0..count {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    eprintln!("tokio-postgres connection ended: {e}");
                }
            });
            let statements = [
                client.prepare(SELECT_ONE).await?,
                client.prepare(LOOKUP).await?,
                client.prepare(INSERT).await?,
                client.prepare(RATE).await?,
                client.prepare(PG_CLOCK).await?,
            ];
            clients.push((client, statements));
        }
        Ok(Self { clients })
    }

    async fn run(&self, stmt: Stmt, n: u64, fx: &Fixture) -> anyhow::Result<()> {
        let i = usize::try_from(n).unwrap_or(0) % self.clients.len().max(1);
        let (client, statements) = self.clients.get(i).context("no tokio-postgres client")?;
        let [select_one, lookup, insert, rate, clock] = statements;
        match stmt {
            Stmt::SelectOne => {
                client.execute(select_one, &[]).await?;
            }
            Stmt::Lookup => {
                let r = client.query_opt(lookup, &[&fx.state_digest(n), &fx.now]).await?.context("a seeded interaction is missing")?;
                std::hint::black_box(Interaction {
                    id: r.try_get(0)?,
                    auth_server: r.try_get(1)?,
                    flow: r.try_get(2)?,
                    client_id: r.try_get(3)?,
                    redirect_uri: r.try_get(4)?,
                    scopes: r.try_get(5)?,
                    oauth_state: r.try_get(6)?,
                    nonce: r.try_get(7)?,
                    code_challenge: r.try_get(8)?,
                    step: r.try_get(9)?,
                    subject_key: r.try_get(10)?,
                    user_id: r.try_get(11)?,
                    grant_expires_at: r.try_get(12)?,
                    version: r.try_get(13)?,
                    auth_time: r.try_get(14)?,
                    created_at: r.try_get(15)?,
                    expires_at: r.try_get(16)?,
                });
            }
            Stmt::Insert => {
                let new = NewRow::new(n);
                let expires_at = fx.now + LIFETIME;
                client
                    .execute(
                        insert,
                        &[
                            &new.id,
                            &new.handle_digest,
                            &new.state_digest,
                            &AUTH_SERVER,
                            &CLIENT_ID,
                            &REDIRECT_URI,
                            &SCOPES,
                            &OAUTH_STATE,
                            &None::<&str>,
                            &CODE_CHALLENGE,
                            &fx.now,
                            &expires_at,
                            &"idx",
                        ],
                    )
                    .await?;
            }
            Stmt::RateUpsert => {
                let row = client.query_opt(rate, &[&fx.bucket(n), &fx.window_start, &i64::MAX]).await?;
                let hits: i64 = row.context("the upsert returned no row")?.try_get(0)?;
                std::hint::black_box(hits);
            }
            Stmt::Clock => {
                let now: i64 = client.query_one(clock, &[]).await?.try_get(0)?;
                std::hint::black_box(now);
            }
        }
        Ok(())
    }
}

fn tokio_postgres_ops(clients: &Arc<PgClients>, fx: &Arc<Fixture>) -> [Op; 5] {
    STATEMENTS.map(|stmt| {
        let (clients, fx) = (clients.clone(), fx.clone());
        op(move |n| {
            let (clients, fx) = (clients.clone(), fx.clone());
            async move { clients.run(stmt, n, &fx).await }
        })
    })
}

/// Seeds `SEEDED` live interactions in one transaction, then gathers planner statistics.
async fn seed<DB>(pool: &sqlx::Pool<DB>, fx: &Fixture) -> anyhow::Result<()>
where
    DB: sqlx::Database,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as sqlx::Database>::Connection: sqlx::Executor<'c, Database = DB>,
    for<'q> String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut tx = pool.begin().await?;
    for i in 0..SEEDED {
        let id = format!("seed{i:015}");
        let state_digest = fx.state_digests.get(usize::try_from(i)?).context("digest")?.clone();
        sqlx::query(INSERT)
            .bind(id)
            .bind(digest(i, 1))
            .bind(state_digest)
            .bind(AUTH_SERVER)
            .bind(CLIENT_ID)
            .bind(REDIRECT_URI)
            .bind(SCOPES)
            .bind(OAUTH_STATE)
            .bind(None::<&str>)
            .bind(CODE_CHALLENGE)
            .bind(fx.now)
            .bind(fx.now + 24 * LIFETIME)
            .bind("idx")
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}

#[derive(Default)]
struct Cell {
    latencies: Vec<Duration>,
    throughputs: Vec<f64>,
}

/// Runs `total` calls of `op` split over `tasks` tasks (after a short warm-up that also fills
/// statement caches); returns every call's latency and the wall time.
async fn measure(op: &Op, tasks: usize, total: usize, seq: &Arc<AtomicU64>) -> anyhow::Result<(Vec<Duration>, Duration)> {
    // The warm-up runs at the same concurrency, so the pool has opened its connections.
    run_tasks(op, tasks, (total / 10).clamp(4 * tasks, 400), seq).await?;
    run_tasks(op, tasks, total, seq).await
}

async fn run_tasks(op: &Op, tasks: usize, total: usize, seq: &Arc<AtomicU64>) -> anyhow::Result<(Vec<Duration>, Duration)> {
    let per_task = total.div_ceil(tasks);
    let started = Instant::now();
    let mut handles = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        let (op, seq) = (op.clone(), seq.clone());
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_task);
            for _ in 0..per_task {
                let n = seq.fetch_add(1, Ordering::Relaxed);
                let t = Instant::now();
                op(n).await?;
                latencies.push(t.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(per_task * tasks);
    for handle in handles {
        latencies.extend(handle.await??);
    }
    Ok((latencies, started.elapsed()))
}

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    let i = (sorted.len() * p / 100).min(sorted.len().saturating_sub(1));
    sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` appends `--bench`; the first number is the operations per cell, other words filter.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let total = args.iter().find_map(|a| a.parse::<usize>().ok()).unwrap_or(2000);
    let filters: Vec<String> = args.iter().filter(|a| a.parse::<usize>().is_err()).map(|a| a.to_lowercase()).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(total, &filters))
}

async fn run(total: usize, filters: &[String]) -> anyhow::Result<()> {
    let fx = Arc::new(Fixture::new());

    // SQLite: a fresh file created and migrated by the store itself.
    let dir = std::env::temp_dir().join(format!("latchkey-driver-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("bench.db");
    let sqlite_url = format!("sqlite://{}?mode=rwc", file.display());
    latchkey_store::Store::connect(&sqlite_url).await?.close().await;
    let seeding = native_sqlite(&sqlite_url, true).await?;
    seed(&seeding, &fx).await?;
    seeding.close().await;

    // PostgreSQL: a fresh database of our own, migrated by the store, dropped at the end.
    let admin_url = std::env::var("LATCHKEY_BENCH_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let db_name = format!("latchkey_driver_bench_{}", std::process::id());
    let admin_options: PgConnectOptions = admin_url.parse()?;
    let pg_url = match admin_options.connect().await {
        Ok(mut admin) => {
            admin.execute(format!("CREATE DATABASE {db_name}").as_str()).await?;
            admin.close().await?;
            // The bench database's URL: the admin URL with its database replaced (tokio-postgres
            // refuses sqlx's URL parameters, so the URL is written rather than rendered).
            let (server, _) = admin_url.split('?').next().unwrap_or_default().rsplit_once('/').context("no database in the URL")?;
            Some(format!("{server}/{db_name}"))
        }
        Err(e) => {
            eprintln!("PostgreSQL skipped: cannot connect to {admin_url}: {e}");
            None
        }
    };

    let measured = measure_all(&fx, &sqlite_url, &file, pg_url.as_deref(), total, filters).await;

    // Clean up whether or not the measurements succeeded.
    if pg_url.is_some() {
        let mut admin = admin_options.connect().await?;
        admin.execute(format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)").as_str()).await?;
        admin.close().await?;
    }
    std::fs::remove_dir_all(&dir)?;
    let (drivers, cells) = measured?;
    print_table(total, &drivers, cells)
}

async fn measure_all(
    fx: &Arc<Fixture>,
    sqlite_url: &str,
    file: &std::path::Path,
    pg_url: Option<&str>,
    total: usize,
    filters: &[String],
) -> anyhow::Result<(Vec<Driver>, Vec<((usize, Stmt, usize), Cell)>)> {
    let rusqlite = Arc::new(Mutex::new(rusqlite_connection(file)?));
    let rusqlite_driver = |name, blocking| {
        let (conn, fx) = (rusqlite.clone(), fx.clone());
        driver("sqlite", name, move || {
            let ops = rusqlite_ops(&conn, &fx, blocking);
            async move { Ok(Opened { ops, close: Box::pin(async {}) }) }
        })
    };
    let url = sqlite_url.to_owned();
    let mut drivers = vec![
        sqlx_driver!("sqlite", "any", any_sqlite, url.clone(), true, SQLITE_CLOCK, fx),
        sqlx_driver!("sqlite", "any-noping", any_sqlite, url.clone(), false, SQLITE_CLOCK, fx),
        sqlx_driver!("sqlite", "native", native_sqlite, url.clone(), true, SQLITE_CLOCK, fx),
        sqlx_driver!("sqlite", "native-noping", native_sqlite, url.clone(), false, SQLITE_CLOCK, fx),
        rusqlite_driver("rusqlite-blocking", true),
        rusqlite_driver("rusqlite-inline", false),
    ];
    if let Some(url) = pg_url {
        latchkey_store::Store::connect(url).await?.close().await;
        let seeding = native_pg(url, true).await?;
        seed(&seeding, fx).await?;
        seeding.close().await;
        let uncached = format!("{url}?statement-cache-capacity=0");
        drivers.extend([
            sqlx_driver!("postgres", "any", any_pg, url.to_owned(), true, PG_CLOCK, fx),
            sqlx_driver!("postgres", "any-noping", any_pg, url.to_owned(), false, PG_CLOCK, fx),
            sqlx_driver!("postgres", "any-nocache", any_pg, uncached.clone(), true, PG_CLOCK, fx),
            sqlx_driver!("postgres", "native", native_pg, url.to_owned(), true, PG_CLOCK, fx),
            sqlx_driver!("postgres", "native-noping", native_pg, url.to_owned(), false, PG_CLOCK, fx),
            sqlx_driver!("postgres", "native-nocache", native_pg, uncached, true, PG_CLOCK, fx),
        ]);
        let (url, fx) = (url.to_owned(), fx.clone());
        drivers.push(driver("postgres", "tokio-postgres", move || {
            let (url, fx) = (url.clone(), fx.clone());
            async move {
                let clients = Arc::new(PgClients::connect(&url, 16).await?);
                // Dropping the clients ends their connection tasks.
                Ok(Opened { ops: tokio_postgres_ops(&clients, &fx), close: Box::pin(async {}) })
            }
        }));
    }

    let label = |d: &Driver, s: Stmt| format!("{} {} {}", d.backend, d.name, s.name());
    let seq = Arc::new(AtomicU64::new(SEEDED));
    let mut cells: Vec<((usize, Stmt, usize), Cell)> = Vec::new();
    for round in 0..ROUNDS {
        eprintln!("round {}/{ROUNDS}", round + 1);
        for stmt in STATEMENTS {
            for tasks in CONCURRENCY {
                for (d, driver) in drivers.iter().enumerate() {
                    let name = label(driver, stmt);
                    if !filters.iter().all(|f| name.contains(f.as_str())) {
                        continue;
                    }
                    let opened = (driver.open)().await.with_context(|| format!("opening {name}"))?;
                    let op = opened.ops.get(stmt as usize).context("one op per statement")?;
                    let (latencies, wall) = measure(op, tasks, total, &seq).await.with_context(|| format!("{name} x{tasks}"))?;
                    let Opened { ops, close } = opened;
                    drop(ops);
                    close.await;
                    let key = (d, stmt, tasks);
                    let i = match cells.iter().position(|(k, _)| *k == key) {
                        Some(i) => i,
                        None => {
                            cells.push((key, Cell::default()));
                            cells.len() - 1
                        }
                    };
                    let cell = &mut cells.get_mut(i).context("cell just found")?.1;
                    cell.throughputs.push(latencies.len() as f64 / wall.as_secs_f64());
                    cell.latencies.extend(latencies);
                }
            }
        }
    }
    Ok((drivers, cells))
}

fn print_table(total: usize, drivers: &[Driver], mut cells: Vec<((usize, Stmt, usize), Cell)>) -> anyhow::Result<()> {
    println!("{total} operations per cell, {ROUNDS} rounds; × any = ops/s over the same backend's `any` at the same statement and tasks");
    println!();
    println!("| backend | statement | tasks | driver | p50 µs | p99 µs | ops/s | × any |");
    println!("|---|---|---:|---|---:|---:|---:|---:|");
    struct Line {
        backend: &'static str,
        driver: &'static str,
        stmt: Stmt,
        tasks: usize,
        order: (usize, usize, usize),
        p50: f64,
        p99: f64,
        ops: f64,
    }
    let mut lines = Vec::new();
    for ((d, stmt, tasks), cell) in &mut cells {
        let driver = drivers.get(*d).context("driver index")?;
        cell.latencies.sort();
        let order = (STATEMENTS.iter().position(|s| s == stmt).unwrap_or(0), *tasks, *d);
        lines.push(Line {
            backend: driver.backend,
            driver: driver.name,
            stmt: *stmt,
            tasks: *tasks,
            order,
            p50: percentile(&cell.latencies, 50),
            p99: percentile(&cell.latencies, 99),
            ops: median(&mut cell.throughputs),
        });
    }
    lines.sort_by_key(|l| (l.backend != "sqlite", l.order));
    for l in &lines {
        let any = lines.iter().find(|a| a.backend == l.backend && a.stmt == l.stmt && a.tasks == l.tasks && a.driver == "any");
        let ratio = any.map_or(String::new(), |a| format!("{:.2}", l.ops / a.ops));
        println!(
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.0} | {} |",
            l.backend,
            l.stmt.name(),
            l.tasks,
            l.driver,
            l.p50,
            l.p99,
            l.ops,
            ratio
        );
    }
    Ok(())
}
