//! The `latchkey` command.
use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // The format is read before the command runs; a configuration error is reported by the
    // command itself, with text logs meanwhile.
    let format = latchkey_server::config::Settings::load().map(|s| s.log.format).unwrap_or_default();
    latchkey_server::telemetry::init(format);
    match latchkey_server::cli::Cli::parse().run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("latchkey: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
