#![allow(clippy::panic)] // test-only module: a missing PostgreSQL must fail loudly
//! Throwaway databases for test suites: a SQLite file in a temporary directory, or a new
//! PostgreSQL database on the server named by `LATCHKEY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). PostgreSQL tests never skip silently: if
//! the server is unreachable, `fresh` fails with a message saying how to provide one.
use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use sqlx::Connection;

use crate::{OutboxStatus, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// A database that is removed when dropped.
pub struct TestDatabase {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Directory(std::path::PathBuf),
    Database { admin_url: String, name: String },
}

pub fn postgres_admin_url() -> String {
    std::env::var("LATCHKEY_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub async fn fresh(backend: Backend) -> TestDatabase {
    let suffix = latchkey_domain::secret::okta_style_id("").to_lowercase();
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("latchkey-test-{suffix}"));
            std::fs::create_dir_all(&dir).expect("create a temporary directory for the SQLite test database");
            TestDatabase { url: format!("sqlite://{}", dir.join("latchkey.db").display()), cleanup: Cleanup::Directory(dir) }
        }
        Backend::Postgres => {
            let admin_url = postgres_admin_url();
            let name = format!("latchkey_test_{suffix}");
            let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL tests need a server: could not connect to {admin_url} ({e}). \
                     Start one (scripts/test-all starts a throwaway cluster) or set LATCHKEY_TEST_POSTGRES_URL."
                )
            });
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
            let url = match admin_url.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{name}"),
                None => panic!("LATCHKEY_TEST_POSTGRES_URL must end with a database name"),
            };
            TestDatabase { url, cleanup: Cleanup::Database { admin_url, name } }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Database { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop may run inside a runtime; a separate thread with its own runtime avoids
                // blocking it and still finishes before the test process exits.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
                    rt.block_on(async move {
                        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// Runs each named test body (an `async fn name(backend: Backend)`) once on SQLite and once on
/// PostgreSQL, as `sqlite::name` and `postgres::name`, followed by the end-of-test check
/// (`with_end_check`). Shared by the store suite and the server's black-box tests.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { $crate::testing::with_end_check(super::$name($crate::testing::Backend::Sqlite)).await }
            )*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { $crate::testing::with_end_check(super::$name($crate::testing::Backend::Postgres)).await }
            )*
        }
    };
}

/// What the end-of-test check of one database accepts beyond the store's invariants.
#[derive(Debug, Default)]
pub struct EndCheck {
    mail_failures_expected: AtomicBool,
}

impl EndCheck {
    /// The test breaks mail delivery on purpose (an SMTP outage, a refused recipient), so
    /// deferred or failed emails at its end are what it asked for.
    pub fn expect_mail_failures(&self) {
        self.mail_failures_expected.store(true, Ordering::Relaxed);
    }
}

type Tracked = Vec<(Arc<TestDatabase>, Arc<EndCheck>)>;

thread_local! {
    /// The databases the running test body asked to have checked at its end; `None` outside
    /// `with_end_check`. A test body runs on the thread of its runtime's `block_on`, which is
    /// where `spawn_app` registers its database.
    static TRACKED: RefCell<Option<Tracked>> = const { RefCell::new(None) };
}

/// Registers `db` for the end-of-test check if a `with_end_check` body is running on this
/// thread, and returns the check's settings; `None` (nothing is checked) otherwise. The
/// database then lives until the check has read it, even when the test dropped its handle.
pub fn check_at_end(db: &Arc<TestDatabase>) -> Option<Arc<EndCheck>> {
    TRACKED.with(|tracked| {
        let mut tracked = tracked.borrow_mut();
        let list = tracked.as_mut()?;
        let check = Arc::new(EndCheck::default());
        list.push((db.clone(), check.clone()));
        Some(check)
    })
}

/// Runs a test body, then checks every database it registered (`check_at_end`): the store's
/// invariants (`Store::invariant_violations`: one live code per account and identifier, each
/// at the challenge step it was issued for; no deliverable decoy email; no payload kept past
/// sending) and no email deferred or failed for good unless the test expected it. A body that
/// leaves a code alive behind a cancelled or finished transaction, or queues an email the sink
/// refused, fails here even when its own assertions passed.
pub async fn with_end_check(body: impl std::future::Future<Output = ()>) {
    struct Untrack;
    impl Drop for Untrack {
        // A panicking body still releases (and so drops) the databases it registered.
        fn drop(&mut self) {
            let _ = TRACKED.try_with(|tracked| tracked.borrow_mut().take());
        }
    }
    TRACKED.with(|tracked| *tracked.borrow_mut() = Some(Vec::new()));
    let untrack = Untrack;
    body.await;
    let tracked = TRACKED.with(|tracked| tracked.borrow_mut().take()).unwrap_or_default();
    drop(untrack);
    for (db, check) in tracked {
        let broken = end_check_violations(&db.url, &check).await;
        assert!(broken.is_empty(), "the end-of-test check found:\n{}", broken.join("\n"));
    }
}

async fn end_check_violations(url: &str, check: &EndCheck) -> Vec<String> {
    // A store of its own: the test's servers may have closed theirs (a restart, a restore).
    // The test clock's offset is 0 unless a test moved it, so reading it is always right.
    let store = Store::connect(url).await.expect("open the test database for the end-of-test check").with_test_clock();
    let now = store.now().await.expect("read the clock");
    let mut broken = store.invariant_violations(now).await.expect("check the store's invariants");
    if !check.mail_failures_expected.load(Ordering::Relaxed) {
        for status in [OutboxStatus::Failed] {
            for message in store.outbox_messages(Some(status), 20).await.expect("list the outbox") {
                broken.push(format!(
                    "an email was {} that the test did not expect to fail: {} to {} ({})",
                    status.as_str(),
                    message.kind,
                    message.recipient,
                    message.last_error.unwrap_or_default()
                ));
            }
        }
    }
    store.close().await;
    broken
}
