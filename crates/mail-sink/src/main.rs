//! `latchkey-mail-sink`: the sink as a process, for test suites that are not
//! Rust (Node compatibility tests, Playwright) and for local development.
//!
//! Stdout carries exactly two lines once both listeners are bound, so a parent
//! process can wait for readiness and learn the ports:
//!
//! ```text
//! smtp 127.0.0.1:PORT
//! http http://127.0.0.1:PORT
//! ```
//!
//! Logs go to stderr (`RUST_LOG`, default `warn`).

use std::io::Write;
use std::net::SocketAddr;

use clap::Parser;
use latchkey_mail_sink::{MailSink, SinkOptions};

#[derive(Parser)]
#[command(version, about = "A loopback SMTP server that keeps what it receives, with a JSON API to read it.")]
struct Args {
    /// SMTP listen address (loopback only; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    smtp: SocketAddr,
    /// HTTP API listen address (loopback only; port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    http: SocketAddr,
    /// Also exit when stdin reaches end of file, so a sink spawned by a test
    /// runner that crashes does not linger holding its ports.
    #[arg(long)]
    exit_on_stdin_eof: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .init();
    let args = Args::parse();
    let sink = MailSink::start_with(SinkOptions { smtp: args.smtp, http: Some(args.http) }).await?;
    let http_url = sink.http_url().expect("the HTTP API was requested above");

    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "smtp {}", sink.smtp_addr())?;
    writeln!(stdout, "http {http_url}")?;
    stdout.flush()?;
    drop(stdout);

    stop_signal(args.exit_on_stdin_eof).await?;
    sink.shutdown().await;
    Ok(())
}

/// Resolves on SIGTERM or SIGINT (or stdin EOF, if asked).
async fn stop_signal(watch_stdin: bool) -> anyhow::Result<()> {
    let stdin_eof = async {
        if watch_stdin {
            use tokio::io::AsyncReadExt;
            let mut stdin = tokio::io::stdin();
            let mut buf = [0u8; 256];
            // Anything written to stdin is ignored; only EOF or an error matters.
            while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
        } else {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = stdin_eof => {}
        }
    }
    #[cfg(not(unix))]
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = stdin_eof => {}
    }
    Ok(())
}
