//! `magic-link-app`: the recipe's application on its own, configured by `APP_*` variables.
use std::io::Write;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let config = match magic_link_app::Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("magic-link-app: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let public_url = config.public_url.as_str().trim_end_matches('/').to_owned();
    let app = match magic_link_app::App::build(config).await {
        Ok(app) => app,
        Err(error) => {
            eprintln!("magic-link-app: cannot listen (set APP_LISTEN): {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let _ = writeln!(std::io::stdout(), "listening on {public_url}");
    match app.run_until_stopped(stop_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("magic-link-app: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Ctrl-C, or SIGTERM from a process manager: stop accepting, finish what is in flight.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut terminate) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
