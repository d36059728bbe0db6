#![allow(clippy::panic)] // test-only module: a missing PostgreSQL must fail loudly
//! Throwaway databases for test suites: a SQLite file in a temporary directory, or a new
//! PostgreSQL database on the server named by `LATCHKEY_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). PostgreSQL tests never skip silently: if
//! the server is unreachable, `fresh` fails with a message saying how to provide one.
use sqlx::Connection;

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
/// PostgreSQL, as `sqlite::name` and `postgres::name`. Shared by the store suite and the
/// server's black-box tests.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name($crate::testing::Backend::Sqlite).await }
            )*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name($crate::testing::Backend::Postgres).await }
            )*
        }
    };
}
