//! `latchkey users create --login … --email … [--first-name …] [--last-name …] [--password-stdin]`.
use std::io::Read;

use serde_json::{json, Value};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long)]
    login: String,
    /// Defaults to the login.
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    first_name: Option<String>,
    #[arg(long)]
    last_name: Option<String>,
    #[arg(long)]
    locale: Option<String>,
    /// Read the password from standard input (never from the command line, where other users
    /// of the machine can read it); the user is then active.
    #[arg(long)]
    password_stdin: bool,
}

pub async fn run(args: Args) -> Result<(), String> {
    let mut profile = json!({"login": args.login, "email": args.email.as_deref().unwrap_or(&args.login)});
    for (key, value) in [("firstName", &args.first_name), ("lastName", &args.last_name), ("locale", &args.locale)] {
        if let Some(value) = value {
            profile[key] = Value::String(value.clone());
        }
    }
    let mut body = json!({ "profile": profile });
    if args.password_stdin {
        let mut password = zeroize::Zeroizing::new(String::new());
        std::io::stdin().read_to_string(&mut password).map_err(|e| format!("reading the password: {e}"))?;
        body["credentials"] = json!({"password": {"value": password.trim_end_matches(['\r', '\n'])}});
    }
    let activate = if args.password_stdin { "true" } else { "false" };
    let out = super::users_api()?.send(reqwest::Method::POST, &format!("?activate={activate}"), Some(body)).await?;
    super::super::api::print(&out);
    Ok(())
}
