//! A database that cannot be reached is a 503 with `Retry-After`, not a 500: the request may
//! well succeed in a moment, and load balancers and clients retry a 503. The store decides what
//! "cannot be reached" means (`StoreError::Unavailable`); each adapter asks here when an error
//! reached it wrapped in `anyhow` instead of as a `StoreError`.
use latchkey_store::StoreError;

/// What `Retry-After` says on a 503 caused by the database: long enough for a failover or a
/// restart of the database to finish, short enough that a waiting user does not give up.
pub const RETRY_AFTER_SECS: i64 = 5;

/// Whether the database being unreachable is the cause of `error` (anywhere in its chain).
pub fn database_unavailable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.downcast_ref::<StoreError>().is_some_and(StoreError::is_unavailable))
}

/// Logs a request that failed because the database was out of reach: a warning, not an
/// error, since nothing is wrong with the request or the code.
pub fn log(what: &str, error: &dyn std::fmt::Display) {
    tracing::warn!(%error, "{what}: the database is unavailable; answering 503");
}
