//! `latchkey serve [--dev]`.
use std::io::Write;

use crate::config::Settings;
use crate::startup::Application;

#[derive(clap::Args)]
pub struct Args {
    /// Development mode: without SMTP, emails are written to {DATA_DIR}/mailbox/*.eml.
    #[arg(long)]
    dev: bool,
}

pub async fn run(mut settings: Settings, args: Args) -> Result<(), String> {
    settings.dev = args.dev;
    let app = Application::build(settings).await.map_err(|e| e.to_string())?;
    if let Some(dir) = app.mailbox_dir() {
        tracing::info!(mailbox = %dir.display(), "development mode: emails are written to the mailbox directory");
    }
    // Harnesses wait for this exact line on stdout.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {}", app.public_url());
    let _ = stdout.flush();
    app.run_until_stopped(super::shutdown_signal()).await.map_err(|e| e.to_string())
}
