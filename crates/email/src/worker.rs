//! The outbox worker: claims due messages, renders and sends them, records the outcome.
//!
//! Delivery is at least once. A claim leases rows for `lease`; a worker that dies mid-send
//! leaves its rows to be claimed again once the lease runs out, and the stable Message-ID lets
//! the recipient's mail system recognise the duplicate. Every send is cut off before its
//! lease ends, so two live workers never send the same row at the same time.
//!
//! No database transaction is open while SMTP runs: claiming is one committed statement and
//! each outcome is another.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use latchkey_store::{Millis, OutboxMessage, Store, StoreError};
use tokio::sync::Notify;
use tracing::{info, instrument, warn};
use zeroize::Zeroizing;

use crate::message::{compose, mask_address};
use crate::payload::open_payload;
use crate::render::Renderer;
use crate::transport::{SendError, Transport};
use crate::{backoff, ComposeError};

/// Rows claimed per round. Small enough that a round finishes well inside one lease.
const BATCH: i64 = 32;
/// Messages of one round sent at once (the SMTP pool keeps as many connections).
const CONCURRENCY: usize = 8;

#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// `Name <address>` or a bare address.
    pub from: String,
    /// Tries before a transiently failing message is marked failed.
    pub max_attempts: i64,
    /// Delay after the first failed try; doubles per try.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// How long a claim holds its rows. Must outlive the SMTP timeout: sends still running
    /// near the end of the lease are cut off so another worker cannot send the same row.
    pub lease: Duration,
    /// How often to look for due messages when nobody calls `wake`.
    pub poll_interval: Duration,
    /// Right-hand side of every `Message-ID`.
    pub message_id_domain: String,
}

impl WorkerSettings {
    /// Checks the settings against each other and against the transport's SMTP timeout, so
    /// the server can refuse to start with a message naming the setting.
    ///
    /// # Errors
    /// A sentence saying which setting is wrong.
    pub fn validate(&self, smtp_timeout: Option<Duration>) -> Result<(), String> {
        let probe = crate::RenderedEmail { subject: String::new(), html: String::new(), text: String::new() };
        match compose(&probe, &self.from, "probe@example.com", "probe", &self.message_id_domain) {
            Err(ComposeError::BadFrom(_)) => {
                return Err(format!("the sender address `{}` is not valid; use \"Name <address>\"", self.from))
            }
            Err(ComposeError::BadMessageId(_)) => {
                return Err(format!("the Message-ID domain `{}` must be a plain host name", self.message_id_domain))
            }
            _ => {}
        }
        if self.max_attempts < 1 {
            return Err("max_attempts must be at least 1".to_owned());
        }
        if self.retry_base.is_zero() || self.retry_max < self.retry_base {
            return Err("retry_base must be positive and retry_max at least retry_base".to_owned());
        }
        if let Some(timeout) = smtp_timeout {
            // Connect, greeting, MAIL, RCPT and DATA may each take up to the timeout.
            if self.lease < timeout.saturating_mul(3) {
                return Err(format!("the outbox lease ({:?}) must be at least three SMTP timeouts ({:?})", self.lease, timeout * 3));
            }
        }
        Ok(())
    }

    /// The part of a lease kept for recording the outcome after the send is cut off.
    fn lease_margin(&self) -> Duration {
        (self.lease / 5).min(Duration::from_secs(10))
    }
}

pub struct OutboxWorker {
    /// Signs every message when the operator configured a DKIM key.
    dkim: Option<Arc<lettre::message::dkim::DkimConfig>>,
    store: Store,
    transport: Arc<Transport>,
    renderer: Arc<Renderer>,
    outbox_key: Zeroizing<[u8; 32]>,
    settings: WorkerSettings,
    wake: Arc<Notify>,
    /// Set when shutdown begins: messages of the current round not yet started are released.
    stopping: AtomicBool,
}

impl std::fmt::Debug for OutboxWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxWorker").field("transport", &self.transport).field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// What happened to one claimed row (for the log and the return value).
enum Outcome {
    Sent,
    Deferred,
    Failed,
    Released,
}

impl OutboxWorker {
    pub fn new(
        store: Store,
        transport: Arc<Transport>,
        renderer: Arc<Renderer>,
        outbox_key: [u8; 32],
        settings: WorkerSettings,
        wake: Arc<Notify>,
    ) -> Self {
        let mut key = outbox_key;
        let worker = Self {
            dkim: None,
            store,
            transport,
            renderer,
            outbox_key: Zeroizing::new(key),
            settings,
            wake,
            stopping: AtomicBool::new(false),
        };
        zeroize::Zeroize::zeroize(&mut key);
        worker
    }

    /// Signs every message with this DKIM configuration.
    #[must_use]
    pub fn with_dkim(mut self, dkim: Option<Arc<lettre::message::dkim::DkimConfig>>) -> Self {
        self.dkim = dkim;
        self
    }

    /// One round: claims due messages (by database time), renders, sends and records each.
    /// Returns how many rows it claimed and handled.
    ///
    /// # Errors
    /// The settings are invalid, or the database failed (a row whose outcome could not be
    /// recorded is claimed again after its lease).
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        self.settings.validate(None).map_err(anyhow::Error::msg)?;
        if let Err(error) = self.renderer.refresh_customizations(&self.store).await {
            warn!(error = %error, "could not reload email customizations; rendering with the cached set");
        }
        let now = self.store.now().await?;
        let lease_ms = Millis::try_from(self.settings.lease.as_millis()).unwrap_or(Millis::MAX);
        let rows = self.store.claim_outbox(now, lease_ms, BATCH).await?;
        let clock = Clock { db_at_claim: now, claimed_at: Instant::now() };
        let handled = rows.len();
        let results: Vec<Result<Outcome, StoreError>> =
            stream::iter(rows).map(|row| self.handle(row, clock)).buffer_unordered(CONCURRENCY).collect().await;
        let mut first_error = None;
        for result in results {
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) => Err(anyhow::Error::new(e).context("recording an outbox outcome")),
            None => Ok(handled),
        }
    }

    /// Runs rounds until `shutdown` resolves: after a round, waits for `wake` or
    /// `poll_interval` (a full round goes again at once). On shutdown the sends in progress
    /// finish and are recorded; claimed messages not yet started are released for the next run.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let round = self.run_once();
            tokio::pin!(round);
            let result = tokio::select! {
                result = &mut round => result,
                () = &mut shutdown => {
                    self.stopping.store(true, Ordering::SeqCst);
                    if let Err(error) = round.await {
                        warn!(error = %error, "outbox round failed during shutdown");
                    }
                    return;
                }
            };
            match result {
                Ok(n) if n >= usize::try_from(BATCH).unwrap_or(usize::MAX) => continue,
                Ok(_) => {}
                Err(error) => warn!(error = %error, "outbox round failed; retrying after the poll interval"),
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
    }

    #[instrument(skip_all, fields(outbox_id = %row.id, kind = %row.kind))]
    async fn handle(&self, row: OutboxMessage, clock: Clock) -> Result<Outcome, StoreError> {
        let to = mask_address(&row.recipient);
        if self.stopping.load(Ordering::SeqCst) {
            return self.release(&row, clock, "not attempted: the worker was stopping").await;
        }
        // Sends are cut off before the lease ends, leaving a margin to record the outcome.
        let deadline = clock.claimed_at + self.settings.lease.saturating_sub(self.settings.lease_margin());
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return self.release(&row, clock, "not attempted: the claim's lease ran out").await;
        }
        if row.expires_at.is_some_and(|exp| exp <= clock.now()) {
            // The next claim marks it expired and purges the payload; the code is dead anyway.
            info!(to = %to, "expired before delivery; not sent");
            return self.release(&row, clock, "expired before delivery").await;
        }

        let message = match self.prepare(&row, clock) {
            Ok(message) => message,
            Err(reason) => {
                warn!(to = %to, reason = %reason, "cannot build the message; marking it failed");
                self.store.mark_outbox_failed(&row.id, &reason, clock.now()).await?;
                return Ok(Outcome::Failed);
            }
        };

        let sent = match tokio::time::timeout(remaining, self.transport.send(&message, &row.id)).await {
            Ok(result) => result,
            Err(_) => {
                Err(SendError::Transient { code: None, reason: "the send did not finish before the claim's lease ran out".to_owned() })
            }
        };
        drop(message);

        match sent {
            Ok(()) => {
                self.store.mark_outbox_sent(&row.id, clock.now()).await?;
                info!(to = %to, attempt = row.attempts, "sent");
                Ok(Outcome::Sent)
            }
            Err(error) if error.is_permanent() => {
                warn!(to = %to, code = ?error.code(), reason = %redact_addresses(error.reason()), "rejected permanently; marking it failed");
                self.store.mark_outbox_failed(&row.id, error.reason(), clock.now()).await?;
                Ok(Outcome::Failed)
            }
            Err(error) if row.attempts >= self.settings.max_attempts => {
                let reason = format!("gave up after {} attempts: {}", row.attempts, error.reason());
                warn!(to = %to, code = ?error.code(), reason = %redact_addresses(&reason), "transient failures exhausted the attempts; marking it failed");
                self.store.mark_outbox_failed(&row.id, &reason, clock.now()).await?;
                Ok(Outcome::Failed)
            }
            Err(error) => {
                let delay = backoff::delay(row.attempts, self.settings.retry_base, self.settings.retry_max);
                let now = clock.now();
                let next = now.saturating_add(Millis::try_from(delay.as_millis()).unwrap_or(Millis::MAX));
                info!(to = %to, attempt = row.attempts, retry_in_ms = delay.as_millis(), code = ?error.code(), reason = %redact_addresses(error.reason()), "deferred");
                self.store.mark_outbox_deferred(&row.id, next, error.reason(), now).await?;
                Ok(Outcome::Deferred)
            }
        }
    }

    /// Opens, renders and builds the message. An error here is permanent: the same row would
    /// fail the same way on every try, so it is marked failed instead of retried forever.
    fn prepare(&self, row: &OutboxMessage, clock: Clock) -> Result<lettre::Message, String> {
        let payload = open_payload(self.outbox_key.as_slice(), row).map_err(|e| format!("cannot open the payload: {e}"))?;
        if crate::EmailKind::parse(&row.kind) != Some(payload.kind) {
            return Err(format!("the payload is a {} message but the row says {}", payload.kind, row.kind));
        }
        let now = DateTime::<Utc>::from_timestamp_millis(clock.now()).unwrap_or_else(Utc::now);
        let rendered = self.renderer.render(&payload, now).map_err(|e| format!("cannot render: {e}"))?;
        drop(payload);
        let mut message = compose(&rendered, &self.settings.from, &row.recipient, &row.message_id, &self.settings.message_id_domain)
            .map_err(|e| format!("cannot build the message: {e}"))?;
        if let Some(dkim) = &self.dkim {
            message.sign(dkim);
        }
        Ok(message)
    }

    /// Gives a claimed row back without trying it: due again now. The attempt the claim
    /// counted stays counted, which only matters at the last attempt.
    async fn release(&self, row: &OutboxMessage, clock: Clock, why: &str) -> Result<Outcome, StoreError> {
        let now = clock.now();
        let reason = row.last_error.as_deref().unwrap_or(why);
        self.store.mark_outbox_deferred(&row.id, now, reason, now).await?;
        Ok(Outcome::Released)
    }
}

/// Database time without a query per message: the database clock read at claim time plus the
/// time elapsed since on this machine's monotonic clock.
#[derive(Clone, Copy)]
struct Clock {
    db_at_claim: Millis,
    claimed_at: Instant,
}

impl Clock {
    fn now(&self) -> Millis {
        self.db_at_claim.saturating_add(Millis::try_from(self.claimed_at.elapsed().as_millis()).unwrap_or(Millis::MAX))
    }
}

/// Relays often echo the recipient in their replies; logs get it masked.
fn redact_addresses(reason: &str) -> String {
    reason
        .split(' ')
        .map(|word| {
            if word.contains('@') {
                let trimmed = word.trim_matches(|c: char| matches!(c, '<' | '>' | ',' | ';' | ':' | '"' | '\'' | '(' | ')'));
                word.replace(trimmed, &mask_address(trimmed))
            } else {
                word.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_reasons_are_masked() {
        assert_eq!(
            redact_addresses("permanent error (550): 5.1.1 <jane@example.com>: no such user"),
            "permanent error (550): 5.1.1 <j***@example.com>: no such user"
        );
    }

    fn settings() -> WorkerSettings {
        WorkerSettings {
            from: "Latchkey <no-reply@id.example>".into(),
            max_attempts: 5,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(5),
            message_id_domain: "id.example".into(),
        }
    }

    #[test]
    fn settings_validation_names_the_problem() {
        assert_eq!(settings().validate(Some(Duration::from_secs(10))), Ok(()));
        assert!(settings().validate(Some(Duration::from_secs(30))).is_err_and(|e| e.contains("lease")));
        assert!(WorkerSettings { from: "nobody".into(), ..settings() }.validate(None).is_err_and(|e| e.contains("sender")));
        assert!(WorkerSettings { message_id_domain: "a b".into(), ..settings() }.validate(None).is_err_and(|e| e.contains("Message-ID")));
        assert!(WorkerSettings { max_attempts: 0, ..settings() }.validate(None).is_err());
    }
}
