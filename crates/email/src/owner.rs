//! This process's identity as an outbox owner: a random id chosen at start and a heartbeat
//! row kept fresh in the database (database time, about once a second).
//!
//! Claimed rows name their owner. Another process may claim them again only once the owner's
//! heartbeat is older than `timeout`, so a process that dies mid-send delays its mail by a few
//! seconds instead of a lease sized for a whole SMTP exchange. The owner itself sends only
//! while its heartbeat is fresh: `fresh_until` is the local instant after which another
//! process could already have taken its rows, and sends still running then are cut off.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use latchkey_store::{Store, StoreError};
use tracing::warn;

/// How often the heartbeat row is refreshed. Several beats fit in the smallest timeout, so
/// one slow database round trip does not make a live process look dead.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub struct OutboxOwner {
    id: String,
    store: Store,
    timeout: Duration,
    /// When the last successful beat was started (a conservative stand-in for the database
    /// time it wrote: the row cannot be older than this instant).
    last_beat: Mutex<Option<Instant>>,
    /// Rows this process's workers are handling now; any other row it owns was forgotten.
    in_flight: Mutex<HashSet<String>>,
}

impl OutboxOwner {
    /// A new identity for this process; nothing is written until the first `beat`.
    pub fn new(store: Store, timeout: Duration) -> Self {
        let id = format!("proc-{}", latchkey_domain::secret::okta_style_id("").to_lowercase());
        Self { id, store, timeout, last_beat: Mutex::new(None), in_flight: Mutex::new(HashSet::new()) }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The timeout in database milliseconds.
    pub fn timeout_ms(&self) -> i64 {
        i64::try_from(self.timeout.as_millis()).unwrap_or(i64::MAX)
    }

    /// Refreshes the heartbeat row.
    ///
    /// # Errors
    /// The database could not be written; the heartbeat then ages towards the timeout.
    pub async fn beat(&self) -> Result<(), StoreError> {
        let started = Instant::now();
        self.store.outbox_heartbeat(&self.id).await?;
        let mut last = self.last_beat.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_none_or(|previous| previous < started) {
            *last = Some(started);
        }
        Ok(())
    }

    pub(crate) fn track(&self, id: &str) {
        self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id.to_owned());
    }

    pub(crate) fn untrack(&self, id: &str) {
        self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(id);
    }

    pub(crate) fn is_in_flight(&self, id: &str) -> bool {
        self.in_flight.lock().unwrap_or_else(std::sync::PoisonError::into_inner).contains(id)
    }

    /// Beats unless a beat started less than `HEARTBEAT_INTERVAL` ago.
    pub(crate) async fn beat_if_due(&self) -> Result<(), StoreError> {
        let last = *self.last_beat.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < HEARTBEAT_INTERVAL) {
            return Ok(());
        }
        self.beat().await
    }

    /// The local instant until which no other process can have claimed this process's rows:
    /// the last beat plus the timeout, less a margin for the clocks' rates and the time the
    /// outcome takes to record. `None` before the first beat.
    pub fn fresh_until(&self) -> Option<Instant> {
        let last = (*self.last_beat.lock().unwrap_or_else(std::sync::PoisonError::into_inner))?;
        Some(last + self.timeout.saturating_sub(self.margin()))
    }

    fn margin(&self) -> Duration {
        (self.timeout / 4).max(Duration::from_millis(200))
    }

    /// Resolves once this process can no longer be sure it owns its claims (its heartbeat
    /// could be older than the timeout as others see it).
    pub(crate) async fn lost(&self) {
        loop {
            match self.fresh_until() {
                Some(until) if until > Instant::now() => tokio::time::sleep_until(until.into()).await,
                _ => return,
            }
        }
    }

    /// Beats every `HEARTBEAT_INTERVAL` until dropped (the caller aborts it at shutdown).
    pub async fn heartbeat_loop(&self) {
        let mut failing = false;
        loop {
            match self.beat().await {
                Ok(()) => failing = false,
                // Logged once per outage: the database being away is reported elsewhere too.
                Err(error) if !failing => {
                    failing = true;
                    warn!(%error, owner = %self.id, "outbox heartbeat failed; claims of this process may be taken over");
                }
                Err(_) => {}
            }
            tokio::time::sleep(HEARTBEAT_INTERVAL).await;
        }
    }

    /// A clean shutdown: the heartbeat row goes, so rows this process still owns are claimable
    /// at once.
    ///
    /// # Errors
    /// The database could not be written; the rows are then claimable after the timeout.
    pub async fn retire(&self) -> Result<(), StoreError> {
        *self.last_beat.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        self.store.retire_outbox_owner(&self.id).await
    }
}
