//! `latchkey clients list|show|create|update|delete|rotate-secret`: the management API over
//! HTTP, at `LATCHKEY_URL` with `LATCHKEY_ADMIN_TOKEN` (SSWS). Talking to the running server
//! rather than to the database keeps one code path for validation and origin caches.
use clap::{Args, Subcommand};
use serde_json::{json, Value};

#[derive(Subcommand)]
pub enum Command {
    /// List every client.
    List,
    /// Show one client.
    Show { client_id: String },
    /// Register a client; a confidential client's secret is printed once.
    Create(Metadata),
    /// Change a client: the given options replace those settings, the rest is kept.
    Update {
        client_id: String,
        #[command(flatten)]
        metadata: Metadata,
    },
    /// Delete a client.
    Delete { client_id: String },
    /// Issue a new secret (printed once); the old one stops working at once.
    RotateSecret { client_id: String },
}

#[derive(Args)]
pub struct Metadata {
    #[arg(long)]
    name: Option<String>,
    /// Repeat for several.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    #[arg(long = "trusted-origin")]
    trusted_origins: Vec<String>,
    /// authorization_code, interaction_code, refresh_token; repeat for several.
    #[arg(long = "grant-type")]
    grant_types: Vec<String>,
    /// A public client (SPA, native app): no secret, PKCE only.
    #[arg(long)]
    public: bool,
}

impl Metadata {
    fn apply(&self, into: &mut Value) {
        if let Some(name) = &self.name {
            into["client_name"] = json!(name);
        }
        for (key, values) in [
            ("redirect_uris", &self.redirect_uris),
            ("post_logout_redirect_uris", &self.post_logout_redirect_uris),
            ("trusted_origins", &self.trusted_origins),
            ("grant_types", &self.grant_types),
        ] {
            if !values.is_empty() {
                into[key] = json!(values);
            }
        }
        if self.public {
            into["token_endpoint_auth_method"] = json!("none");
        }
    }
}

pub async fn run(command: Command) -> Result<(), String> {
    let api = super::api::Api::from_env("/oauth2/v1/clients")?;
    let out = match command {
        Command::List => api.send(reqwest::Method::GET, "", None).await?,
        Command::Show { client_id } => api.send(reqwest::Method::GET, &format!("/{client_id}"), None).await?,
        Command::Create(metadata) => {
            let mut body = json!({"client_name": "", "redirect_uris": []});
            metadata.apply(&mut body);
            api.send(reqwest::Method::POST, "", Some(body)).await?
        }
        Command::Update { client_id, metadata } => {
            let mut body = api.send(reqwest::Method::GET, &format!("/{client_id}"), None).await?;
            if let Some(object) = body.as_object_mut() {
                // Server-assigned members are not part of an update.
                for key in ["client_id_issued_at", "client_secret_expires_at"] {
                    object.remove(key);
                }
            }
            metadata.apply(&mut body);
            api.send(reqwest::Method::PUT, &format!("/{client_id}"), Some(body)).await?
        }
        Command::Delete { client_id } => api.send(reqwest::Method::DELETE, &format!("/{client_id}"), None).await?,
        Command::RotateSecret { client_id } => api.send(reqwest::Method::POST, &format!("/{client_id}/lifecycle/newSecret"), None).await?,
    };
    super::api::print(&out);
    Ok(())
}
