//! The `latchkey` command.
use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    latchkey_server::telemetry::init();
    match latchkey_server::cli::Cli::parse().run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("latchkey: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
