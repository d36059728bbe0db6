//! The outbox worker: claims due messages, renders and sends them, records the outcome.
//!
//! Delivery is at least once. A claim makes this process (`OutboxOwner`) the owner of its
//! rows; a process that dies mid-send leaves its rows to be claimed again once its heartbeat is
//! older than the owner timeout, and the stable Message-ID lets the recipient's mail system
//! recognise the duplicate. A worker sends only while its process owns the row and its
//! heartbeat is fresh: ownership is checked right before the send, a send still running when
//! the heartbeat could have gone stale is cut off, and outcomes are recorded only by the owner,
//! so two live processes never send the same row.
//!
//! Recovery mail is time-critical, so after an outage of the relay it goes out as soon as the
//! relay answers: messages that could not reach the relay retry at most `urgent_retry_max`
//! apart while their code lives, and the first successful send releases every message deferred
//! by the outage.
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
use crate::owner::OutboxOwner;
use crate::payload::open_payload;
use crate::render::Renderer;
use crate::transport::{SendError, Transport};
use crate::{backoff, ComposeError};

/// Rows claimed per round. Small enough that a round finishes in a few seconds.
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
    /// How old a process's heartbeat may get before other processes claim its rows again.
    /// Several heartbeats (one a second) fit in it; sends are cut off before it runs out.
    pub owner_timeout: Duration,
    /// The longest back-off for a message whose code is still live and that could not reach
    /// the relay: a recovery email is useless once its code expired.
    pub urgent_retry_max: Duration,
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
        // Beats come once a second; fewer than two per timeout would make one slow database
        // round trip look like a dead process.
        if self.owner_timeout < crate::owner::HEARTBEAT_INTERVAL * 2 {
            return Err(format!("outbox.owner_timeout_secs ({:?}) must be at least 2 seconds", self.owner_timeout));
        }
        if self.urgent_retry_max.is_zero() {
            return Err("outbox.urgent_retry_max_secs must be at least 1".to_owned());
        }
        // The SMTP timeout no longer bounds the owner timeout: a live owner keeps its rows for
        // as long as a send takes.
        let _ = smtp_timeout;
        Ok(())
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
    /// This process's identity; shared by every worker of the process.
    owner: Arc<OutboxOwner>,
}

impl std::fmt::Debug for OutboxWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboxWorker").field("transport", &self.transport).field("settings", &self.settings).finish_non_exhaustive()
    }
}

/// What happened to one claimed row (for the log and the return value).
#[derive(PartialEq, Eq)]
enum Outcome {
    Sent,
    Deferred,
    Failed,
    Released,
    /// Another process owns the row now; it is left alone.
    Lost,
}

impl Outcome {
    /// What `/metrics` counts: attempts this process made and recorded.
    fn delivery(&self) -> Option<crate::metrics::Delivery> {
        use crate::metrics::Delivery;
        match self {
            Self::Sent => Some(Delivery::Sent),
            Self::Deferred => Some(Delivery::Deferred),
            Self::Failed => Some(Delivery::Failed),
            Self::Released | Self::Lost => None,
        }
    }
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
        let owner = Arc::new(OutboxOwner::new(store.clone(), settings.owner_timeout));
        let worker = Self {
            dkim: None,
            store,
            transport,
            renderer,
            outbox_key: Zeroizing::new(key),
            settings,
            wake,
            stopping: AtomicBool::new(false),
            owner,
        };
        zeroize::Zeroize::zeroize(&mut key);
        worker
    }

    /// Shares the process's owner identity (every worker of a process claims as one owner,
    /// and the process retires it at shutdown). Without it the worker is its own owner.
    #[must_use]
    pub fn with_owner(mut self, owner: Arc<OutboxOwner>) -> Self {
        self.owner = owner;
        self
    }

    pub fn owner(&self) -> &Arc<OutboxOwner> {
        &self.owner
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
    /// recorded is claimed again once this process's heartbeat is stale).
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        self.settings.validate(None).map_err(anyhow::Error::msg)?;
        if let Err(error) = self.renderer.refresh_customizations(&self.store).await {
            warn!(error = %error, "could not reload email customizations; rendering with the cached set");
        }
        // A worker driven without `run` (tests, the CLI) keeps its heartbeat fresh here.
        self.owner.beat_if_due().await.map_err(|e| anyhow::Error::new(e).context("refreshing the outbox heartbeat"))?;
        let now = self.store.now().await?;
        self.release_forgotten(now).await?;
        let rows = self.store.claim_outbox(now, self.owner.id(), self.owner.timeout_ms(), BATCH).await?;
        let clock = Clock { db_at_claim: now, claimed_at: Instant::now() };
        let handled = rows.len();
        for row in &rows {
            self.owner.track(&row.id);
        }
        let results: Vec<Result<Outcome, StoreError>> = stream::iter(rows)
            .map(|row| async move {
                let (id, kind) = (row.id.clone(), row.kind.clone());
                let outcome = self.handle(row, clock).await;
                if let Some(delivery) = outcome.as_ref().ok().and_then(Outcome::delivery) {
                    crate::metrics::record(&kind, delivery);
                }
                self.owner.untrack(&id);
                outcome
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut first_error = None;
        let mut sent = false;
        for result in results {
            match result {
                Ok(outcome) => sent |= outcome == Outcome::Sent,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if sent {
            // The relay answers again: whatever an outage deferred goes out in the next round
            // instead of at the end of its back-off.
            match self.store.release_relay_deferred(clock.now()).await {
                Ok(0) => {}
                Ok(released) => {
                    info!(released, "the relay answers again; releasing messages deferred by the outage");
                    self.wake.notify_one();
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(anyhow::Error::new(e).context("recording an outbox outcome")),
            None => Ok(handled),
        }
    }

    /// Gives back rows this process owns but no worker of it is handling: an outcome the
    /// database failed to record, or a claim whose answer was lost. While this process beats,
    /// nobody else may claim them, so without this they would wait for its shutdown. Only rows
    /// claimed longer than the owner timeout ago are considered, so a claim that has just
    /// committed and is not tracked yet is never taken for forgotten.
    async fn release_forgotten(&self, now: Millis) -> Result<(), StoreError> {
        let claimed_before = now.saturating_sub(self.owner.timeout_ms());
        for id in self.store.outbox_claimed_by(self.owner.id(), claimed_before).await? {
            if self.owner.is_in_flight(&id) {
                continue;
            }
            warn!(outbox_id = %id, "releasing a claimed message whose outcome was never recorded; it may be sent twice (same Message-ID)");
            self.store
                .mark_outbox_deferred(&id, self.owner.id(), now, "released: the outcome of a try was not recorded", false, now)
                .await?;
        }
        Ok(())
    }

    /// Runs rounds until `shutdown` resolves: after a round, waits for `wake` or
    /// `poll_interval` (a full round goes again at once). On shutdown the sends in progress
    /// finish and are recorded; claimed messages not yet started are released for the next run.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        // The heartbeat runs beside the rounds: a long send must not let it go stale.
        let heartbeat = self.owner.heartbeat_loop();
        tokio::pin!(heartbeat);
        let shutdown = async {
            tokio::select! {
                () = &mut shutdown => {}
                () = &mut heartbeat => {}
            }
        };
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
        if row.expires_at.is_some_and(|exp| exp <= clock.now()) {
            // The next claim marks it expired and purges the payload; the code is dead anyway.
            info!(to = %to, "expired before delivery; not sent");
            return self.release(&row, clock, "expired before delivery").await;
        }

        let message = match self.prepare(&row, clock) {
            Ok(message) => message,
            Err(reason) => {
                warn!(to = %to, reason = %reason, "cannot build the message; marking it failed");
                return Ok(
                    self.recorded(self.store.mark_outbox_failed(&row.id, self.owner.id(), &reason, clock.now()).await?, Outcome::Failed)
                );
            }
        };

        // Right before the send: the row is still ours and our heartbeat is fresh. Another
        // process may have claimed it if this one stalled past the owner timeout.
        let owned = self.owner.fresh_until().is_some_and(|until| until > Instant::now())
            && self.store.outbox_still_owned(&row.id, self.owner.id(), clock.now(), self.owner.timeout_ms()).await?;
        if !owned {
            // Either another process owns it now (the release below changes nothing) or only
            // our heartbeat looked stale for a moment (the row is given back, due now).
            warn!(to = %to, "cannot confirm this process still owns the message; not sending it");
            return self.release(&row, clock, "not attempted: ownership could not be confirmed").await;
        }

        // The send is cut off once the heartbeat could look stale to other processes, so it
        // never overlaps a send of the same row by the process that would claim it next.
        let sent = tokio::select! {
            result = self.transport.send(&message, &row.id) => result,
            () = self.owner.lost() => Err(SendError::Transient {
                code: None,
                reason: "the send was cut off: this process's outbox heartbeat went stale".to_owned(),
            }),
        };
        drop(message);

        match sent {
            Ok(()) => {
                let recorded = self.store.mark_outbox_sent(&row.id, self.owner.id(), clock.now()).await?;
                if !recorded {
                    warn!(to = %to, "sent, but another process had claimed the message meanwhile; it may arrive twice (same Message-ID)");
                }
                info!(to = %to, attempt = row.attempts, "sent");
                Ok(Outcome::Sent)
            }
            Err(error) if error.is_permanent() => {
                warn!(to = %to, code = ?error.code(), reason = %redact_addresses(error.reason()), "rejected permanently; marking it failed");
                let recorded = self.store.mark_outbox_failed(&row.id, self.owner.id(), error.reason(), clock.now()).await?;
                Ok(self.recorded(recorded, Outcome::Failed))
            }
            Err(error) if row.attempts >= self.settings.max_attempts => {
                let reason = format!("gave up after {} attempts: {}", row.attempts, error.reason());
                warn!(to = %to, code = ?error.code(), reason = %redact_addresses(&reason), "transient failures exhausted the attempts; marking it failed");
                let recorded = self.store.mark_outbox_failed(&row.id, self.owner.id(), &reason, clock.now()).await?;
                Ok(self.recorded(recorded, Outcome::Failed))
            }
            Err(error) => {
                let now = clock.now();
                let relay_down = relay_unreachable(&error);
                let mut delay = backoff::delay(row.attempts, self.settings.retry_base, self.settings.retry_max);
                // A live code makes the message urgent: while the relay is down it is tried
                // at least every `urgent_retry_max`, so one of them notices the relay's return.
                if relay_down && row.expires_at.is_some_and(|exp| exp > now) {
                    delay = delay.min(self.settings.urgent_retry_max);
                }
                let next = now.saturating_add(Millis::try_from(delay.as_millis()).unwrap_or(Millis::MAX));
                info!(to = %to, attempt = row.attempts, retry_in_ms = delay.as_millis(), code = ?error.code(), reason = %redact_addresses(error.reason()), "deferred");
                let recorded = self.store.mark_outbox_deferred(&row.id, self.owner.id(), next, error.reason(), relay_down, now).await?;
                Ok(self.recorded(recorded, Outcome::Deferred))
            }
        }
    }

    /// An outcome the store refused to record because another process owns the row now.
    fn recorded(&self, recorded: bool, outcome: Outcome) -> Outcome {
        if recorded {
            outcome
        } else {
            warn!("another process had claimed the message meanwhile; its outcome is theirs to record");
            Outcome::Lost
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
        let recorded = self.store.mark_outbox_deferred(&row.id, self.owner.id(), now, reason, false, now).await?;
        Ok(self.recorded(recorded, Outcome::Released))
    }
}

/// The relay as a whole could not be reached: no SMTP reply at all (refused, timed out, TLS)
/// or 421 "service not available". Other 4xx replies concern one message or recipient.
fn relay_unreachable(error: &SendError) -> bool {
    matches!(error.code(), None | Some(421))
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
            owner_timeout: Duration::from_secs(5),
            urgent_retry_max: Duration::from_secs(5),
            poll_interval: Duration::from_secs(5),
            message_id_domain: "id.example".into(),
        }
    }

    #[test]
    fn settings_validation_names_the_problem() {
        assert_eq!(settings().validate(Some(Duration::from_secs(30))), Ok(()));
        assert!(WorkerSettings { owner_timeout: Duration::from_secs(1), ..settings() }
            .validate(None)
            .is_err_and(|e| e.contains("owner_timeout_secs")));
        assert!(WorkerSettings { from: "nobody".into(), ..settings() }.validate(None).is_err_and(|e| e.contains("sender")));
        assert!(WorkerSettings { message_id_domain: "a b".into(), ..settings() }.validate(None).is_err_and(|e| e.contains("Message-ID")));
        assert!(WorkerSettings { max_attempts: 0, ..settings() }.validate(None).is_err());
    }
}
