//! `latchkey migrate`: apply pending migrations (the server also does this at start).
use crate::config::Settings;

pub async fn run(settings: Settings) -> Result<(), String> {
    let url = settings.database_url();
    if url.starts_with("sqlite:") {
        crate::files::create_private_dir(&settings.server.data_dir).map_err(|e| e.to_string())?;
    }
    crate::startup::connect_store(&url).await.map_err(|e| format!("migration failed: {e}"))?;
    println!("database is up to date");
    Ok(())
}
