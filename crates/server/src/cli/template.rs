//! `latchkey template list|show|set|preview|test`: email templates through the admin HTTP API
//! of a running server (`LATCHKEY_URL`, default http://127.0.0.1:8080, with
//! `LATCHKEY_ADMIN_TOKEN`), so the CLI follows exactly the rules the API enforces. Errors are
//! printed as the API's errorSummary and causes.
use std::io::Read;
use std::path::PathBuf;

use serde_json::{json, Value};

const BRAND: &str = "default";

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// List the email templates and their customized languages (`*` marks the default).
    List,
    /// Show a template's customizations, or its built-in content when it has none.
    Show {
        /// Okta's template name, e.g. ForgotPassword.
        name: String,
        /// Only this language.
        #[arg(long)]
        language: Option<String>,
    },
    /// Create or replace the customization of a template in one language.
    Set {
        name: String,
        /// BCP 47 language tag, e.g. en or fr-CA.
        #[arg(long)]
        language: String,
        #[arg(long)]
        subject: String,
        /// The HTML body (Velocity template); read from stdin when omitted.
        #[arg(long)]
        body_file: Option<PathBuf>,
        /// Make this customization the template's default.
        #[arg(long)]
        default: bool,
    },
    /// Render a template with sample data (the customization in that language, else the built-in).
    Preview {
        name: String,
        #[arg(long)]
        language: Option<String>,
    },
    /// Send the template with sample data to LATCHKEY_ADMIN_EMAIL.
    Test {
        name: String,
        #[arg(long)]
        language: Option<String>,
    },
}

struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn from_env() -> Result<Self, String> {
        let base = std::env::var("LATCHKEY_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned()).trim_end_matches('/').to_owned();
        let token = match std::env::var("LATCHKEY_ADMIN_TOKEN") {
            Ok(token) => token,
            Err(_) => match std::env::var("LATCHKEY_ADMIN_TOKEN_FILE") {
                Ok(file) => std::fs::read_to_string(&file).map_err(|e| format!("LATCHKEY_ADMIN_TOKEN_FILE={file}: {e}"))?.trim().to_owned(),
                Err(_) => return Err("set LATCHKEY_ADMIN_TOKEN (or LATCHKEY_ADMIN_TOKEN_FILE) to the server's admin token".to_owned()),
            },
        };
        let http = reqwest::Client::builder().build().map_err(|e| e.to_string())?;
        Ok(Self { http, base, token })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/brands/{BRAND}/templates/email{path}", self.base)
    }

    /// Sends the request; a non-2xx answer becomes the API's errorSummary and causes.
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, String> {
        let response = request
            .header("Authorization", format!("SSWS {}", self.token))
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("cannot reach {}: {e}", self.base))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(body);
        }
        let mut message = body["errorSummary"].as_str().map_or_else(|| format!("the server answered {status}"), str::to_owned);
        for cause in body["errorCauses"].as_array().into_iter().flatten() {
            if let Some(summary) = cause["errorSummary"].as_str() {
                message.push_str(&format!("\n  - {summary}"));
            }
        }
        Err(message)
    }

    async fn get(&self, path: &str) -> Result<Value, String> {
        self.call(self.http.get(self.url(path))).await
    }

    async fn customizations(&self, name: &str) -> Result<Vec<Value>, String> {
        Ok(self.get(&format!("/{name}/customizations")).await?.as_array().cloned().unwrap_or_default())
    }
}

fn same_language(c: &Value, language: &str) -> bool {
    c["language"].as_str().is_some_and(|l| l.eq_ignore_ascii_case(language))
}

pub async fn run(args: Args) -> Result<(), String> {
    let api = Api::from_env()?;
    match args.command {
        Command::List => {
            let templates = api.get("").await?;
            for template in templates.as_array().into_iter().flatten() {
                let name = template["name"].as_str().unwrap_or_default();
                let languages: Vec<String> = api
                    .customizations(name)
                    .await?
                    .iter()
                    .map(|c| format!("{}{}", c["language"].as_str().unwrap_or_default(), if c["isDefault"] == true { "*" } else { "" }))
                    .collect();
                println!("{name:<24} {}", if languages.is_empty() { "(built-in)".to_owned() } else { languages.join(", ") });
            }
        }
        Command::Show { name, language } => {
            let customizations: Vec<Value> =
                api.customizations(&name).await?.into_iter().filter(|c| language.as_deref().is_none_or(|l| same_language(c, l))).collect();
            if customizations.is_empty() {
                let query = language.map(|l| format!("?language={l}")).unwrap_or_default();
                let default = api.get(&format!("/{name}/default-content{query}")).await?;
                println!(
                    "# {name}: built-in content\nSubject: {}\n\n{}",
                    default["subject"].as_str().unwrap_or_default(),
                    default["body"].as_str().unwrap_or_default()
                );
            }
            for c in customizations {
                println!(
                    "# {name} [{}]{} id={}\nSubject: {}\n\n{}\n",
                    c["language"].as_str().unwrap_or_default(),
                    if c["isDefault"] == true { " (default)" } else { "" },
                    c["id"].as_str().unwrap_or_default(),
                    c["subject"].as_str().unwrap_or_default(),
                    c["body"].as_str().unwrap_or_default()
                );
            }
        }
        Command::Set { name, language, subject, body_file, default } => {
            let body = match body_file {
                Some(path) => std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?,
                None => {
                    let mut body = String::new();
                    std::io::stdin().read_to_string(&mut body).map_err(|e| format!("reading the body from stdin: {e}"))?;
                    body
                }
            };
            let mut payload = json!({"language": language, "subject": subject, "body": body});
            if default {
                payload["isDefault"] = json!(true);
            }
            let existing = api.customizations(&name).await?.into_iter().find(|c| same_language(c, &language));
            let saved = match existing.as_ref().and_then(|c| c["id"].as_str()) {
                Some(id) => api.call(api.http.put(api.url(&format!("/{name}/customizations/{id}"))).json(&payload)).await?,
                None => api.call(api.http.post(api.url(&format!("/{name}/customizations"))).json(&payload)).await?,
            };
            println!(
                "{} {name} [{}] id={}{}",
                if existing.is_some() { "replaced" } else { "created" },
                saved["language"].as_str().unwrap_or_default(),
                saved["id"].as_str().unwrap_or_default(),
                if saved["isDefault"] == true { " (default)" } else { "" }
            );
        }
        Command::Preview { name, language } => {
            let customization = match &language {
                Some(l) => api.customizations(&name).await?.into_iter().find(|c| same_language(c, l)),
                None => api.customizations(&name).await?.into_iter().find(|c| c["isDefault"] == true),
            };
            let preview = match customization.as_ref().and_then(|c| c["id"].as_str()) {
                Some(id) => api.get(&format!("/{name}/customizations/{id}/preview")).await?,
                None => {
                    api.get(&format!("/{name}/default-content/preview{}", language.map(|l| format!("?language={l}")).unwrap_or_default()))
                        .await?
                }
            };
            println!("Subject: {}\n\n{}", preview["subject"].as_str().unwrap_or_default(), preview["body"].as_str().unwrap_or_default());
        }
        Command::Test { name, language } => {
            let query = language.map(|l| format!("?language={l}")).unwrap_or_default();
            api.call(api.http.post(api.url(&format!("/{name}/test{query}")))).await?;
            println!("test email for {name} queued to the administrator's address");
        }
    }
    Ok(())
}
