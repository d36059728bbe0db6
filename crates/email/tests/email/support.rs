//! Shared fixtures: sample payloads, a fresh database + sink + worker.

use std::sync::Arc;
use std::time::Duration;

use latchkey_email::{new_outbox_message, EmailKind, EmailPayload, OutboxWorker, Renderer, Transport, WorkerSettings};
use latchkey_mail_sink::MailSink;
use latchkey_store::testing::{fresh, Backend, TestDatabase};
use latchkey_store::{NewMessage, Store};
use tokio::sync::Notify;

pub const KEY: [u8; 32] = [42; 32];
pub const CODE: &str = "739215";
pub const LINK: &str = "https://id.example/signin/reset-password?token=t0k3n&x=1";
pub const ACTIVATION: &str = "https://id.example/welcome/act1vat3";
/// The "Not you?" link a security notice composes from `${baseURL}` and its token.
pub const NOT_ME_TOKEN: &str = "n0t-m3_t0k3n";
pub const NOT_ME_LINK: &str = "https://id.example/account/not-me?token=n0t-m3_t0k3n";

/// A payload with every variable its kind uses filled.
pub fn sample(kind: EmailKind, locale: &str) -> EmailPayload {
    let payload = EmailPayload::new(kind)
        .with_locale(locale)
        .with("user.profile.firstName", "Jane")
        .with("user.profile.login", "jane@example.com")
        .with("org.name", "Example Corp")
        .with("org.supportEmail", "help@example.com")
        .with("baseURL", "https://id.example")
        .with("request.time", "2026-11-30T19:07:00Z")
        .with("request.browser", "Firefox on Linux")
        .with("request.ipAddress", "203.0.113.7")
        .with("request.expiresInMinutes", "10");
    match kind {
        EmailKind::ForgotPassword | EmailKind::PasswordResetByAdmin => {
            payload.with("oneTimePassword", CODE).with("resetPasswordLink", LINK).with("request.relayState", "st4te")
        }
        EmailKind::UserActivation => payload.with("activationLink", ACTIVATION).with("request.expiresInMinutes", "10080"),
        EmailKind::LockoutNotice => payload,
        EmailKind::PasswordChanged => {
            payload.with("request.reportSuspiciousActivityToken", NOT_ME_TOKEN).with("request.expiresInMinutes", "10080")
        }
        EmailKind::AuthenticatorEnrolled => payload
            .with("request.factor", "Google Authenticator")
            .with("request.reportSuspiciousActivityToken", NOT_ME_TOKEN)
            .with("request.expiresInMinutes", "10080"),
        EmailKind::AuthenticatorReset => payload
            .with("request.factors", "Google Authenticator")
            .with("request.reportSuspiciousActivityToken", NOT_ME_TOKEN)
            .with("request.expiresInMinutes", "10080"),
    }
}

pub fn settings() -> WorkerSettings {
    WorkerSettings {
        from: "Example Corp <no-reply@id.example>".to_owned(),
        max_attempts: 5,
        retry_base: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        owner_timeout: Duration::from_secs(5),
        urgent_retry_max: Duration::from_secs(5),
        poll_interval: Duration::from_millis(100),
        message_id_domain: "id.example".to_owned(),
    }
}

pub struct Harness {
    pub db: TestDatabase,
    pub store: Store,
    pub sink: MailSink,
    pub worker: OutboxWorker,
    pub renderer: Arc<Renderer>,
    pub wake: Arc<Notify>,
}

impl Harness {
    pub async fn start(backend: Backend, settings: WorkerSettings) -> Self {
        let db = fresh(backend).await;
        let store = Store::connect(&db.url).await.expect("connect to the test database");
        let sink = MailSink::start().await.expect("start the mail sink");
        let renderer = Arc::new(Renderer::with_defaults());
        let wake = Arc::new(Notify::new());
        let worker = new_worker(&store, &sink, &renderer, settings, &wake);
        Self { db, store, sink, worker, renderer, wake }
    }

    /// Queues `payload` to `to`, expiring with a ten-minute code; returns the row as queued.
    pub async fn enqueue(&self, to: &str, payload: &EmailPayload) -> NewMessage {
        let now = self.store.now().await.expect("db time");
        self.enqueue_expiring(to, payload, Some(now + 600_000)).await
    }

    pub async fn enqueue_expiring(&self, to: &str, payload: &EmailPayload, expires_at: Option<i64>) -> NewMessage {
        let now = self.store.now().await.expect("db time");
        let message = new_outbox_message(&KEY, to, payload, expires_at).expect("seal the payload");
        self.store.enqueue_message(&message, now).await.expect("enqueue");
        message
    }
}

pub fn new_worker(store: &Store, sink: &MailSink, renderer: &Arc<Renderer>, settings: WorkerSettings, wake: &Arc<Notify>) -> OutboxWorker {
    let transport = Transport::smtp(&sink.smtp_url(), Duration::from_secs(5)).expect("loopback SMTP transport");
    OutboxWorker::new(store.clone(), Arc::new(transport), renderer.clone(), KEY, settings, wake.clone())
}

/// Generates a SQLite and a PostgreSQL test from `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(latchkey_store::testing::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name(latchkey_store::testing::Backend::Postgres).await;
            }
        }
    )*};
}
