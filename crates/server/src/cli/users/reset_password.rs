//! `latchkey users reset-password ID_OR_LOGIN [--no-email]`: the administrator's reset, which
//! ends the user's sessions and tokens when the new password is set through the link.
#[derive(clap::Args)]
pub struct Args {
    user: String,
    /// Print the set-password link instead of emailing it (the server must allow returned
    /// links: `admin.return_links`).
    #[arg(long)]
    no_email: bool,
}

pub async fn run(args: Args) -> Result<(), String> {
    let path = format!("{}/lifecycle/reset_password?sendEmail={}", super::user_path(&args.user), !args.no_email);
    let out = super::users_api()?.send(reqwest::Method::POST, &path, None).await?;
    match out.get("resetPasswordUrl").and_then(|v| v.as_str()) {
        Some(link) => println!("{link}"),
        None => println!("a set-password link was emailed to the user"),
    }
    Ok(())
}
