//! Logging: `tracing` to stderr (stdout carries the `listening on …` line that harnesses wait
//! for). `RUST_LOG` sets the filter; the default is `info`, and `warn` for `latchkey demo`, whose
//! printed lines a person reads on the same terminal. Spans carry method, path and request
//! id; no secret is ever a span field (security-checklist LOG-1). The format is `log.format`
//! (`LATCHKEY_LOG_FORMAT`): `text` or `json`.
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

pub fn init(format: crate::config::LogFormat) {
    let demo = std::env::args().nth(1).as_deref() == Some("demo");
    let default = if demo { "warn" } else { "info,sqlx=warn,tower_http=info" };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let json = format == crate::config::LogFormat::Json;
    let registry = tracing_subscriber::registry().with(filter);
    let result = if json {
        registry.with(tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr)).try_init()
    } else {
        registry.with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr)).try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}
