//! Configuration: one typed tree, loaded once at start.
//!
//! Sources, later ones winning: embedded defaults, `latchkey.toml` (or the file named by
//! `LATCHKEY_CONFIG`), `LATCHKEY_<SECTION>__<KEY>` variables, then the short variables operators
//! and harnesses rely on (`LATCHKEY_LISTEN`, `LATCHKEY_DATABASE_URL`, …; see `SHORT_NAMES`).
//! Secrets may come from `*_FILE` variables instead. Every lifetime, counter and limit of the
//! security checklist (§2) is a named key; a value below its safe floor is refused unless
//! `LATCHKEY_UNSAFE_TEST_SETTINGS=1`.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use latchkey_domain::throttle::{MailLimits, SignInThrottle};
use latchkey_domain::{OtpPolicy, PasswordPolicy, MINUTE, SECOND};
use schemars::JsonSchema;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Short variable → dotted key. These are part of Latchkey's interface: tests and operators
/// depend on them (issue "identity server core").
pub const SHORT_NAMES: &[(&str, &str)] = &[
    ("LATCHKEY_LISTEN", "server.listen"),
    ("LATCHKEY_PUBLIC_URL", "server.public_url"),
    ("LATCHKEY_DATA_DIR", "server.data_dir"),
    ("LATCHKEY_TRUSTED_PROXIES", "server.trusted_proxies"),
    ("LATCHKEY_TLS_CERT", "server.tls_cert"),
    ("LATCHKEY_TLS_KEY", "server.tls_key"),
    ("LATCHKEY_DATABASE_URL", "database.url"),
    ("LATCHKEY_MASTER_KEY_FILE", "database.master_key_file"),
    ("LATCHKEY_ADMIN_TOKEN", "admin.token"),
    ("LATCHKEY_ADMIN_EMAIL", "admin.email"),
    ("LATCHKEY_SMTP_URL", "smtp.url"),
    ("LATCHKEY_MAIL_FROM", "smtp.from"),
    ("LATCHKEY_METRICS_LISTEN", "metrics.listen"),
    ("LATCHKEY_LOG_FORMAT", "log.format"),
];

/// The shortest `admin.token` and configured `[[clients]] client_secret` accepted: both are
/// bearer secrets stored as a plain SHA-256, so their length is what stands against guessing.
const SECRET_MIN_CHARS: usize = 32;

/// More connections than any single process should hold open (each is a file descriptor).
const MAX_CONNECTIONS_CEILING: usize = 100_000;

/// Secrets that may be given as a file path in `<NAME>_FILE`.
const FILE_SECRETS: &[(&str, &str)] =
    &[("LATCHKEY_ADMIN_TOKEN_FILE", "admin.token"), ("LATCHKEY_SMTP_URL_FILE", "smtp.url"), ("LATCHKEY_DATABASE_URL_FILE", "database.url")];

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub admin: AdminSettings,
    pub smtp: SmtpSettings,
    pub org: OrgSettings,
    pub otp: OtpSettings,
    pub recovery: RecoverySettings,
    pub signin: SignInSettings,
    pub password: PasswordSettings,
    pub tokens: TokenSettings,
    pub sessions: SessionSettings,
    pub keys: KeySettings,
    pub outbox: OutboxSettings,
    pub metrics: MetricsSettings,
    pub log: LogSettings,
    pub system_log: SystemLogSettings,
    pub webauthn: WebauthnSettings,
    pub clients: Vec<ClientSettings>,
    /// Set from `LATCHKEY_UNSAFE_TEST_SETTINGS`; never from the file.
    #[serde(skip)]
    pub unsafe_test_settings: bool,
    /// Set by `serve --dev` / `demo`; never from the file.
    #[serde(skip)]
    pub dev: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSettings {
    /// Address to listen on; port 0 picks a free one.
    pub listen: String,
    /// The URL clients use (https except on loopback); defaults to the bound address on loopback.
    pub public_url: Option<String>,
    /// Where the SQLite database, the generated master key and the dev mailbox live.
    pub data_dir: PathBuf,
    /// Comma-separated CIDRs (or a TOML array) whose `X-Forwarded-For` is believed.
    #[serde(deserialize_with = "string_or_list")]
    #[schemars(with = "Vec<String>")]
    pub trusted_proxies: Vec<String>,
    /// Not supported in this version: terminate TLS at a reverse proxy.
    pub tls_cert: Option<PathBuf>,
    /// Not supported in this version: terminate TLS at a reverse proxy.
    pub tls_key: Option<PathBuf>,
    /// Requests still running at shutdown get this long to finish.
    pub shutdown_grace_secs: u64,
    /// A request still running after this long gets 408.
    pub request_timeout_secs: u64,
    /// A client must send a request's whole head (request line and headers) within this long
    /// after the connection opens or goes idle, or the connection is closed: slowloris clients
    /// otherwise hold sockets forever (finding 4, INP-1). At most 10.
    pub header_read_timeout_secs: u64,
    /// Connections served at once; further ones wait in the listen backlog until one closes.
    /// Keep it well below the process's open-file limit (`ulimit -n`), which the database
    /// pool, the mailbox and the listener share (finding 4).
    pub max_connections: usize,
    /// Whether HSTS (sent when `public_url` is https) covers subdomains too. Turn it off only
    /// when a sibling host under the same domain must still be reachable over plain http.
    pub hsts_include_subdomains: bool,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".to_owned(),
            public_url: None,
            data_dir: PathBuf::from("./latchkey-data"),
            trusted_proxies: Vec::new(),
            tls_cert: None,
            tls_key: None,
            shutdown_grace_secs: 20,
            request_timeout_secs: 30,
            header_read_timeout_secs: 10,
            // Half the common soft open-file limit (1024), leaving room for everything else.
            max_connections: 512,
            hsts_include_subdomains: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseSettings {
    /// `sqlite://…` or `postgres://…`; default: a SQLite file in the data directory.
    #[serde(serialize_with = "serialize_secret_opt")]
    #[schemars(with = "Option<String>")]
    pub url: Option<SecretString>,
    /// 32 random bytes (raw, base64 or hex) sealing the keys in the database; required with PostgreSQL, generated in the data directory with SQLite. Back it up with the database.
    pub master_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AdminSettings {
    /// The management API token (at least 32 characters), sent as `Authorization: SSWS <token>`; without it `/api/v1/*` answers 401.
    #[serde(serialize_with = "serialize_secret_opt")]
    #[schemars(with = "Option<String>")]
    pub token: Option<SecretString>,
    /// Where test emails (`sendTestEmail`) go.
    pub email: Option<String>,
    /// Allow `sendEmail=false` on activation and admin reset, which hands a set-password link
    /// to the administrator instead of the user. Off by default (security-checklist ADM-3).
    pub return_links: bool,
    /// Requests with a wrong or missing admin token per client IP per hour before 429 (RL-3).
    pub per_ip_failures_per_hour: i64,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self { token: None, email: None, return_links: false, per_ip_failures_per_hour: 20 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpSettings {
    /// `smtps://user:pass@host` (implicit TLS) or `smtp://host:587` (STARTTLS required, except to loopback or with `?tls=none`).
    #[serde(serialize_with = "serialize_secret_opt")]
    #[schemars(with = "Option<String>")]
    pub url: Option<SecretString>,
    /// The From address of every email.
    pub from: String,
    /// How long one SMTP exchange may take.
    pub timeout_secs: u64,
    /// DKIM private key: RSA in PKCS#1 PEM or a base64 Ed25519 seed; signing is off without it.
    pub dkim_key_file: Option<PathBuf>,
    /// DKIM selector (the `s=` tag; the public key is published at `<selector>._domainkey.<domain>`).
    pub dkim_selector: Option<String>,
    /// DKIM signing domain (the `d=` tag), normally the domain of `smtp.from`.
    pub dkim_domain: Option<String>,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            url: None,
            from: "Latchkey <no-reply@localhost>".to_owned(),
            timeout_secs: 30,
            dkim_key_file: None,
            dkim_selector: None,
            dkim_domain: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OrgSettings {
    /// The organisation name in emails and pages.
    pub name: String,
    /// The support address shown in emails.
    pub support_email: Option<String>,
}

impl Default for OrgSettings {
    fn default() -> Self {
        Self { name: "Latchkey".to_owned(), support_email: None }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OtpSettings {
    /// Length of an emailed recovery code.
    pub digits: usize,
    /// How long a recovery code lives.
    pub lifetime_secs: u64,
    /// Wrong answers one code survives.
    pub max_attempts: i64,
    /// Wrong codes for one account before its back-off starts.
    pub account_backoff_after: i64,
    /// The back-off's first wait; it doubles per further failure.
    pub account_backoff_base_secs: u64,
    /// The back-off's longest wait.
    pub account_backoff_max_secs: u64,
    /// Wrong codes for one account after which codes silently stop working until it recovers another way.
    pub account_ceiling: i64,
    /// Wrong codes per client IP per hour before 429 (security-checklist RL-3).
    pub per_ip_failures_per_hour: i64,
}

impl Default for OtpSettings {
    fn default() -> Self {
        let p = OtpPolicy::default();
        Self {
            digits: p.digits,
            lifetime_secs: secs(p.lifetime),
            max_attempts: p.max_attempts_per_code,
            account_backoff_after: p.account_backoff_after,
            account_backoff_base_secs: secs(p.account_backoff_base),
            account_backoff_max_secs: secs(p.account_backoff_max),
            account_ceiling: p.account_ceiling,
            per_ip_failures_per_hour: 100,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RecoverySettings {
    /// Lifetime of an IDX transaction (security-checklist §2: 30 min, outliving the code).
    pub transaction_lifetime_secs: u64,
    /// How long a verified code allows setting the password (§2 "Reset grant": 10 min).
    pub reset_grant_secs: u64,
    /// Least time between two recovery emails to one identifier.
    pub mail_min_gap_secs: u64,
    /// Recovery emails per identifier per hour.
    pub mail_per_hour: usize,
    /// Recovery emails per identifier per day.
    pub mail_per_day: usize,
    /// Recovery starts (identify-recovery) per client IP per hour (§2: 20).
    pub per_ip_per_hour: i64,
    /// Lifetime of the activation link a new user is emailed (7 days; 1 hour to 30 days).
    pub activation_token_secs: u64,
    /// Lifetime of the set-password link of an administrator's reset (60 min; 5 min to 24 h).
    pub admin_reset_token_secs: u64,
    /// Lifetime of the "Not you?" link in security notices (PasswordChanged,
    /// AuthenticatorEnrolled, AuthenticatorReset): 7 days; 1 day to 30 days.
    pub not_me_token_secs: u64,
}

impl Default for RecoverySettings {
    fn default() -> Self {
        let m = MailLimits::default();
        Self {
            transaction_lifetime_secs: 30 * 60,
            reset_grant_secs: 10 * 60,
            mail_min_gap_secs: secs(m.min_gap),
            mail_per_hour: m.per_hour,
            mail_per_day: m.per_day,
            per_ip_per_hour: 20,
            activation_token_secs: 7 * 24 * 3600,
            admin_reset_token_secs: 3600,
            not_me_token_secs: secs(latchkey_domain::containment::DEFAULT_LINK_LIFETIME),
        }
    }
}

/// Passkeys (WebAuthn): the relying party browsers bind each passkey to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct WebauthnSettings {
    /// The relying party id: the domain passkeys are bound to, the host of `rp_origin` or a
    /// parent domain of it (never an IP address). Default: the host of `rp_origin`. Changing it
    /// orphans every registered passkey.
    pub rp_id: Option<String>,
    /// The origin the browser reports in every WebAuthn response (scheme, host, port), where
    /// the sign-in page runs. Default: the origin of `server.public_url`. When neither is set
    /// and the public URL's host is an IP address, passkeys are not offered.
    pub rp_origin: Option<String>,
    /// Further origins a passkey may answer from: the pages of applications that embed the
    /// sign-in widget (the browser reports the page's origin). Each must be on `rp_id`'s domain
    /// (`LATCHKEY_WEBAUTHN__EXTRA_ORIGINS` takes a TOML list, e.g. `["https://app.example.com"]`).
    pub extra_origins: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SignInSettings {
    /// Failed sign-ins of one identifier before a delay is imposed.
    pub free_failures: i64,
    /// The first delay; it doubles per further failure.
    pub first_delay_secs: u64,
    /// The longest delay.
    pub max_delay_secs: u64,
    /// Consecutive failures after which the account is locked until recovery (RL-1: 100).
    pub lockout_after: i64,
    /// Failed sign-ins per client IP per hour before 429 (§2: 100).
    pub per_ip_failures_per_hour: i64,
    /// How long the second step of a sign-in may take after the password, when the app sign-in
    /// rule asks for a second factor (60–1800).
    pub second_factor_secs: u64,
}

impl Default for SignInSettings {
    fn default() -> Self {
        let t = SignInThrottle::default();
        Self {
            free_failures: t.free_failures,
            first_delay_secs: secs(t.first_delay),
            max_delay_secs: secs(t.max_delay),
            lockout_after: 100,
            per_ip_failures_per_hour: 100,
            second_factor_secs: 300,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordSettings {
    /// Shortest password accepted.
    pub min_length: usize,
    /// Longest password accepted.
    pub max_length: usize,
    /// Least zxcvbn score (0–4) accepted.
    pub min_strength: u8,
    /// Argon2id memory cost (at least 19456 KiB).
    pub argon2_memory_kib: u32,
    /// Argon2id time cost (at least 2).
    pub argon2_iterations: u32,
    /// Argon2id lanes.
    pub argon2_parallelism: u32,
    /// Concurrent hashes; 0 means the number of CPU cores (STO-2).
    pub hashing_concurrency: usize,
    /// How long a request may wait for a hashing slot before it gets 503.
    pub hashing_queue_timeout_secs: u64,
    /// How many requests may wait for a hashing slot at once (beyond those hashing); one more
    /// gets 503 with `Retry-After` at once, so a burst of sign-ins cannot pile up memory.
    pub hashing_queue_max: usize,
}

impl Default for PasswordSettings {
    fn default() -> Self {
        let p = PasswordPolicy::default();
        Self {
            min_length: p.min_length,
            max_length: p.max_length,
            min_strength: p.min_strength,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            hashing_concurrency: 0,
            hashing_queue_timeout_secs: 10,
            hashing_queue_max: 128,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TokenSettings {
    /// Access and ID token lifetime (§2: 10 min).
    pub access_token_secs: u64,
    /// Interaction and authorization codes (§2: 60 s, single use).
    pub code_secs: u64,
    /// A refresh token unused this long is dead (§2, OA-7: 7 days).
    pub refresh_idle_secs: u64,
    /// A refresh-token family ends this long after the sign-in that started it (§2: 30 days).
    pub refresh_absolute_secs: u64,
    /// Refused token requests (bad client credentials, dead codes, reused refresh tokens) per
    /// client IP per hour before 429 (RL-3).
    pub per_ip_failures_per_hour: i64,
}

impl Default for TokenSettings {
    fn default() -> Self {
        let r = latchkey_domain::refresh::RefreshPolicy::default();
        Self {
            access_token_secs: 600,
            code_secs: 60,
            refresh_idle_secs: secs(r.idle),
            refresh_absolute_secs: secs(r.absolute),
            per_ip_failures_per_hour: 100,
        }
    }
}

/// Identity-provider sessions (security-checklist SES-4).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SessionSettings {
    /// A session unused this long ends (§2: 1 h).
    pub idle_secs: u64,
    /// A session ends this long after sign-in, however active (§2: 24 h).
    pub absolute_secs: u64,
}

impl Default for SessionSettings {
    fn default() -> Self {
        let p = latchkey_domain::session::SessionPolicy::default();
        Self { idle_secs: secs(p.idle), absolute_secs: secs(p.absolute) }
    }
}

/// The System Log (`GET /api/v1/logs`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SystemLogSettings {
    /// Events older than this many days are deleted by the purge loop (Okta keeps 90 days).
    pub retention_days: u64,
}

impl Default for SystemLogSettings {
    fn default() -> Self {
        Self { retention_days: 90 }
    }
}

/// Token signing keys (shared/README "Keys shared by all processes").
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KeySettings {
    /// Scheduled rotation: a new signing key when the newest is this many days old (0: never).
    pub rotate_after_days: u64,
    /// From JWKS publication to first signature; at least `jwks_cache_secs + reload_secs`.
    pub publish_delay_secs: u64,
    /// `Cache-Control: max-age` of the JWKS responses.
    pub jwks_cache_secs: u64,
    /// How often each process re-reads the key ring, picking up other processes' keys.
    pub reload_secs: u64,
}

impl Default for KeySettings {
    fn default() -> Self {
        Self { rotate_after_days: 90, publish_delay_secs: 900, jwks_cache_secs: 300, reload_secs: 60 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxSettings {
    /// Tries before a transiently failing email is marked failed.
    pub max_attempts: i64,
    /// Delay after the first failed try; it doubles per try.
    pub retry_base_secs: u64,
    /// The longest delay between tries.
    pub retry_max_secs: u64,
    /// Fallback poll interval; new messages wake the worker at once.
    pub poll_interval_ms: u64,
    /// Outbox workers in this process.
    pub workers: usize,
    /// How old a process's heartbeat may get before another process takes over the messages
    /// it claimed. Five heartbeats: a dead process delays its mail by about this long.
    pub owner_timeout_secs: u64,
    /// The longest retry delay, while the relay cannot be reached, for a message whose code is
    /// still live: recovery mail goes out within this long of the relay's return.
    pub urgent_retry_max_secs: u64,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            max_attempts: 12,
            retry_base_secs: 5,
            retry_max_secs: 3600,
            poll_interval_ms: 1000,
            workers: 1,
            owner_timeout_secs: 5,
            urgent_retry_max_secs: 5,
        }
    }
}

/// The Prometheus endpoint (`GET /metrics`), on a listener of its own: monitoring reads it from
/// inside the deployment, and the public port never serves it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSettings {
    /// Address of the metrics listener, or `off`. Loopback by default: expose it to a
    /// scraper deliberately (it shows traffic and recovery volumes, no secrets).
    pub listen: String,
}

impl Default for MetricsSettings {
    fn default() -> Self {
        Self { listen: "127.0.0.1:9464".to_owned() }
    }
}

/// Logging to standard error; the level is `RUST_LOG` (default `info`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    /// `text` for people, `json` (one object per line) for log collectors.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// A client declared in the configuration file (re-synchronised at every start).
#[derive(Debug, Clone, Serialize, Deserialize, Default, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ClientSettings {
    /// The client's id.
    pub client_id: String,
    /// Shown on the hosted pages; defaults to the id.
    pub client_name: String,
    /// A confidential client's secret (at least 32 characters, like `admin.token`); none for a public client (PKCE only).
    #[serde(serialize_with = "serialize_secret_opt")]
    #[schemars(with = "Option<String>")]
    pub client_secret: Option<SecretString>,
    /// Where codes may be sent.
    pub redirect_uris: Vec<String>,
    /// Where logout may return.
    pub post_logout_redirect_uris: Vec<String>,
    /// Browser origins allowed besides those of the redirect URIs (CORS).
    pub trusted_origins: Vec<String>,
}

fn secs(ms: i64) -> u64 {
    u64::try_from(ms / SECOND).unwrap_or(0)
}

fn serialize_secret_opt<S: serde::Serializer>(value: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.serialize_some(v.expose_secret()),
        None => s.serialize_none(),
    }
}

fn string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Either::deserialize(d)? {
        Either::One(s) => s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        Either::Many(v) => v,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("configuration could not be read: {0}")]
    Load(#[from] Box<figment::Error>),
}

fn invalid(msg: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(msg.into())
}

impl Settings {
    /// Loads from the file (if any) and the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let file = std::env::var("LATCHKEY_CONFIG").map(PathBuf::from).ok();
        let default_file = Path::new("latchkey.toml");
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        match &file {
            Some(path) if !path.exists() => return Err(invalid(format!("LATCHKEY_CONFIG names {}, which does not exist", path.display()))),
            Some(path) => figment = figment.merge(Toml::file(path)),
            None if default_file.exists() => figment = figment.merge(Toml::file(default_file)),
            None => {}
        }
        let sectioned = Env::prefixed("LATCHKEY_").filter(|key| key.as_str().contains("__")).split("__");
        figment = figment.merge(sectioned);
        figment =
            figment.merge(Env::raw().filter_map(|key| {
                SHORT_NAMES.iter().find(|(env, _)| key.as_str().eq_ignore_ascii_case(env)).map(|(_, path)| (*path).into())
            }));
        let mut settings: Settings = figment.extract().map_err(|e| ConfigError::Load(Box::new(e)))?;
        for (env, path) in FILE_SECRETS {
            if let Ok(file) = std::env::var(env) {
                let value = std::fs::read_to_string(&file).map_err(|e| invalid(format!("{env}={file}: {e}")))?;
                let secret = SecretString::from(value.trim().to_owned());
                match *path {
                    "admin.token" => settings.admin.token = Some(secret),
                    "smtp.url" => settings.smtp.url = Some(secret),
                    _ => settings.database.url = Some(secret),
                }
            }
        }
        settings.unsafe_test_settings = matches!(std::env::var("LATCHKEY_UNSAFE_TEST_SETTINGS").as_deref(), Ok("1" | "true"));
        Ok(settings)
    }

    /// The passkey relying party for a server at `public_url`: `webauthn.rp_id` and
    /// `webauthn.rp_origin`, each derived from the public URL when not set. `Ok(None)` when
    /// nothing was set and the public URL cannot be a relying party (an IP address): passkeys
    /// are then not offered. Settings that were given and do not fit are an error.
    pub fn relying_party(&self, public_url: &str) -> Result<Option<latchkey_domain::webauthn::RelyingParty>, ConfigError> {
        let w = &self.webauthn;
        let origin = match &w.rp_origin {
            Some(origin) => origin.clone(),
            None => latchkey_domain::oauth::origin_of(public_url).unwrap_or_else(|| public_url.to_owned()),
        };
        let rp_id = match &w.rp_id {
            Some(rp_id) => rp_id.clone(),
            None => url::Url::parse(&origin).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_default(),
        };
        match latchkey_domain::webauthn::RelyingParty::new(&rp_id, &origin, &w.extra_origins, &self.org.name) {
            Ok(rp) => Ok(Some(rp)),
            Err(_) if w.rp_id.is_none() && w.rp_origin.is_none() && w.extra_origins.is_empty() => Ok(None),
            Err(e) => Err(invalid(e.to_string())),
        }
    }

    /// Checks every value once, at start, with a message that names the setting and the fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.metrics_addr()?;
        if let Some(url) = &self.server.public_url {
            let parsed =
                url::Url::parse(url).map_err(|_| invalid(format!("server.public_url (LATCHKEY_PUBLIC_URL) is not a URL: {url}")))?;
            let loopback = latchkey_domain::oauth::is_loopback_host(parsed.host_str().unwrap_or_default());
            if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
                return Err(invalid("server.public_url must use https (plain http is allowed only on loopback)"));
            }
        }
        if self.server.tls_cert.is_some() != self.server.tls_key.is_some() {
            return Err(invalid("LATCHKEY_TLS_CERT and LATCHKEY_TLS_KEY must be set together"));
        }
        self.trusted_proxies()?;
        if !(1..=10).contains(&self.server.header_read_timeout_secs) {
            return Err(invalid("server.header_read_timeout_secs must be between 1 and 10 (security-checklist INP-1)"));
        }
        if !(1..=MAX_CONNECTIONS_CEILING).contains(&self.server.max_connections) {
            return Err(invalid(format!("server.max_connections must be between 1 and {MAX_CONNECTIONS_CEILING}")));
        }
        if let Some(token) = &self.admin.token {
            if token.expose_secret().chars().count() < SECRET_MIN_CHARS {
                return Err(invalid(
                    "admin.token (LATCHKEY_ADMIN_TOKEN) must be at least 32 characters; generate one with `openssl rand -base64 32`",
                ));
            }
        }
        if let Some(email) = &self.admin.email {
            latchkey_domain::EmailAddress::parse(email).map_err(|e| invalid(format!("admin.email: {e}")))?;
        }
        if self.smtp.url.is_none() && !self.dev {
            return Err(invalid("smtp.url (LATCHKEY_SMTP_URL) is not set: give an smtp:// or smtps:// URL, or run `latchkey serve --dev` to write mail to the data directory's mailbox"));
        }
        let unsafe_ok = self.unsafe_test_settings;
        self.otp_policy().validate(unsafe_ok).map_err(invalid)?;
        self.password_policy().validate().map_err(invalid)?;
        let p = &self.password;
        if !unsafe_ok && (p.argon2_memory_kib < 19_456 || p.argon2_iterations < 2 || p.argon2_parallelism < 1) {
            return Err(invalid("password.argon2_* must be at least m=19456 KiB, t=2, p=1 (OWASP minimum)"));
        }
        if !(60..=1800).contains(&self.signin.second_factor_secs) {
            return Err(invalid("signin.second_factor_secs must be between 60 and 1800"));
        }
        let r = &self.recovery;
        if !unsafe_ok {
            if r.transaction_lifetime_secs < 10 * 60 || r.transaction_lifetime_secs > 24 * 3600 {
                return Err(invalid("recovery.transaction_lifetime_secs must be between 600 and 86400"));
            }
            if r.reset_grant_secs < 60 || r.reset_grant_secs > 30 * 60 {
                return Err(invalid("recovery.reset_grant_secs must be between 60 and 1800"));
            }
            if r.mail_min_gap_secs < 10 || r.mail_per_hour > 20 || r.mail_per_day > 50 {
                return Err(invalid("recovery.mail_* limits: min gap at least 10 s, at most 20 per hour and 50 per day"));
            }
            if !(3600..=30 * 24 * 3600).contains(&r.activation_token_secs) {
                return Err(invalid("recovery.activation_token_secs must be between 3600 (1 hour) and 2592000 (30 days)"));
            }
            if !(300..=24 * 3600).contains(&r.admin_reset_token_secs) {
                return Err(invalid("recovery.admin_reset_token_secs must be between 300 (5 minutes) and 86400 (24 hours)"));
            }
            if !(24 * 3600..=30 * 24 * 3600).contains(&r.not_me_token_secs) {
                return Err(invalid("recovery.not_me_token_secs must be between 86400 (1 day) and 2592000 (30 days)"));
            }
            if self.tokens.code_secs > 600 || self.tokens.access_token_secs > 3600 {
                return Err(invalid("tokens: code_secs at most 600 and access_token_secs at most 3600"));
            }
            let t = &self.tokens;
            if t.refresh_idle_secs < 60 || t.refresh_idle_secs > t.refresh_absolute_secs || t.refresh_absolute_secs > 90 * 86_400 {
                return Err(invalid(
                    "tokens.refresh_idle_secs must be at least 60 and at most tokens.refresh_absolute_secs, which is at most 90 days",
                ));
            }
            let s = &self.sessions;
            if s.idle_secs < 60 || s.idle_secs > s.absolute_secs || s.absolute_secs > 30 * 86_400 {
                return Err(invalid("sessions.idle_secs must be at least 60 and at most sessions.absolute_secs, which is at most 30 days"));
            }
            let k = &self.keys;
            if k.publish_delay_secs < k.jwks_cache_secs.saturating_add(k.reload_secs) {
                return Err(invalid("keys.publish_delay_secs must be at least keys.jwks_cache_secs + keys.reload_secs, so every verifier has the new key before it signs"));
            }
            if k.reload_secs == 0 {
                return Err(invalid("keys.reload_secs must be at least 1"));
            }
        }
        for client in &self.clients {
            latchkey_domain::oauth::ClientId::parse(&client.client_id).map_err(|e| invalid(format!("clients: {e}")))?;
            // The same floor as admin.token, whatever LATCHKEY_UNSAFE_TEST_SETTINGS says: the
            // secret is stored as a plain SHA-256, so only its length stands against guessing.
            if client.client_secret.as_ref().is_some_and(|s| s.expose_secret().chars().count() < SECRET_MIN_CHARS) {
                return Err(invalid(format!(
                    "clients.{}.client_secret ([[clients]] client_secret) must be at least {SECRET_MIN_CHARS} characters; generate one with `openssl rand -base64 32`",
                    client.client_id
                )));
            }
            for uri in &client.redirect_uris {
                latchkey_domain::oauth::RedirectUri::parse(uri).map_err(|e| invalid(format!("clients.{}: {e}", client.client_id)))?;
            }
        }
        Ok(())
    }

    /// The metrics listener's address; `None` when `metrics.listen` is `off`. It may not be the
    /// public listener's port on an overlapping address (`/metrics` is never public).
    pub fn metrics_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let raw = self.metrics.listen.trim();
        if raw.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let addr: SocketAddr = raw.parse().map_err(|_| {
            invalid(format!("metrics.listen (LATCHKEY_METRICS_LISTEN) must be an address such as 127.0.0.1:9464, or off; not {raw:?}"))
        })?;
        let public = self.listen_addr()?;
        let overlaps = addr.ip() == public.ip() || addr.ip().is_unspecified() || public.ip().is_unspecified();
        if addr.port() != 0 && addr.port() == public.port() && overlaps {
            return Err(invalid(format!(
                "metrics.listen (LATCHKEY_METRICS_LISTEN) {addr} is the public listener's address: give /metrics a port of its own"
            )));
        }
        Ok(Some(addr))
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.server.listen.parse().map_err(|_| {
            invalid(format!("server.listen (LATCHKEY_LISTEN) must be an address such as 127.0.0.1:8080, not {:?}", self.server.listen))
        })
    }

    pub fn trusted_proxies(&self) -> Result<Vec<ipnet::IpNet>, ConfigError> {
        self.server
            .trusted_proxies
            .iter()
            .map(|p| {
                p.parse::<ipnet::IpNet>()
                    .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| invalid(format!("server.trusted_proxies: {p:?} is not an IP address or CIDR")))
            })
            .collect()
    }

    /// The database URL: configured, or a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database.url {
            Some(url) => url.expose_secret().to_owned(),
            None => format!("sqlite://{}", self.server.data_dir.join("latchkey.db").display()),
        }
    }

    pub fn otp_policy(&self) -> OtpPolicy {
        let o = &self.otp;
        OtpPolicy {
            digits: o.digits,
            lifetime: ms(o.lifetime_secs),
            max_attempts_per_code: o.max_attempts,
            account_backoff_after: o.account_backoff_after,
            account_backoff_base: ms(o.account_backoff_base_secs),
            account_backoff_max: ms(o.account_backoff_max_secs),
            account_ceiling: o.account_ceiling,
        }
    }

    pub fn password_policy(&self) -> PasswordPolicy {
        PasswordPolicy {
            min_length: self.password.min_length,
            max_length: self.password.max_length,
            min_strength: self.password.min_strength,
            service_words: vec!["latchkey".to_owned(), self.org.name.to_lowercase()],
        }
    }

    pub fn mail_limits(&self) -> MailLimits {
        MailLimits {
            min_gap: ms(self.recovery.mail_min_gap_secs),
            per_hour: self.recovery.mail_per_hour,
            per_day: self.recovery.mail_per_day,
        }
    }

    pub fn session_policy(&self) -> latchkey_domain::session::SessionPolicy {
        latchkey_domain::session::SessionPolicy { idle: ms(self.sessions.idle_secs), absolute: ms(self.sessions.absolute_secs) }
    }

    pub fn refresh_policy(&self) -> latchkey_domain::refresh::RefreshPolicy {
        latchkey_domain::refresh::RefreshPolicy { idle: ms(self.tokens.refresh_idle_secs), absolute: ms(self.tokens.refresh_absolute_secs) }
    }

    pub fn rotation_policy(&self) -> latchkey_domain::keys::RotationPolicy {
        let k = &self.keys;
        latchkey_domain::keys::RotationPolicy {
            rotate_after: (k.rotate_after_days > 0).then(|| ms(k.rotate_after_days.saturating_mul(86_400))),
            publish_delay: ms(k.publish_delay_secs),
            token_lifetime: ms(self.tokens.access_token_secs),
        }
    }

    pub fn sign_in_throttle(&self) -> SignInThrottle {
        SignInThrottle {
            free_failures: self.signin.free_failures,
            first_delay: ms(self.signin.first_delay_secs),
            max_delay: ms(self.signin.max_delay_secs),
        }
    }
}

pub fn ms(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX / 1000).saturating_mul(SECOND)
}

/// Minutes as milliseconds, for readability at call sites.
pub fn minutes(n: i64) -> i64 {
    n * MINUTE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_in_dev_mode() {
        let settings = Settings { dev: true, ..Settings::default() };
        settings.validate().expect("defaults are valid");
    }

    #[test]
    fn serve_without_smtp_is_refused_with_a_hint() {
        let err = Settings::default().validate().expect_err("no smtp");
        assert!(err.to_string().contains("--dev"), "{err}");
    }

    #[test]
    fn short_admin_tokens_and_weak_argon2_are_refused() {
        let mut s = Settings { dev: true, ..Settings::default() };
        s.admin.token = Some(SecretString::from("short".to_owned()));
        assert!(s.validate().is_err());
        let mut s = Settings { dev: true, ..Settings::default() };
        s.password.argon2_memory_kib = 4096;
        assert!(s.validate().is_err());
        s.unsafe_test_settings = true;
        assert!(s.validate().is_ok());
    }

    #[test]
    fn short_configured_client_secrets_are_refused_even_with_unsafe_test_settings() {
        let client = |secret: Option<&str>| ClientSettings {
            client_id: "configured-app".to_owned(),
            client_secret: secret.map(|s| SecretString::from(s.to_owned())),
            redirect_uris: vec!["https://app.example.com/callback".to_owned()],
            ..ClientSettings::default()
        };
        let mut s = Settings { dev: true, unsafe_test_settings: true, ..Settings::default() };
        s.clients = vec![client(Some(&"x".repeat(SECRET_MIN_CHARS - 1)))];
        let err = s.validate().expect_err("a 31-character secret");
        let message = err.to_string();
        assert!(message.contains("clients.configured-app.client_secret") && message.contains("32 characters"), "{message}");
        assert!(!message.contains(&"x".repeat(SECRET_MIN_CHARS - 1)), "the secret is not echoed: {message}");
        s.clients = vec![client(Some(&"x".repeat(SECRET_MIN_CHARS)))];
        s.validate().expect("32 characters are enough");
        s.clients = vec![client(None)];
        s.validate().expect("a public client has no secret");
    }

    #[test]
    fn plain_http_public_urls_must_be_loopback_literals() {
        for url in ["http://127.evil.test", "http://127.0.0.1.nip.io:8080", "http://localhost.evil.test"] {
            let mut s = Settings { dev: true, ..Settings::default() };
            s.server.public_url = Some(url.to_owned());
            assert!(s.validate().is_err(), "{url} passed as a loopback public URL");
        }
        for url in ["http://127.0.0.1:8080", "http://[::1]:8080", "http://localhost:8080", "https://id.example"] {
            let mut s = Settings { dev: true, ..Settings::default() };
            s.server.public_url = Some(url.to_owned());
            assert!(s.validate().is_ok(), "{url}");
        }
    }

    #[test]
    fn metrics_need_a_port_of_their_own() {
        let mut s = Settings { dev: true, ..Settings::default() };
        assert_eq!(s.metrics_addr().ok().flatten(), "127.0.0.1:9464".parse().ok());
        for same in ["127.0.0.1:8080", "0.0.0.0:8080"] {
            s.metrics.listen = same.to_owned();
            let err = s.validate().expect_err(same);
            assert!(err.to_string().contains("metrics.listen"), "{err}");
        }
        s.metrics.listen = "off".to_owned();
        assert_eq!(s.metrics_addr().ok(), Some(None));
        s.metrics.listen = "nonsense".to_owned();
        assert!(s.validate().is_err());
    }

    #[test]
    fn trusted_proxies_accept_addresses_and_cidrs() {
        let mut s = Settings { dev: true, ..Settings::default() };
        s.server.trusted_proxies = vec!["10.0.0.0/8".into(), "127.0.0.1".into()];
        assert_eq!(s.trusted_proxies().map(|v| v.len()).ok(), Some(2));
        s.server.trusted_proxies = vec!["nonsense".into()];
        assert!(s.validate().is_err());
    }
}
