//! The sink's shared state: received messages, the waiters for new ones, and
//! the failure-simulation settings the SMTP side consults on every command.
//!
//! Locks are std mutexes held only for short copies, never across an await.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::message::ReceivedMessage;

/// Oldest messages are dropped beyond this, so a sink left running for a long
/// development session cannot grow without bound.
const MAX_KEPT_MESSAGES: usize = 10_000;

/// How the SMTP side misbehaves, so tests can exercise the server's retry and
/// error paths. The default is a well-behaved server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Behavior {
    /// New connections get `421` and are closed; open connections get `421` at
    /// their next `MAIL FROM` (so a pooled client connection fails too).
    pub refuse_connections: bool,
    /// Sleep this long after the end of DATA before accepting the message
    /// (slow relay, client timeouts). JSON: milliseconds.
    #[serde(rename = "delay_per_message_ms", alias = "delay_per_message", with = "duration_ms")]
    pub delay_per_message: Duration,
    /// `RCPT TO` whose address contains this (case-insensitive) gets `550` (permanent).
    pub reject_recipients_matching: Option<String>,
    /// `RCPT TO` whose address contains this (case-insensitive) gets `451` (transient).
    pub temp_fail_recipients_matching: Option<String>,
}

/// The answer a recipient gets under the current [`Behavior`].
pub(crate) enum RecipientVerdict {
    Accept,
    Reject,
    TempFail,
}

impl Behavior {
    pub(crate) fn judge_recipient(&self, address: &str) -> RecipientVerdict {
        let address = address.to_lowercase();
        let matches = |pattern: &Option<String>| pattern.as_deref().is_some_and(|p| !p.is_empty() && address.contains(&p.to_lowercase()));
        // A permanent rejection wins: a real server would not defer an address it refuses.
        if matches(&self.reject_recipients_matching) {
            RecipientVerdict::Reject
        } else if matches(&self.temp_fail_recipients_matching) {
            RecipientVerdict::TempFail
        } else {
            RecipientVerdict::Accept
        }
    }
}

mod duration_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[derive(Default)]
struct Messages {
    list: Vec<ReceivedMessage>,
    next_id: u64,
}

#[derive(Default)]
pub(crate) struct Store {
    messages: Mutex<Messages>,
    behavior: Mutex<Behavior>,
    /// Woken on every new message; waiters re-check their condition.
    arrived: Notify,
    /// SMTP connections accepted so far, so tests can check a client reuses its connection.
    connections: AtomicU64,
}

/// A poisoned lock only means another task panicked mid-copy; the data is still
/// a consistent Vec, and a test tool should keep serving rather than cascade.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Store {
    pub(crate) fn push(&self, mail_from: String, rcpt_to: Vec<String>, raw: &[u8]) -> u64 {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        // Parse outside the lock: a large message must not stall readers.
        let mut message = ReceivedMessage::parse(0, mail_from, rcpt_to, raw, now_ms);
        let id = {
            let mut messages = lock(&self.messages);
            messages.next_id += 1;
            message.id = messages.next_id;
            messages.list.push(message);
            if messages.list.len() > MAX_KEPT_MESSAGES {
                let excess = messages.list.len() - MAX_KEPT_MESSAGES;
                messages.list.drain(..excess);
            }
            messages.next_id
        };
        self.arrived.notify_waiters();
        id
    }

    /// Messages oldest first, optionally only those addressed to `to`.
    pub(crate) fn list(&self, to: Option<&str>) -> Vec<ReceivedMessage> {
        let messages = lock(&self.messages);
        match to {
            Some(to) => messages.list.iter().filter(|m| m.is_to(to)).cloned().collect(),
            None => messages.list.clone(),
        }
    }

    pub(crate) fn get(&self, id: u64) -> Option<ReceivedMessage> {
        lock(&self.messages).list.iter().find(|m| m.id == id).cloned()
    }

    pub(crate) fn count_connection(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }

    pub(crate) fn clear(&self) {
        lock(&self.messages).list.clear();
    }

    pub(crate) fn behavior(&self) -> Behavior {
        lock(&self.behavior).clone()
    }

    pub(crate) fn set_behavior(&self, behavior: Behavior) {
        *lock(&self.behavior) = behavior;
    }

    /// Waits until at least `count` messages (to `to`, if given) exist.
    /// `Err` carries what was there at the deadline, for the error message.
    pub(crate) async fn wait_for_count(
        &self,
        to: Option<&str>,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ReceivedMessage>, Vec<ReceivedMessage>> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            // Register before checking, so a message pushed between the check
            // and the await still wakes us (Notify::notify_waiters only wakes
            // futures that are already enabled).
            let arrived = self.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            let found = self.list(to);
            if found.len() >= count {
                return Ok(found);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return Err(self.list(to));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behavior_json_uses_milliseconds_and_defaults_missing_fields() {
        let b: Behavior = serde_json::from_str(r#"{"delay_per_message_ms": 250, "reject_recipients_matching": "bad"}"#).unwrap();
        assert_eq!(b.delay_per_message, Duration::from_millis(250));
        assert!(!b.refuse_connections);
        assert!(matches!(b.judge_recipient("BAD@x.test"), RecipientVerdict::Reject));
        let b: Behavior = serde_json::from_str(r#"{"delay_per_message": 5}"#).unwrap();
        assert_eq!(b.delay_per_message, Duration::from_millis(5));
    }

    #[tokio::test]
    async fn wait_wakes_on_push_and_times_out_otherwise() {
        let store = std::sync::Arc::new(Store::default());
        let s2 = store.clone();
        let waiter = tokio::spawn(async move { s2.wait_for_count(Some("a@x"), 1, Duration::from_secs(5)).await });
        tokio::task::yield_now().await;
        store.push("f@x".into(), vec!["A@x".into()], b"Subject: hi\r\n\r\nbody\r\n");
        assert_eq!(waiter.await.unwrap().unwrap().len(), 1);
        assert!(store.wait_for_count(Some("b@x"), 1, Duration::from_millis(20)).await.is_err());
    }
}
