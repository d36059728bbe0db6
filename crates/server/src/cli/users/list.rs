//! `latchkey users list [--query PREFIX] [--limit N]`.
#[derive(clap::Args)]
pub struct Args {
    /// Users whose login, email, first or last name starts with this.
    #[arg(long)]
    query: Option<String>,
    /// At most this many (1–200).
    #[arg(long, default_value_t = 200)]
    limit: u32,
}

pub async fn run(args: Args) -> Result<(), String> {
    let mut path = format!("?limit={}", args.limit);
    if let Some(q) = &args.query {
        path.push_str(&format!("&q={}", percent_encoding::utf8_percent_encode(q, percent_encoding::NON_ALPHANUMERIC)));
    }
    let out = super::users_api()?.send(reqwest::Method::GET, &path, None).await?;
    super::super::api::print(&out);
    Ok(())
}
