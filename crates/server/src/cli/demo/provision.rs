//! Sets up the demo through the identity server's own management APIs, as an operator would
//! against Latchkey or Okta: the demo user (`/api/v1/users`) and the sample app as a
//! confidential client (RFC 7591, `POST /oauth2/v1/clients`).
use rand::Rng;
use serde_json::{json, Value};

use super::files::DemoState;

pub const DEMO_LOGIN: &str = "demo@example.com";

/// An authenticated client of the management API (`Authorization: SSWS`).
pub struct Admin {
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl Admin {
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<(u16, Value), String> {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).header("Authorization", format!("SSWS {}", self.token));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(|e| format!("the identity server did not answer {path}: {e}"))?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((status, body))
    }
}

/// 24 characters from 31 unambiguous symbols (about 119 bits), grouped for reading aloud.
fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rngs::OsRng;
    let chars: Vec<char> = (0..24).map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())])).collect();
    chars.chunks(6).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// Creates the demo user, or sets its password back to the printed one, so the printed
/// credentials always work when the demo starts (a reset during the last run is undone).
pub async fn ensure_user(admin: &Admin, demo: &mut DemoState) -> Result<(), String> {
    let password = demo.password.get_or_insert_with(generate_password).clone();
    let user = json!({
        "profile": {"login": DEMO_LOGIN, "email": DEMO_LOGIN, "firstName": "Demo", "lastName": "User", "locale": "en"},
        "credentials": {"password": {"value": password}},
    });
    let (status, body) = admin.send(reqwest::Method::GET, &format!("/api/v1/users/{DEMO_LOGIN}"), None).await?;
    let (status, body) = match status {
        200 => {
            let id = body["id"].as_str().ok_or("the user API answered without an id")?;
            admin.send(reqwest::Method::POST, &format!("/api/v1/users/{id}"), Some(user)).await?
        }
        404 => admin.send(reqwest::Method::POST, "/api/v1/users?activate=true", Some(user)).await?,
        _ => (status, body),
    };
    if status == 200 {
        Ok(())
    } else {
        Err(format!("the demo user could not be set up (HTTP {status}): {}", body["errorCauses"]))
    }
}

/// Reuses the registered client when it still exists with this redirect URI and origin;
/// registers a new one otherwise (first run, a new database, or a new `APP_PUBLIC_URL`).
pub async fn ensure_client(
    admin: &Admin,
    store: &latchkey_store::Store,
    demo: &mut DemoState,
    redirect_uri: &str,
    origin: &str,
) -> Result<(), String> {
    if let (Some(id), Some(_)) = (&demo.client_id, &demo.client_secret) {
        let existing = store.client(id).await.map_err(|e| format!("the client table cannot be read: {e}"))?;
        if existing.is_some_and(|c| c.redirect_uris.iter().any(|u| u == redirect_uri) && c.trusted_origins.iter().any(|o| o == origin)) {
            return Ok(());
        }
    }
    let metadata = json!({
        "client_name": "Magic link sample app",
        "redirect_uris": [redirect_uri],
        "trusted_origins": [origin],
        "grant_types": ["authorization_code", "interaction_code"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
        "application_type": "web",
    });
    let (status, body) = admin.send(reqwest::Method::POST, "/oauth2/v1/clients", Some(metadata)).await?;
    match (status, body["client_id"].as_str(), body["client_secret"].as_str()) {
        (201, Some(id), Some(secret)) => {
            demo.client_id = Some(id.to_owned());
            demo.client_secret = Some(secret.to_owned());
            Ok(())
        }
        _ => Err(format!("the sample app could not be registered (HTTP {status}): {body}")),
    }
}
