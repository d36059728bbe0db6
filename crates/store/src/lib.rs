//! Latchkey's storage: the only crate that contains SQL.
//!
//! One `Store` serves both backends through sqlx's `Any` driver. The schema and almost every
//! statement are written once in the SQL that SQLite and PostgreSQL share; the few differences
//! (the clock expression, how a write transaction begins, row locks) live in `Dialect`. Writing
//! two near-identical implementations behind a trait would have doubled the SQL without adding
//! a single behaviour, and the one store test suite runs against both databases either way.
//!
//! # Invariants
//! - Every decision that must agree across server processes (expiry, attempt counters, rate
//!   windows, outbox claims and owner heartbeats) is made with database time (`Store::now`)
//!   inside one transaction or one atomic statement.
//! - Only digests, keyed MACs and caller-sealed ciphertext of secrets are stored.
//! - `sqlx::Error` never leaves this crate except wrapped in `StoreError::Unavailable` (the
//!   database could not be reached: callers answer 503) or `StoreError::Database`.
#![deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod account;
mod backup;
mod clients;
mod containment;
mod counters;
mod customizations;
mod factors;
mod interactions;
mod invariants;
mod keys;
mod migrate;
mod outbox;
mod password_change;
mod password_tokens;
mod policies;
mod rate;
mod recovery;
mod refresh_tokens;
mod revocations;
mod sessions;
mod stats;
mod system_log;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod themes;
mod user_import;
mod users;

use std::time::Duration;

pub use account::ProvedChange;
pub use clients::{ClientRecord, ClientSource};
pub use containment::{Containment, ContainmentTokenRecord, SecurityNotice};
pub use customizations::{Customization, CustomizationWrite};
pub use factors::{new_factor_id, FactorRecord, PasskeyAdded, TOTP_FACTOR_TYPE, TOTP_PROVIDER, WEBAUTHN_FACTOR_TYPE, WEBAUTHN_PROVIDER};
pub use interactions::{InteractionRecord, NewInteraction, SignInCompleted, SignInCompletion};
pub use keys::KeyRecord;
pub use outbox::{NewMessage, OutboxMessage, OutboxStatus};
pub use password_change::PasswordChange;
pub use password_tokens::{NewPasswordToken, PasswordTokenRecord};
pub use policies::StoredPolicies;
pub use rate::RateTicket;
pub use recovery::{ChallengeOutcome, CodeCheck, FactorCheck, IssuedChallenge, NewChallenge, NoticeComposer, ResetCompletion, SignInGate};
pub use refresh_tokens::{NewRefreshToken, RefreshRecord, RotateOutcome};
pub use sessions::SessionRecord;
pub use stats::{OutboxBacklog, PoolStats};
pub use system_log::{Audit, EventContext, LogQuery, LoggedEvent, StoredParty, USER_AGENT_LIMIT};
pub use themes::{ThemeImage, ThemeRecord};
pub use user_import::IMPORT_STATEMENT_ROWS;
pub use users::{NewUser, UserRecord};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Executor, Row};

pub use latchkey_domain::Millis;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(&'static str),
    #[error("not found")]
    NotFound,
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("could not compose a message: {0}")]
    Compose(String),
    /// The database could not be reached or the connection broke (pool timeout, refused or
    /// closed connection, I/O error, PostgreSQL shutting down). Transient by nature: adapters
    /// answer 503 with `Retry-After` instead of 500, and `/readyz` reports not ready.
    #[error("the database is unavailable: {0}")]
    Unavailable(sqlx::Error),
    /// A value the database cannot hold as text (PostgreSQL refuses NUL). Nothing Latchkey
    /// stores contains one, so such a value matches nothing: it is the client's bad input.
    #[error("a value contains a character the database cannot store")]
    InvalidText,
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl StoreError {
    /// Whether retrying later may succeed because the database itself was out of reach.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// The one place sqlx errors are sorted: connection-level failures become `Unavailable`,
/// everything else (constraint violations, bad SQL, decoding) stays `Database`.
impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        if connection_lost(&err) {
            Self::Unavailable(err)
        } else if unstorable_text(&err) {
            Self::InvalidText
        } else {
            Self::Database(err)
        }
    }
}

/// PostgreSQL's 22021 (`character_not_in_repertoire`: a NUL byte in text) and 22P05
/// (`untranslatable_character`). SQLite stores such text, and it matches nothing there either.
fn unstorable_text(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().is_some_and(|code| matches!(code.as_ref(), "22021" | "22P05")))
}

fn connection_lost(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed => true,
        // The conversation broke off mid-message, e.g. a proxy or pooler in front of PostgreSQL
        // closed the connection while its backend is down ("unexpected response from
        // SSLRequest"). The connection is discarded; a later attempt may well succeed.
        sqlx::Error::Protocol(_) => true,
        // PostgreSQL's class 08 is "connection exception"; 57P01–57P03 are an administrator
        // shutdown, a crash shutdown and "cannot connect now" (the server is starting).
        sqlx::Error::Database(db) => {
            db.code().is_some_and(|code| code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03"))
        }
        _ => false,
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Milliseconds since the epoch from the database clock.
    fn now_expr(self) -> &'static str {
        match self {
            Self::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
            Self::Postgres => "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
        }
    }

    /// SQLite has one writer: `BEGIN IMMEDIATE` takes the write lock up front, so two
    /// read-then-write transactions queue behind `busy_timeout` instead of failing with
    /// SQLITE_BUSY when the second tries to upgrade. PostgreSQL uses row locks instead.
    fn begin_write(self) -> &'static str {
        match self {
            Self::Sqlite => "BEGIN IMMEDIATE",
            Self::Postgres => "BEGIN",
        }
    }

    /// Row lock for read-then-write sequences; SQLite's immediate transaction already holds
    /// the database write lock.
    fn for_update(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE",
        }
    }
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    dialect: Dialect,
    /// Whether `now` adds the offset in `test_clock` (only with `LATCHKEY_UNSAFE_TEST_SETTINGS`).
    test_clock: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("dialect", &self.dialect).finish()
    }
}

pub(crate) type Tx = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    /// Connects and migrates. `url` is `sqlite://path` or `postgres://…`.
    pub async fn connect(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(StoreError::Corrupt("database URL must start with sqlite:// or postgres://".to_owned()));
        };
        // No ping before each acquire (sqlx's `test_before_acquire`): it cost a second hop to
        // SQLite's worker thread or a second PostgreSQL round trip on every statement
        // (docs/performance.md). sqlx still pings each connection when it is released, so one
        // that broke during use is discarded then. One that died while idle (a PostgreSQL
        // restart) is noticed by the first statement on it, which fails as `Unavailable`: that
        // request gets a 503 with `Retry-After` and the connection is discarded at release.
        let options =
            AnyPoolOptions::new().test_before_acquire(false).acquire_timeout(Duration::from_secs(10)).max_connections(match dialect {
                // Readers run in parallel under WAL; writers queue on the database lock.
                Dialect::Sqlite => 8,
                Dialect::Postgres => 16,
            });
        let options = if dialect == Dialect::Sqlite {
            options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            })
        } else {
            options
        };
        let url = if dialect == Dialect::Sqlite && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_owned()
        };
        let pool = options.connect(&url).await?;
        let store = Self { pool, dialect, test_clock: false };
        migrate::run(&store).await?;
        Ok(store)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The database clock, in milliseconds since the epoch (plus the test clock's offset when
    /// that is enabled).
    pub async fn now(&self) -> Result<Millis> {
        let row = sqlx::query(&format!("SELECT {} AS now", self.clock_expr())).fetch_one(&self.pool).await?;
        Ok(row.try_get::<i64, _>("now")?)
    }

    /// The SQL expression `now` reads: the database clock, plus the test clock's offset when
    /// that is enabled. A statement that compares with it decides by database time without a
    /// round trip of its own.
    pub(crate) fn clock_expr(&self) -> String {
        if self.test_clock {
            format!("({} + COALESCE((SELECT offset_ms FROM test_clock WHERE id = 1), 0))", self.dialect.now_expr())
        } else {
            self.dialect.now_expr().to_owned()
        }
    }

    /// The controllable clock for tests: from now on `now` adds the offset stored in the
    /// database, which every process on the same database shares and `advance_test_clock`
    /// moves. The server enables it only with `LATCHKEY_UNSAFE_TEST_SETTINGS=1`, so tests move
    /// time past a mail gap or a code's lifetime instead of sleeping.
    pub fn with_test_clock(mut self) -> Self {
        self.test_clock = true;
        self
    }

    /// Moves the test clock forward by `by` milliseconds (see `with_test_clock`).
    pub async fn advance_test_clock(&self, by: Millis) -> Result<()> {
        sqlx::query(
            "INSERT INTO test_clock (id, offset_ms) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET offset_ms = test_clock.offset_ms + $1",
        )
        .bind(by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Readiness probe: the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) async fn write_tx(&self) -> Result<Tx> {
        Ok(self.pool.begin_with(self.dialect.begin_write()).await?)
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Deletes what has expired: interactions and "Not you?" links a day past expiry, codes,
    /// mail-log entries and rate windows older than a day, outbox rows finished a week ago, and System Log events
    /// older than `log_retention`. Returns rows removed.
    pub async fn purge_expired(&self, now: Millis, log_retention: Millis) -> Result<u64> {
        let day = latchkey_domain::DAY;
        let mut removed = 0;
        let statements: [(&str, Millis); 11] = [
            ("DELETE FROM interactions WHERE expires_at < $1", now - day),
            ("DELETE FROM recovery_codes WHERE expires_at < $1", now - day),
            ("DELETE FROM recovery_mail_log WHERE sent_at < $1", now - day),
            ("DELETE FROM rate_buckets WHERE window_start < $1", now - day),
            ("DELETE FROM outbox WHERE status IN ('sent','failed','expired','suppressed') AND updated_at < $1", now - 7 * day),
            ("DELETE FROM sessions WHERE expires_at < $1 OR ended_at < $1", now - day),
            ("DELETE FROM refresh_tokens WHERE family_expires_at < $1", now - day),
            ("DELETE FROM revoked_tokens WHERE expires_at < $1", now),
            ("DELETE FROM containment_tokens WHERE expires_at < $1", now - day),
            // Heartbeats of processes that stopped without a clean shutdown.
            ("DELETE FROM outbox_owners WHERE heartbeat_at < $1", now - day),
            ("DELETE FROM system_log WHERE published < $1", now.saturating_sub(log_retention)),
        ];
        for (sql, cutoff) in statements {
            removed += sqlx::query(sql).bind(cutoff).execute(&self.pool).await?.rows_affected();
        }
        removed += outbox::expire_due(self, now).await?;
        Ok(removed)
    }
}

pub(crate) fn get_i64(row: &AnyRow, col: &str) -> Result<i64> {
    Ok(row.try_get::<i64, _>(col)?)
}

pub(crate) fn get_opt_i64(row: &AnyRow, col: &str) -> Result<Option<i64>> {
    Ok(row.try_get::<Option<i64>, _>(col)?)
}

pub(crate) fn get_str(row: &AnyRow, col: &str) -> Result<String> {
    Ok(row.try_get::<String, _>(col)?)
}

pub(crate) fn get_opt_str(row: &AnyRow, col: &str) -> Result<Option<String>> {
    Ok(row.try_get::<Option<String>, _>(col)?)
}

pub(crate) fn json_list(value: &[String]) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

pub(crate) fn parse_json_list(value: &str) -> Result<Vec<String>> {
    serde_json::from_str(value).map_err(|e| StoreError::Corrupt(format!("bad JSON list: {e}")))
}

/// Turns a unique-constraint violation into a named conflict (realworld's `on_constraint`).
pub(crate) fn conflict_on_unique(err: sqlx::Error, what: &'static str) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        if db.is_unique_violation() {
            return StoreError::Conflict(what);
        }
    }
    StoreError::from(err)
}

pub use latchkey_domain::session::credential_version;

pub(crate) fn random_id() -> String {
    latchkey_domain::secret::okta_style_id("")
}

/// The `amr` column (`AuthMethods`); NULL is the password alone.
pub(crate) fn get_methods(row: &sqlx::any::AnyRow, column: &str) -> Result<latchkey_domain::session::AuthMethods> {
    match get_opt_str(row, column)? {
        None => Ok(latchkey_domain::session::AuthMethods::Password),
        Some(text) => latchkey_domain::session::AuthMethods::parse(&text)
            .ok_or_else(|| StoreError::Corrupt(format!("{column} {text:?} is not one Latchkey writes"))),
    }
}
