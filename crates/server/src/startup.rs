//! Building and running the server. Production (`main.rs`) and the test harness start it the
//! same way (Zero To Production's `Application`): `build` binds (port 0 allowed), connects and
//! migrates, loads the key ring and syncs configured clients; `run_until_stopped` serves until
//! the injected shutdown future resolves, then drains requests and stops the workers.
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use latchkey_email::{OutboxOwner, OutboxWorker, Transport, WorkerSettings};
use latchkey_store::{ClientRecord, ClientSource, Store};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::crypto::keyring::KeyRing;
use crate::crypto::master;
use crate::crypto::password::PasswordHasher;
use crate::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot listen on {0}: {1} (is another process using the port? set LATCHKEY_LISTEN)")]
    Bind(String, std::io::Error),
    #[error("cannot serve metrics on {0}: {1} (set LATCHKEY_METRICS_LISTEN to a free address, or to off)")]
    MetricsBind(SocketAddr, std::io::Error),
    #[error("the data directory {0} cannot be created: {1}")]
    DataDir(String, std::io::Error),
    #[error("the database is unreachable or unusable ({0}); check LATCHKEY_DATABASE_URL")]
    Database(latchkey_store::StoreError),
    #[error(transparent)]
    MasterKey(#[from] master::MasterKeyError),
    #[error(transparent)]
    Keys(#[from] crate::crypto::keyring::KeyRingError),
    #[error("mail delivery: {0}")]
    Mail(String),
    #[error("{0}")]
    Other(String),
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
    transport: Arc<Transport>,
    mailbox: Option<std::path::PathBuf>,
    dkim: Option<Arc<lettre::message::dkim::DkimConfig>>,
    outbox_key: [u8; 32],
    /// This process's identity as an outbox owner, shared by its workers.
    owner: Arc<OutboxOwner>,
    /// The `/metrics` listener and the process's recorder (`None` with `metrics.listen = off`).
    metrics: Option<(TcpListener, metrics_exporter_prometheus::PrometheusHandle)>,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        settings.validate()?;
        if settings.server.tls_cert.is_some() {
            return Err(StartupError::Other(
                "LATCHKEY_TLS_CERT/LATCHKEY_TLS_KEY: in-process TLS is not available in this version; terminate TLS at a reverse proxy and set LATCHKEY_PUBLIC_URL to its https address".to_owned(),
            ));
        }
        if settings.unsafe_test_settings {
            tracing::warn!(
                "LATCHKEY_UNSAFE_TEST_SETTINGS is on: limits below their safe floors are accepted. Never use this in production."
            );
        }
        let data_dir = settings.server.data_dir.clone();
        crate::files::create_private_dir(&data_dir).map_err(|e| StartupError::DataDir(data_dir.display().to_string(), e))?;
        let addr = settings.listen_addr()?;
        let listener = TcpListener::bind(addr).await.map_err(|e| StartupError::Bind(addr.to_string(), e))?;
        let local = listener.local_addr().map_err(|e| StartupError::Bind(addr.to_string(), e))?;
        let metrics = bind_metrics(&settings).await?;
        let public_url = match &settings.server.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if local.ip().is_loopback() => format!("http://{local}"),
            None => {
                return Err(StartupError::Other(format!(
                    "LATCHKEY_PUBLIC_URL is required when listening on {local}: set it to the https address clients use"
                )))
            }
        };
        let database_url = settings.database_url();
        let store = connect_store(&database_url).await?;
        // Tests move time instead of sleeping (the controllable clock); never in production.
        let store = if settings.unsafe_test_settings { store.with_test_clock() } else { store };
        let is_postgres = store.dialect() == latchkey_store::Dialect::Postgres;
        let master_key = master::load(settings.database.master_key_file.as_deref(), &data_dir, is_postgres)?;
        let now = store.now().await.map_err(StartupError::Database)?;
        let keys = KeyRing::load(&store, &master_key, now).await?;
        let hasher = password_hasher(&settings).map_err(|e| StartupError::Other(e.to_string()))?;
        sync_configured_clients(&store, &settings, now).await?;
        let (transport, mailbox) = match &settings.smtp.url {
            Some(url) => (
                Transport::smtp(url.expose_secret(), Duration::from_secs(settings.smtp.timeout_secs))
                    .map_err(|e| StartupError::Mail(e.to_string()))?,
                None,
            ),
            None => {
                let dir = data_dir.join("mailbox");
                crate::files::create_owned_private_dir(&dir).map_err(|e| StartupError::DataDir(dir.display().to_string(), e))?;
                (Transport::mailbox(dir.clone()), Some(dir))
            }
        };
        let dkim = load_dkim(&settings.smtp)?;
        // The outbox key is read here, from the ring just loaded, and handed to every worker: a
        // worker built later must never fall back to a made-up key (every message it claimed
        // would then fail for good).
        let outbox_key = keys.outbox_key();
        let state = AppState::new(settings, public_url, store, (keys, master_key), hasher, Arc::new(Notify::new()))?;
        let owner = Arc::new(OutboxOwner::new(state.store.clone(), Duration::from_secs(state.settings.outbox.owner_timeout_secs)));
        let app = Self { listener, state, transport: Arc::new(transport), mailbox, dkim, outbox_key, owner, metrics };
        worker_settings(&app.state).validate(app.transport.timeout()).map_err(|e| StartupError::Mail(e.to_string()))?;
        Ok(app)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Where `GET /metrics` answers, unless metrics are off.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|(listener, _)| listener.local_addr().ok())
    }

    pub fn public_url(&self) -> &str {
        &self.state.public_url
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// In development, where emails are written (`{DATA_DIR}/mailbox`).
    pub fn mailbox_dir(&self) -> Option<&std::path::Path> {
        self.mailbox.as_deref()
    }

    /// A worker over this server's outbox, for tests that drain it deterministically.
    pub fn outbox_worker(&self) -> OutboxWorker {
        outbox_worker(&self.state, self.transport.clone(), self.dkim.clone(), self.outbox_key, self.owner.clone())
    }

    /// This process's outbox owner identity (tests compare it with the rows' owners).
    pub fn outbox_owner(&self) -> &Arc<OutboxOwner> {
        &self.owner
    }

    /// Whether the development pages are routed: dev mode, on a loopback listener (finding 11a).
    fn dev_pages(&self) -> bool {
        if !self.state.settings.dev {
            return false;
        }
        match crate::hosted::dev_pages_served_on(self.local_addr()) {
            Ok(()) => true,
            Err(why) => {
                tracing::warn!("{why}");
                false
            }
        }
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let stop = CancellationToken::new();
        let mut tasks = Vec::new();
        for _ in 0..self.state.settings.outbox.workers.max(1) {
            let worker = outbox_worker(&self.state, self.transport.clone(), self.dkim.clone(), self.outbox_key, self.owner.clone());
            let token = stop.clone();
            tasks.push(tokio::spawn(async move { worker.run(async move { token.cancelled().await }).await }));
        }
        tasks.push(tokio::spawn(purge_loop(self.state.clone(), stop.clone())));
        tasks.push(tokio::spawn(crate::crypto::rotation::key_loop(self.state.clone(), stop.clone())));
        let app = crate::http::router(self.state.clone(), self.dev_pages());
        let grace = Duration::from_secs(self.state.settings.server.shutdown_grace_secs);
        let signalled = CancellationToken::new();
        let signalled_for_server = signalled.clone();
        tokio::spawn(async move {
            shutdown.await;
            signalled.cancel();
        });
        let server = &self.state.settings.server;
        let limits = crate::http::serve::ConnectionLimits {
            header_read_timeout: Duration::from_secs(server.header_read_timeout_secs),
            max_connections: server.max_connections,
        };
        if let Some((listener, handle)) = self.metrics {
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(%addr, "metrics at http://{addr}/metrics");
            }
            let metrics = crate::metrics::router(self.state.clone(), handle);
            tasks.push(tokio::spawn(crate::http::serve::serve(listener, metrics, limits, signalled_for_server.clone(), grace)));
        }
        // In-flight requests get `grace` to finish once the signal arrived.
        crate::http::serve::serve(self.listener, app, limits, signalled_for_server, grace).await;
        stop.cancel();
        for task in tasks {
            let _ = tokio::time::timeout(grace, task).await;
        }
        // The workers are done: rows this process still owns become claimable at once.
        if let Err(error) = self.owner.retire().await {
            tracing::warn!(%error, "could not remove the outbox heartbeat; other processes take over after the owner timeout");
        }
        self.state.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The Argon2id hasher `password.*` configures (the server's, and `users import`'s).
pub fn password_hasher(settings: &Settings) -> Result<PasswordHasher, crate::crypto::password::HashError> {
    let p = &settings.password;
    PasswordHasher::new(
        p.argon2_memory_kib,
        p.argon2_iterations,
        p.argon2_parallelism,
        p.hashing_concurrency,
        Duration::from_secs(p.hashing_queue_timeout_secs),
        p.hashing_queue_max,
    )
}

/// Binds the metrics listener and installs the process's recorder, unless metrics are off.
async fn bind_metrics(settings: &Settings) -> Result<Option<(TcpListener, metrics_exporter_prometheus::PrometheusHandle)>, StartupError> {
    let Some(addr) = settings.metrics_addr()? else { return Ok(None) };
    let listener = TcpListener::bind(addr).await.map_err(|e| StartupError::MetricsBind(addr, e))?;
    let handle = crate::metrics::recorder().map_err(StartupError::Other)?;
    Ok(Some((listener, handle)))
}

/// Connects and migrates; a SQLite database and its journal files are owner-only (finding 11b).
pub async fn connect_store(database_url: &str) -> Result<Store, StartupError> {
    let private = |e: std::io::Error| StartupError::Other(format!("the SQLite database file cannot be made owner-only: {e}"));
    crate::files::prepare_sqlite(database_url).map_err(private)?;
    let store = Store::connect(database_url).await.map_err(StartupError::Database)?;
    crate::files::restrict_sqlite(database_url).map_err(private)?;
    Ok(store)
}

fn outbox_worker(
    state: &AppState,
    transport: Arc<Transport>,
    dkim: Option<Arc<lettre::message::dkim::DkimConfig>>,
    outbox_key: [u8; 32],
    owner: Arc<OutboxOwner>,
) -> OutboxWorker {
    OutboxWorker::new(state.store.clone(), transport, state.renderer.clone(), outbox_key, worker_settings(state), state.outbox_wake.clone())
        .with_dkim(dkim)
        .with_owner(owner)
}

/// The DKIM signing configuration, when `smtp.dkim_key_file` is set (with its selector and
/// domain). A key that cannot be read stops the start: mail would otherwise go out unsigned.
fn load_dkim(smtp: &crate::config::SmtpSettings) -> Result<Option<Arc<lettre::message::dkim::DkimConfig>>, StartupError> {
    let Some(file) = &smtp.dkim_key_file else { return Ok(None) };
    let (Some(selector), Some(domain)) = (&smtp.dkim_selector, &smtp.dkim_domain) else {
        return Err(StartupError::Mail("smtp.dkim_key_file needs smtp.dkim_selector and smtp.dkim_domain".to_owned()));
    };
    let key = zeroize::Zeroizing::new(
        std::fs::read_to_string(file).map_err(|e| StartupError::Mail(format!("smtp.dkim_key_file {}: {e}", file.display())))?,
    );
    let config = latchkey_email::dkim_config(&key, selector, domain).map_err(|e| StartupError::Mail(format!("smtp.dkim_key_file: {e}")))?;
    Ok(Some(Arc::new(config)))
}

fn worker_settings(state: &AppState) -> WorkerSettings {
    let s = &state.settings;
    let domain = url::Url::parse(&state.public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "latchkey.local".to_owned());
    WorkerSettings {
        from: s.smtp.from.clone(),
        max_attempts: s.outbox.max_attempts,
        retry_base: Duration::from_secs(s.outbox.retry_base_secs),
        retry_max: Duration::from_secs(s.outbox.retry_max_secs),
        owner_timeout: Duration::from_secs(s.outbox.owner_timeout_secs),
        urgent_retry_max: Duration::from_secs(s.outbox.urgent_retry_max_secs),
        poll_interval: Duration::from_millis(s.outbox.poll_interval_ms),
        message_id_domain: domain,
    }
}

/// Removes expired transactions, codes, finished mail and System Log events past their
/// retention every minute.
async fn purge_loop(state: AppState, stop: CancellationToken) {
    let retention = crate::config::ms(state.settings.system_log.retention_days.saturating_mul(86_400));
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
        let outcome = async { state.store.purge_expired(state.store.now().await?, retention).await }.await;
        match outcome {
            Ok(removed) if removed > 0 => tracing::info!(removed, "purged expired records"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "purge failed"),
        }
    }
}

/// Clients declared in the configuration file are created or updated at every start.
async fn sync_configured_clients(store: &Store, settings: &Settings, now: i64) -> Result<(), StartupError> {
    for configured in &settings.clients {
        let record = ClientRecord {
            client_id: configured.client_id.clone(),
            client_name: if configured.client_name.is_empty() { configured.client_id.clone() } else { configured.client_name.clone() },
            secret_digest: configured.client_secret.as_ref().map(|s| latchkey_domain::secret::sha256_hex(s.expose_secret())),
            auth_method: if configured.client_secret.is_some() { "client_secret_basic".to_owned() } else { "none".to_owned() },
            redirect_uris: configured.redirect_uris.clone(),
            trusted_origins: configured.trusted_origins.clone(),
            post_logout_redirect_uris: configured.post_logout_redirect_uris.clone(),
            grant_types: vec!["authorization_code".to_owned(), "interaction_code".to_owned(), "refresh_token".to_owned()],
            created_at: now,
        };
        let outcome = match store.client(&record.client_id).await {
            Ok(Some(_)) => store.update_client(&record, None, now).await,
            // Processes of one deployment start together: another may insert the client
            // between the read and the insert; then this one updates it like any restart.
            Ok(None) => match store.insert_client(&record, ClientSource::Config, None, now).await {
                Err(latchkey_store::StoreError::Conflict(_)) => store.update_client(&record, None, now).await,
                other => other,
            },
            Err(e) => Err(e),
        };
        outcome.map_err(StartupError::Database)?;
    }
    Ok(())
}
