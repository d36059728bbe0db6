//! `latchkey keys list|rotate`: operates on the database directly, like `migrate`, with the same
//! master key the servers use. A rotation publishes the new key at once; every server signs with
//! it after `keys.publish_delay_secs` (their key rings reload every `keys.reload_secs`), and the
//! old key leaves JWKS once the last token it signed has expired.
use clap::Subcommand;

use crate::config::Settings;
use crate::crypto::keyring::SIGNING_KIND;
use crate::crypto::{master, rotation};

#[derive(Subcommand)]
pub enum Command {
    /// Show the signing keys: kid, when each signs from and when it retires.
    List,
    /// Start a rotation now: publish a new key that signs after the publication delay.
    Rotate,
}

pub async fn run(settings: Settings, command: Command) -> Result<(), String> {
    let url = settings.database_url();
    if url.starts_with("sqlite:") {
        crate::files::create_private_dir(&settings.server.data_dir).map_err(|e| e.to_string())?;
    }
    let store = crate::startup::connect_store(&url).await.map_err(|e| format!("database: {e}"))?;
    let now = store.now().await.map_err(|e| e.to_string())?;
    match command {
        Command::List => {
            for key in store.live_keys(SIGNING_KIND, now).await.map_err(|e| e.to_string())? {
                let retire = key.retire_at.map_or_else(|| "-".to_owned(), format_ms);
                println!(
                    "{}\tpublished {}\tsigns from {}\tretires {}",
                    key.id,
                    format_ms(key.publish_at),
                    format_ms(key.sign_from),
                    retire
                );
            }
        }
        Command::Rotate => {
            let is_postgres = store.dialect() == latchkey_store::Dialect::Postgres;
            let master_key = master::load(settings.database.master_key_file.as_deref(), &settings.server.data_dir, is_postgres)
                .map_err(|e| e.to_string())?;
            let record = rotation::rotate(&store, &master_key, &settings.rotation_policy(), now).await.map_err(|e| e.to_string())?;
            println!("new signing key {} is published now and signs from {}", record.id, format_ms(record.sign_from));
        }
    }
    Ok(())
}

fn format_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(|| ms.to_string(), |t| t.to_rfc3339())
}
