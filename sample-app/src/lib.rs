//! The recipe's web application: "custom password recovery by email magic link" on Latchkey
//! (or Okta). It is what a developer copies, so each file does one thing:
//!
//! - `config`: `APP_*` settings.
//! - `session`: the cookie-bound server-side session (in memory in this sample).
//! - `oidc`, `id_token`: discovery, interact, the code exchange and ID token validation.
//! - `routes`: `/`, `/login`, `/magic-link/callback`, `/login/callback`, `/logout`.
//! - `views`, `page`, `html`: the pages, their security headers, escaping.
//!
//! Start it like the identity server: `App::build(config)` binds (port 0 allowed),
//! `run_until_stopped(shutdown)` serves until the future resolves.
#![deny(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

pub mod config;
mod html;
mod id_token;
pub mod oidc;
mod page;
mod routes;
pub mod session;
mod views;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::Request;
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

pub use config::{Config, ConfigError};
use routes::AppState;
use session::SessionStore;

/// Sessions live as long as Latchkey's IDX transaction (30 minutes), so a link opened after
/// the transaction has expired finds no session either.
const SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

pub struct App {
    listener: TcpListener,
    router: Router,
}

impl App {
    pub async fn build(config: Config) -> std::io::Result<Self> {
        let listener = TcpListener::bind(&config.listen).await?;
        Ok(Self::with_listener(config, listener))
    }

    /// For embedders that bind first (tests on port 0, `latchkey demo`).
    pub fn with_listener(config: Config, listener: TcpListener) -> Self {
        let sessions = SessionStore::new(SESSION_IDLE_TIMEOUT, config.secure_cookies());
        let state = AppState { provider: Arc::new(oidc::Provider::new(config)), sessions };
        Self { listener, router: router(state) }
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        axum::serve(self.listener, self.router).with_graceful_shutdown(shutdown).await
    }
}

fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(routes::home::show))
        .route("/login", get(routes::login::start))
        .route("/login/callback", get(routes::login_callback::finish))
        .route("/magic-link/callback", get(routes::magic_link::open))
        .route("/logout", post(routes::logout::submit))
        // Paths only: the query string of the callbacks carries codes (shared/README "Logs").
        .layer(TraceLayer::new_for_http().make_span_with(
            |request: &Request<_>| tracing::info_span!("request", method = %request.method(), path = %request.uri().path()),
        ))
        .with_state(state)
}
