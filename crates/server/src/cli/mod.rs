//! The `latchkey` command line: one file per subcommand.
mod api;
mod backup;
mod clients;
mod config;
mod demo;
mod keys;
mod migrate;
mod policies;
mod restore;
mod serve;
mod template;
mod users;

use clap::{Parser, Subcommand};

use crate::config::Settings;

#[derive(Parser)]
#[command(name = "latchkey", version, about = "Latchkey: a self-hosted identity server speaking Okta's IDX protocol and OpenID Connect")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the identity server.
    Serve(serve::Args),
    /// Apply database migrations and exit.
    Migrate,
    /// Run the identity server and the magic-link sample app, set up for the recipe.
    Demo,
    /// Email templates of a running server (through its admin API).
    Template(template::Args),
    /// Token signing keys in the database.
    #[command(subcommand)]
    Keys(keys::Command),
    /// OAuth clients, through the management API (LATCHKEY_URL, LATCHKEY_ADMIN_TOKEN).
    #[command(subcommand)]
    Clients(clients::Command),
    /// The recovery, sign-in and enrollment policies, through the management API (LATCHKEY_URL,
    /// LATCHKEY_ADMIN_TOKEN).
    #[command(subcommand)]
    Policies(policies::Command),
    /// Copy the SQLite database while the servers run (PostgreSQL: pg_dump, docs/backup.md).
    Backup(backup::Args),
    /// Put a backup in place of the SQLite database (servers stopped); ends every session.
    Restore(restore::Args),
    /// The configuration reference.
    #[command(subcommand)]
    Config(config::Command),
    /// Users: through the management API (LATCHKEY_URL, LATCHKEY_ADMIN_TOKEN), except `import`,
    /// which writes to the database (like `migrate`).
    #[command(subcommand)]
    Users(users::Command),
}

impl Cli {
    /// Runs the command; the error is a message for the operator.
    pub async fn run(self) -> Result<(), String> {
        match self.command {
            Command::Serve(args) => serve::run(load()?, args).await,
            Command::Migrate => migrate::run(load()?).await,
            Command::Demo => demo::run(load()?).await,
            Command::Template(args) => template::run(args).await,
            Command::Keys(command) => keys::run(load()?, command).await,
            Command::Clients(command) => clients::run(command).await,
            Command::Policies(command) => policies::run(command).await,
            Command::Config(command) => config::run(command),
            Command::Backup(args) => backup::run(load()?, args).await,
            Command::Restore(args) => restore::run(load()?, args).await,
            Command::Users(command) => users::run(command, load).await,
        }
    }
}

fn load() -> Result<Settings, String> {
    Settings::load().map_err(|e| e.to_string())
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested: draining requests");
}
