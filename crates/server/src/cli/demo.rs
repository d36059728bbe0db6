//! `latchkey demo`: the identity server in development mode and the recipe's sample app in
//! one process, set up so a person can run the magic-link recipe from the printed URL.
//!
//! Everything lives in the data directory (`LATCHKEY_DATA_DIR`, default `./latchkey-data`):
//! the SQLite database, the mailbox (unless `LATCHKEY_SMTP_URL` is set), the admin token and
//! `demo.json`, so a second run reuses them and prints the same lines. Every `LATCHKEY_*`
//! variable of `serve` applies, and `APP_LISTEN`/`APP_PUBLIC_URL` place the app.
mod emails;
mod files;
mod provision;

use std::io::Write;

use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::startup::Application;
use files::DemoState;
use provision::{Admin, DEMO_LOGIN};

/// The safe floors of `recovery.mail_min_gap_secs` and `recovery.mail_per_hour`.
const DEMO_MAIL_MIN_GAP_SECS: u64 = 10;
const DEMO_MAIL_PER_HOUR: usize = 20;

pub async fn run(mut settings: Settings) -> Result<(), String> {
    if settings.unsafe_test_settings {
        return Err("demo refuses LATCHKEY_UNSAFE_TEST_SETTINGS: the demo shows the real defaults".to_owned());
    }
    settings.dev = true;
    // Someone trying the recipe starts over within a minute: the most permissive mail limits
    // inside the safe floors (config.rs), unless set explicitly. Printed below.
    let defaults = crate::config::RecoverySettings::default();
    if settings.recovery.mail_min_gap_secs == defaults.mail_min_gap_secs {
        settings.recovery.mail_min_gap_secs = DEMO_MAIL_MIN_GAP_SECS;
    }
    if settings.recovery.mail_per_hour == defaults.mail_per_hour {
        settings.recovery.mail_per_hour = DEMO_MAIL_PER_HOUR;
    }
    let (mail_gap, mail_per_hour) = (settings.recovery.mail_min_gap_secs, settings.recovery.mail_per_hour);
    let data_dir = settings.server.data_dir.clone();
    crate::files::create_private_dir(&data_dir).map_err(|e| format!("the data directory {} cannot be created: {e}", data_dir.display()))?;
    let admin_token = match &settings.admin.token {
        Some(token) => token.expose_secret().to_owned(),
        None => files::admin_token(&data_dir.join("admin-token"))?,
    };
    settings.admin.token = Some(SecretString::from(admin_token.clone()));
    let app_listen = env_or("APP_LISTEN", "127.0.0.1:3000");
    let app_public_url = env_or("APP_PUBLIC_URL", "http://127.0.0.1:3000").trim_end_matches('/').to_owned();

    let server = Application::build(settings).await.map_err(|e| e.to_string())?;
    let public_url = server.public_url().to_owned();
    let issuer = format!("{public_url}/oauth2/default");
    let store = server.state().store.clone();
    // Set-up calls go straight to the listener: LATCHKEY_PUBLIC_URL may name a proxy not yet up.
    let local = match server.local_addr() {
        addr if addr.ip().is_unspecified() => std::net::SocketAddr::from(([127, 0, 0, 1], addr.port())),
        addr => addr,
    };
    let stop = CancellationToken::new();
    let server_task = tokio::spawn(server.run_until_stopped(stop.clone().cancelled_owned()));

    let outcome = async {
        let admin = Admin { base: format!("http://{local}"), token: admin_token.clone(), http: reqwest::Client::new() };
        let demo_file = data_dir.join("demo.json");
        let mut demo = DemoState::load(&demo_file)?;
        provision::ensure_user(&admin, &mut demo).await?;
        // Validates APP_PUBLIC_URL before anything is registered; the client id and secret
        // are filled in once the registration below has issued them.
        let app_config =
            magic_link_app::Config::new(app_listen.clone(), &app_public_url, &issuer, String::new(), SecretString::from(String::new()))
                .map_err(|e| e.to_string())?;
        let origin = app_config.public_url.origin().ascii_serialization();
        provision::ensure_client(&admin, &store, &mut demo, &app_config.redirect_uri(), &origin).await?;
        demo.save(&demo_file)?;
        if let Err(message) = emails::customize_forgot_password(&admin, &app_public_url).await {
            tracing::warn!("{message}");
        }
        let (Some(client_id), Some(secret), Some(password)) = (demo.client_id, demo.client_secret, demo.password) else {
            return Err("demo.json lost its values while provisioning".to_owned());
        };
        let config = magic_link_app::Config { client_id, client_secret: SecretString::from(secret), ..app_config };
        let app = magic_link_app::App::build(config)
            .await
            .map_err(|e| format!("the sample app cannot listen on {app_listen} ({e}); set APP_LISTEN"))?;
        Ok((app, password))
    }
    .await;
    let (app, password) = match outcome {
        Ok(ready) => ready,
        Err(message) => {
            stop.cancel();
            let _ = server_task.await;
            return Err(message);
        }
    };

    // Harnesses and people read these fixed `key: value` lines.
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "app: {app_public_url}");
    let _ = writeln!(stdout, "mailbox: {public_url}/dev/mailbox");
    let _ = writeln!(stdout, "issuer: {issuer}");
    let _ = writeln!(stdout, "user: {DEMO_LOGIN}");
    let _ = writeln!(stdout, "password: {password}");
    let _ = writeln!(stdout, "admin-token: {admin_token}");
    let _ = writeln!(stdout, "recovery-mail-gap: {mail_gap} s");
    let _ = writeln!(stdout, "recovery-mail-per-hour: {mail_per_hour}");
    let _ = stdout.flush();

    let app_task = tokio::spawn(app.run_until_stopped(stop.clone().cancelled_owned()));
    super::shutdown_signal().await;
    stop.cancel();
    let (server, app) = tokio::join!(server_task, app_task);
    server.map_err(|e| e.to_string())?.map_err(|e| e.to_string())?;
    app.map_err(|e| e.to_string())?.map_err(|e| e.to_string())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| default.to_owned())
}
