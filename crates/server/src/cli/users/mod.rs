//! `latchkey users …`: one file per command. Every command but `import` is a client of the
//! management API (`LATCHKEY_URL`, `LATCHKEY_ADMIN_TOKEN`), so validation, notices and caches
//! are the server's; `import` writes through the store in batches, given the database
//! configuration like `migrate`, because a million users do not fit through an HTTP API.
mod create;
mod delete;
mod get;
mod import;
mod lifecycle;
mod list;
mod reset_password;

use clap::Subcommand;

use crate::config::Settings;

#[derive(Subcommand)]
pub enum Command {
    /// Create a user (active when a password is given on standard input, else staged).
    Create(create::Args),
    /// List users, or those whose login, email or name starts with --query.
    List(list::Args),
    /// Show one user, by id or login.
    Get { user: String },
    /// Suspend a user: no sign-in, no recovery, until unsuspended.
    Suspend { user: String },
    /// Lift a suspension.
    Unsuspend { user: String },
    /// Deactivate a user, then delete it.
    Delete { user: String },
    /// Email the user a link to set a new password (or print it with --no-email when the server
    /// allows returned links).
    ResetPassword(reset_password::Args),
    /// Import users from JSON lines (Okta's user shape) or CSV, with plain or hashed passwords.
    Import(import::Args),
}

pub async fn run(command: Command, settings: impl FnOnce() -> Result<Settings, String>) -> Result<(), String> {
    match command {
        Command::Create(args) => create::run(args).await,
        Command::List(args) => list::run(args).await,
        Command::Get { user } => get::run(&user).await,
        Command::Suspend { user } => lifecycle::run(&user, "suspend").await,
        Command::Unsuspend { user } => lifecycle::run(&user, "unsuspend").await,
        Command::Delete { user } => delete::run(&user).await,
        Command::ResetPassword(args) => reset_password::run(args).await,
        Command::Import(args) => import::run(settings()?, args).await,
    }
}

/// The API path of one user: its id or login, percent-encoded (a login may hold `+` or `/`).
fn user_path(user: &str) -> String {
    format!("/{}", percent_encoding::utf8_percent_encode(user, percent_encoding::NON_ALPHANUMERIC))
}

fn users_api() -> Result<super::api::Api, String> {
    super::api::Api::from_env("/api/v1/users")
}
