//! The outbox worker against a real SMTP sink and a real database, on SQLite and PostgreSQL.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use latchkey_email::{EmailKind, OutboxWorker, WorkerSettings};
use latchkey_mail_sink::Behavior;
use latchkey_store::testing::Backend;
use latchkey_store::{OutboxStatus, Store};

use crate::on_both_databases;
use crate::support::{new_worker, sample, settings, Harness, CODE};

const WAIT: Duration = Duration::from_secs(10);

on_both_databases!(
    forgot_password_is_delivered_once_with_both_parts_and_the_row_purged,
    refused_connection_defers_then_delivers_exactly_once,
    permanent_rejection_fails_at_once_and_temporary_rejection_defers,
    transient_failures_stop_after_max_attempts,
    expired_message_is_never_sent,
    unopenable_payload_fails_instead_of_retrying,
    two_workers_drain_a_thousand_messages_without_duplicates,
    run_wakes_on_notify_and_stops_on_shutdown,
    relay_without_starttls_keeps_the_message_queued,
    a_relay_with_an_untrusted_certificate_gets_nothing,
    a_dead_processes_claims_are_sent_after_the_owner_timeout_and_a_live_ones_never,
    a_successful_send_releases_messages_deferred_by_a_relay_outage,
    a_claim_its_own_process_forgot_is_released_after_the_owner_timeout,
);

async fn forgot_password_is_delivered_once_with_both_parts_and_the_row_purged(backend: Backend) {
    let h = Harness::start(backend, settings()).await;
    let queued = h.enqueue("jane@example.com", &sample(EmailKind::ForgotPassword, "en")).await;
    assert_eq!(h.worker.run_once().await.expect("round"), 1);
    let row = h.store.outbox_message(&queued.id).await.expect("read").expect("row");
    assert_eq!(row.status, OutboxStatus::Sent, "{:?}", row.last_error);

    let mail = h.sink.wait_for_count(Some("jane@example.com"), 1, WAIT).await.expect("delivered");
    let mail = &mail[0];
    assert_eq!(mail.rcpt_to, ["jane@example.com"]);
    assert_eq!(mail.message_id.as_deref(), Some(format!("<{}@id.example>", queued.message_id).as_str()));
    assert!(mail.raw.contains("multipart/alternative"));
    assert!(mail.text.as_deref().is_some_and(|t| t.contains(CODE)), "{:?}", mail.text);
    assert!(mail.html.as_deref().is_some_and(|t| t.contains(CODE)), "{:?}", mail.html);
    assert_eq!(mail.subject.as_deref(), Some("Reset your Example Corp password"));
    assert!(mail.headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("From") && v.contains("no-reply@id.example")));

    let row = h.store.outbox_message(&queued.id).await.expect("read").expect("row");
    assert_eq!(row.status, OutboxStatus::Sent);
    assert_eq!(row.payload, None);
    assert!(row.sent_at.is_some());
    assert_eq!(h.worker.run_once().await.expect("round"), 0, "nothing left to send");
}

async fn refused_connection_defers_then_delivers_exactly_once(backend: Backend) {
    let h = Harness::start(backend, settings()).await;
    h.sink.set_behavior(Behavior { refuse_connections: true, ..Behavior::default() });
    let queued = h.enqueue("jane@example.com", &sample(EmailKind::ForgotPassword, "en")).await;
    let before = h.store.now().await.expect("db time");
    assert_eq!(h.worker.run_once().await.expect("round"), 1);

    let row = h.store.outbox_message(&queued.id).await.expect("read").expect("row");
    assert_eq!(row.status, OutboxStatus::Deferred);
    assert_eq!(row.attempts, 1);
    assert!(row.next_attempt_at > before, "retry is in the future");
    assert!(row.last_error.as_deref().is_some_and(|e| e.contains("421")), "{:?}", row.last_error);
    assert!(row.payload.is_some(), "the sealed payload stays until delivery");

    h.sink.set_behavior(Behavior::default());
    let deadline = Instant::now() + WAIT;
    while h.sink.messages().is_empty() && Instant::now() < deadline {
        h.worker.run_once().await.expect("round");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Further rounds must not send it again.
    for _ in 0..3 {
        assert_eq!(h.worker.run_once().await.expect("round"), 0);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(h.sink.messages().len(), 1);
    let row = h.store.outbox_message(&queued.id).await.expect("read").expect("row");
    assert_eq!(row.status, OutboxStatus::Sent);
    assert!(row.attempts >= 2);
}

async fn permanent_rejection_fails_at_once_and_temporary_rejection_defers(backend: Backend) {
    let h = Harness::start(backend, settings()).await;
    h.sink.set_behavior(Behavior {
        reject_recipients_matching: Some("nobody".into()),
        temp_fail_recipients_matching: Some("busy".into()),
        ..Behavior::default()
    });
    let rejected = h.enqueue("nobody@example.com", &sample(EmailKind::PasswordChanged, "en")).await;
    let busy = h.enqueue("busy@example.com", &sample(EmailKind::PasswordChanged, "en")).await;
    assert_eq!(h.worker.run_once().await.expect("round"), 2);

    let row = h.store.outbox_message(&rejected.id).await.expect("read").expect("row");
    assert_eq!(row.status, OutboxStatus::Failed);
    assert_eq!(row.attempts, 1);
    assert!(row.last_error.as_deref().is_some_and(|e| e.contains("550")), "{:?}", row.last_error);

    let row = h.store.outbox_message(&busy.id).await.expect("read").expect("row");
    assert_eq!(row.status, OutboxStatus::Deferred);
    assert!(row.last_error.as_deref().is_some_and(|e| e.contains("451")), "{:?}", row.last_error);
    assert!(h.sink.messages().is_empty());
}

async fn transient_failures_stop_after_max_attempts(backend: Backend) {
    let h = Harness::start(backend, WorkerSettings { max_attempts: 2, ..settings() }).await;
    h.sink.set_behavior(Behavior { temp_fail_recipients_matching: Some("jane".into()), ..Behavior::default() });
    let queued = h.enqueue("jane@example.com", &sample(EmailKind::LockoutNotice, "de")).await;
    let deadline = Instant::now() + WAIT;
    loop {
        h.worker.run_once().await.expect("round");
        let row = h.store.outbox_message(&queued.id).await.expect("read").expect("row");
        if row.status == OutboxStatus::Failed {
            assert_eq!(row.attempts, 2);
            assert!(row.last_error.as_deref().is_some_and(|e| e.starts_with("gave up after 2 attempts")), "{:?}", row.last_error);
            break;
        }
        assert!(Instant::now() < deadline, "still {:?} after {WAIT:?}", row.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(h.worker.run_once().await.expect("round"), 0, "a failed message is not retried");
}

async fn expired_message_is_never_sent(backend: Backend) {
    let h = Harness::start(backend, settings()).await;
    let now = h.store.now().await.expect("db time");
    let queued = h.enqueue_expiring("jane@example.com", &sample(EmailKind::ForgotPassword, "en"), Some(now - 1)).await;
    assert_eq!(h.worker.run_once().await.expect("round"), 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(h.sink.messages().is_empty());
    let row = h.store.outbox_message(&queued.id).await.expect("read").expect("row");
    assert_eq!(row.status, OutboxStatus::Expired);
    assert_eq!(row.payload, None, "the code is purged");
}

async fn unopenable_payload_fails_instead_of_retrying(backend: Backend) {
    let h = Harness::start(backend, settings()).await;
    let now = h.store.now().await.expect("db time");
    // Sealed under another key, as after a botched key rotation.
    let message =
        latchkey_email::new_outbox_message(&[7; 32], "jane@example.com", &sample(EmailKind::ForgotPassword, "en"), None).expect("seal");
    h.store.enqueue_message(&message, now).await.expect("enqueue");
    assert_eq!(h.worker.run_once().await.expect("round"), 1);
    let row = h.store.outbox_message(&message.id).await.expect("read").expect("row");
    assert_eq!(row.status, OutboxStatus::Failed);
    assert!(row.last_error.as_deref().is_some_and(|e| e.contains("cannot open")), "{:?}", row.last_error);
    assert_eq!(h.worker.run_once().await.expect("round"), 0);
    assert!(h.sink.messages().is_empty());
}

async fn two_workers_drain_a_thousand_messages_without_duplicates(backend: Backend) {
    const N: usize = 1000;
    let h = Harness::start(backend, settings()).await;
    let started = Instant::now();
    let now = h.store.now().await.expect("db time");
    let payload = sample(EmailKind::ForgotPassword, "en");
    let mut ids = HashSet::new();
    for i in 0..N {
        let message =
            latchkey_email::new_outbox_message(&crate::support::KEY, &format!("user{i}@example.com"), &payload, Some(now + 600_000))
                .expect("seal");
        ids.insert(message.message_id.clone());
        h.store.enqueue_message(&message, now).await.expect("enqueue");
    }
    let queued_in = started.elapsed();

    // The second worker is a separate "process": its own pool, transport and connections.
    let other_store = Store::connect(&h.db.url).await.expect("second connection");
    let second = new_worker(&other_store, &h.sink, &h.renderer, settings(), &h.wake);
    let workers: Vec<Arc<OutboxWorker>> = vec![Arc::new(new_worker(&h.store, &h.sink, &h.renderer, settings(), &h.wake)), Arc::new(second)];
    let drain_started = Instant::now();
    let tasks: Vec<_> = workers
        .iter()
        .map(|w| {
            let w = w.clone();
            let sink = h.sink.clone();
            tokio::spawn(async move {
                let mut handled = 0;
                let deadline = Instant::now() + Duration::from_secs(60);
                while sink.messages().len() < N && Instant::now() < deadline {
                    let n = w.run_once().await.expect("round");
                    handled += n;
                    if n == 0 {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
                handled
            })
        })
        .collect();
    let mut per_worker = Vec::new();
    for task in tasks {
        per_worker.push(task.await.expect("worker task"));
    }
    let drained_in = drain_started.elapsed();
    eprintln!("{backend:?}: queued {N} in {queued_in:?}, drained in {drained_in:?}, per worker {per_worker:?}");

    let mails = h.sink.messages();
    assert_eq!(mails.len(), N, "every message exactly once");
    let received: HashSet<String> = mails.iter().filter_map(|m| m.message_id.clone()).collect();
    assert_eq!(received.len(), N, "no duplicate Message-ID");
    let expected: HashSet<String> = ids.iter().map(|id| format!("<{id}@id.example>")).collect();
    assert_eq!(received, expected);
    assert!(per_worker.iter().all(|n| *n > 0), "both workers took part: {per_worker:?}");
    let sent = h.store.outbox_messages(Some(OutboxStatus::Sent), 2 * N as i64).await.expect("list");
    assert_eq!(sent.len(), N);
}

async fn run_wakes_on_notify_and_stops_on_shutdown(backend: Backend) {
    let h = Harness::start(backend, WorkerSettings { poll_interval: Duration::from_secs(3600), ..settings() }).await;
    let Harness { store, sink, worker, wake, db, .. } = h;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(worker.run(async move {
        let _ = stopped.await;
    }));
    // Let the first (empty) round pass, then queue and wake: delivery must not wait an hour.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let now = store.now().await.expect("db time");
    let message =
        latchkey_email::new_outbox_message(&crate::support::KEY, "jane@example.com", &sample(EmailKind::UserActivation, "es"), None)
            .expect("seal");
    store.enqueue_message(&message, now).await.expect("enqueue");
    wake.notify_one();
    let mail = sink.wait_for_count(Some("jane@example.com"), 1, WAIT).await.expect("woken and delivered");
    assert!(mail[0].subject.as_deref().is_some_and(|s| s.contains("Activa tu cuenta")));
    stop.send(()).expect("worker still running");
    tokio::time::timeout(WAIT, task).await.expect("stops promptly").expect("no panic");
    drop(db);
}

async fn relay_without_starttls_keeps_the_message_queued(backend: Backend) {
    // security-checklist EML-3: the sink offers no STARTTLS; with TLS required there is no
    // plaintext fallback, the message stays queued and the reason is recorded.
    let h = Harness::start(backend, settings()).await;
    let transport =
        latchkey_email::Transport::smtp(&format!("{}?tls=starttls", h.sink.smtp_url()), Duration::from_secs(5)).expect("transport");
    let worker =
        OutboxWorker::new(h.store.clone(), Arc::new(transport), h.renderer.clone(), crate::support::KEY, settings(), h.wake.clone());
    let queued = h.enqueue("jane@example.com", &sample(EmailKind::ForgotPassword, "en")).await;
    assert_eq!(worker.run_once().await.expect("round"), 1);
    let row = h.store.outbox_message(&queued.id).await.expect("read").expect("row");
    assert_eq!(row.status, OutboxStatus::Deferred);
    assert!(row.last_error.as_deref().is_some_and(|e| e.contains("STARTTLS")), "{:?}", row.last_error);
    assert!(h.sink.messages().is_empty());
}

/// security-checklist EML-3: a relay whose certificate does not validate (self-signed, for the
/// right address, from no trusted root) gets nothing, over STARTTLS and over implicit TLS: the
/// client refuses the handshake, says nothing in plaintext after STARTTLS, and the message stays
/// queued with the reason.
async fn a_relay_with_an_untrusted_certificate_gets_nothing(backend: Backend) {
    let h = Harness::start(backend, settings()).await;
    let relay = crate::untrusted_relay::UntrustedRelay::start().await;
    for url in [format!("smtp://127.0.0.1:{}?tls=starttls", relay.starttls_port), format!("smtps://127.0.0.1:{}", relay.implicit_port)] {
        let transport = latchkey_email::Transport::smtp(&url, Duration::from_secs(5)).expect("transport");
        let worker =
            OutboxWorker::new(h.store.clone(), Arc::new(transport), h.renderer.clone(), crate::support::KEY, settings(), h.wake.clone());
        let queued = h.enqueue("jane@example.com", &sample(EmailKind::ForgotPassword, "en")).await;
        assert_eq!(worker.run_once().await.expect("round"), 1);
        let row = h.store.outbox_message(&queued.id).await.expect("read").expect("row");
        assert_eq!(row.status, OutboxStatus::Deferred, "{url}");
        let reason = row.last_error.clone().unwrap_or_default().to_lowercase();
        assert!(reason.contains("certificate"), "{url}: the reason names the certificate: {reason}");
        assert!(row.payload.is_some(), "{url}: the sealed payload stays for a later try");
    }
    let seen = relay.seen_after(2).await;
    assert_eq!(seen.handshakes_refused, 2, "both modes reached the TLS handshake and the client refused it: {seen:?}");
    assert_eq!(seen.handshakes_completed, 0, "{seen:?}");
    assert!(seen.plaintext_commands.iter().all(|c| c.starts_with("EHLO") || c.starts_with("STARTTLS")), "no plaintext fallback: {seen:?}");
    assert!(h.sink.messages().is_empty());
}

/// Another process claimed messages and then stopped beating (it died): its rows wait for the
/// owner timeout (5 s, moved on the controllable clock), not for a lease. A process that keeps
/// beating keeps its rows however long its send takes.
async fn a_dead_processes_claims_are_sent_after_the_owner_timeout_and_a_live_ones_never(backend: Backend) {
    let h = Harness::start(backend, settings()).await;
    let store = h.store.clone().with_test_clock();
    let worker = new_worker(&store, &h.sink, &h.renderer, settings(), &h.wake);
    let timeout = i64::try_from(settings().owner_timeout.as_millis()).expect("small");

    let dead = h.enqueue("dead@example.com", &sample(EmailKind::ForgotPassword, "en")).await;
    store.outbox_heartbeat("proc-dead").await.expect("heartbeat");
    let now = store.now().await.expect("db time");
    assert_eq!(store.claim_outbox(now, "proc-dead", timeout, 10).await.expect("claim").len(), 1);
    assert_eq!(worker.run_once().await.expect("round"), 0, "the owner's heartbeat is fresh");
    store.advance_test_clock(timeout - 1_000).await.expect("advance");
    assert_eq!(worker.run_once().await.expect("round"), 0, "taken over before the timeout");
    store.advance_test_clock(2_000).await.expect("advance");
    // This worker's own heartbeat is as old as the dead one's until it beats again.
    worker.owner().beat().await.expect("beat");
    assert_eq!(worker.run_once().await.expect("round"), 1, "taken over after the timeout");
    let row = store.outbox_message(&dead.id).await.expect("read").expect("row");
    assert_eq!(row.status, OutboxStatus::Sent);
    assert_eq!(row.attempts, 2, "the dead process's attempt stays counted");
    assert_eq!(h.sink.messages().len(), 1);

    let live = h.enqueue("live@example.com", &sample(EmailKind::ForgotPassword, "en")).await;
    store.outbox_heartbeat("proc-live").await.expect("heartbeat");
    let now = store.now().await.expect("db time");
    assert_eq!(store.claim_outbox(now, "proc-live", timeout, 10).await.expect("claim").len(), 1);
    for _ in 0..30 {
        store.advance_test_clock(1_000).await.expect("advance");
        store.outbox_heartbeat("proc-live").await.expect("heartbeat");
        worker.owner().beat().await.expect("beat");
        assert_eq!(worker.run_once().await.expect("round"), 0, "a live process's claim was taken over");
    }
    assert_eq!(h.sink.messages().len(), 1, "nothing sent twice");
    // A clean shutdown hands its rows over at once.
    store.retire_outbox_owner("proc-live").await.expect("retire");
    assert_eq!(worker.run_once().await.expect("round"), 1);
    assert_eq!(store.outbox_message(&live.id).await.expect("read").expect("row").status, OutboxStatus::Sent);
}

/// While the relay refuses connections, messages with a live code are retried at most
/// `urgent_retry_max` apart; the first send that succeeds releases all the others at once.
async fn a_successful_send_releases_messages_deferred_by_a_relay_outage(backend: Backend) {
    let long = WorkerSettings {
        retry_base: Duration::from_secs(600),
        retry_max: Duration::from_secs(3600),
        urgent_retry_max: Duration::from_secs(600),
        ..settings()
    };
    let h = Harness::start(backend, long).await;
    h.sink.set_behavior(Behavior { refuse_connections: true, ..Behavior::default() });
    for i in 0..5 {
        h.enqueue(&format!("user{i}@example.com"), &sample(EmailKind::ForgotPassword, "en")).await;
    }
    assert_eq!(h.worker.run_once().await.expect("round"), 5);
    assert!(h.store.outbox_messages(Some(OutboxStatus::Deferred), 10).await.expect("list").len() == 5);

    h.sink.set_behavior(Behavior::default());
    // One fresh message gets through; the five deferred ones follow without their back-off.
    h.enqueue("fresh@example.com", &sample(EmailKind::ForgotPassword, "en")).await;
    assert_eq!(h.worker.run_once().await.expect("round"), 1);
    assert_eq!(h.worker.run_once().await.expect("round"), 5, "released by the successful send");
    assert_eq!(h.sink.messages().len(), 6);
    assert!(h.store.outbox_messages(Some(OutboxStatus::Deferred), 10).await.expect("list").is_empty());
}

/// A row this process owns but no worker of it is handling (an outcome the database failed to
/// record, a claim whose answer was lost) would wait for the process's shutdown, since nobody
/// else may claim it while the process beats: the worker gives it back after the owner timeout.
async fn a_claim_its_own_process_forgot_is_released_after_the_owner_timeout(backend: Backend) {
    let h = Harness::start(backend, settings()).await;
    let store = h.store.clone().with_test_clock();
    let worker = new_worker(&store, &h.sink, &h.renderer, settings(), &h.wake);
    let timeout = i64::try_from(settings().owner_timeout.as_millis()).expect("small");
    let forgotten = h.enqueue("forgotten@example.com", &sample(EmailKind::ForgotPassword, "en")).await;
    worker.owner().beat().await.expect("beat");
    let now = store.now().await.expect("db time");
    assert_eq!(store.claim_outbox(now, worker.owner().id(), timeout, 10).await.expect("claim").len(), 1);
    assert_eq!(worker.run_once().await.expect("round"), 0, "a fresh claim is left alone");
    store.advance_test_clock(timeout + 1).await.expect("advance");
    worker.owner().beat().await.expect("beat");
    assert_eq!(worker.run_once().await.expect("round"), 1, "released and claimed again");
    assert_eq!(store.outbox_message(&forgotten.id).await.expect("read").expect("row").status, OutboxStatus::Sent);
    assert_eq!(h.sink.messages().len(), 1);
}
