//! The management API over HTTP for the CLI's admin commands (`clients`, `users`): at
//! `LATCHKEY_URL` with `LATCHKEY_ADMIN_TOKEN` (SSWS). Talking to the running server rather than
//! to the database keeps one code path for validation, caches and notices.
use serde_json::Value;

pub struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    /// The API under `path` (`/api/v1/users`, …) of the server the environment names.
    pub fn from_env(path: &str) -> Result<Self, String> {
        let base = std::env::var("LATCHKEY_URL")
            .map_err(|_| "set LATCHKEY_URL to the server's address, e.g. https://id.example.com".to_owned())?;
        let token = std::env::var("LATCHKEY_ADMIN_TOKEN").map_err(|_| "set LATCHKEY_ADMIN_TOKEN to the server's admin token".to_owned())?;
        Ok(Self { http: reqwest::Client::new(), base: format!("{}{path}", base.trim_end_matches('/')), token })
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, String> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", format!("SSWS {}", self.token))
            .header("Accept", "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| format!("the server did not answer: {e}"))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        let value: Value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        if !status.is_success() {
            return Err(format!("{status}: {}", serde_json::to_string_pretty(&value).unwrap_or_default()));
        }
        Ok(value)
    }
}

/// A response body, pretty-printed (nothing for an empty one).
pub fn print(out: &Value) {
    if !out.is_null() {
        println!("{}", serde_json::to_string_pretty(out).unwrap_or_default());
    }
}
