//! The `latchkey` command.
use std::io::Write;

use clap::{Parser, Subcommand};
use latchkey_server::config::Settings;
use latchkey_server::startup::Application;

#[derive(Parser)]
#[command(name = "latchkey", version, about = "Latchkey: a self-hosted identity server speaking Okta's IDX protocol and OpenID Connect")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the identity server.
    Serve {
        /// Development mode: without SMTP, emails are written to {DATA_DIR}/mailbox/*.eml.
        #[arg(long)]
        dev: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    latchkey_server::telemetry::init();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("latchkey: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let mut settings = Settings::load().map_err(|e| e.to_string())?;
    match cli.command {
        Command::Serve { dev } => {
            settings.dev = dev;
            let app = Application::build(settings).await.map_err(|e| e.to_string())?;
            if let Some(dir) = app.mailbox_dir() {
                tracing::info!(mailbox = %dir.display(), "development mode: emails are written to the mailbox directory");
            }
            let mut stdout = std::io::stdout();
            let _ = writeln!(stdout, "listening on {}", app.public_url());
            let _ = stdout.flush();
            app.run_until_stopped(shutdown_signal()).await.map_err(|e| e.to_string())
        }
        Command::Migrate => {
            let url = settings.database_url();
            if url.starts_with("sqlite:") {
                std::fs::create_dir_all(&settings.server.data_dir).map_err(|e| e.to_string())?;
            }
            latchkey_store::Store::connect(&url).await.map_err(|e| format!("migration failed: {e}"))?;
            println!("database is up to date");
            Ok(())
        }
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
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
