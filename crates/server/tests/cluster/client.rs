//! The calls a client makes through HAProxy: admin, IDX steps, the token endpoint. Each returns
//! the status, the body and which process answered (`X-Served-By`, set by HAProxy).
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::harness::{Cluster, ADMIN_TOKEN, PUBLIC_CLIENT, REDIRECT_URI};

pub const VERIFIER: &str = "0123456789abcdef0123456789abcdef0123456789a";
pub const PASSWORD: &str = "correct horse battery staple orbit";
pub const NEW_PASSWORD: &str = "an entirely different passphrase 42";

/// One answer: status, JSON body (`Null` if none), and the process HAProxy chose.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    pub served_by: String,
}

/// One IDX transaction as a client sees it.
#[derive(Clone, Debug)]
pub struct Flow {
    pub interaction_handle: String,
    pub state_handle: String,
}

pub fn challenge_for(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub fn remediation_names(body: &Value) -> Vec<String> {
    body["remediation"]["value"]
        .as_array()
        .map(|v| v.iter().filter_map(|r| r["name"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

pub fn email_authenticator_id(body: &Value) -> Option<String> {
    body["remediation"]["value"][0]["value"][0]["options"][0]["value"]["form"]["value"][0]["value"].as_str().map(str::to_owned)
}

pub fn interaction_code(body: &Value) -> String {
    body["successWithInteractionCode"]["value"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["name"] == "interaction_code"))
        .and_then(|f| f["value"].as_str())
        .expect("an interaction code")
        .to_owned()
}

pub fn extract_code(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit()).find(|run| run.len() == 6).map(str::to_owned)
}

/// What went wrong before an answer arrived: the connection failed, or HAProxy had no
/// process that answered (502/503/504). Either way the request may or may not have committed.
#[derive(Debug)]
pub struct NoAnswer(pub String);

enum Body<'a> {
    /// IDX speaks `application/ion+json`.
    Idx(&'a Value),
    Json(&'a Value),
    Form(&'a [(&'a str, &'a str)]),
}

impl Cluster {
    async fn send(&self, method: reqwest::Method, url: &str, body: Body<'_>, admin: bool) -> Result<Reply, NoAnswer> {
        let mut request = self.http.request(method, url);
        if admin {
            request = request.header("Authorization", format!("SSWS {ADMIN_TOKEN}"));
        }
        request = match body {
            Body::Idx(value) => request
                .header("Content-Type", "application/ion+json; okta-version=1.0.0")
                .header("Accept", "application/json")
                .body(serde_json::to_vec(value).expect("json")),
            Body::Json(value) => request.header("Accept", "application/json").json(value),
            Body::Form(form) => request.form(form),
        };
        let response = request.send().await.map_err(|e| NoAnswer(e.to_string()))?;
        let status = response.status().as_u16();
        if matches!(status, 502..=504) {
            return Err(NoAnswer(format!("HAProxy answered {status}")));
        }
        let served_by = response.headers().get("x-served-by").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let text = response.text().await.map_err(|e| NoAnswer(e.to_string()))?;
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Ok(Reply { status, body, served_by })
    }

    /// POST `/idp/idx/{path}`.
    pub async fn try_idx(&self, path: &str, body: &Value) -> Result<Reply, NoAnswer> {
        self.send(reqwest::Method::POST, &format!("{}/idp/idx/{path}", self.url), Body::Idx(body), false).await
    }

    /// An IDX step sent to `base` (one process directly, or HAProxy).
    pub async fn step_at(&self, base: &str, flow: &Flow, path: &str, mut body: Value) -> Reply {
        body["stateHandle"] = Value::String(flow.state_handle.clone());
        self.send(reqwest::Method::POST, &format!("{base}/idp/idx/{path}"), Body::Idx(&body), false)
            .await
            .unwrap_or_else(|e| panic!("idx/{path} at {base}: {}", e.0))
    }

    pub async fn try_step(&self, flow: &Flow, path: &str, mut body: Value) -> Result<Reply, NoAnswer> {
        body["stateHandle"] = Value::String(flow.state_handle.clone());
        self.try_idx(path, &body).await
    }

    pub async fn step(&self, flow: &Flow, path: &str, body: Value) -> Reply {
        self.try_step(flow, path, body).await.unwrap_or_else(|e| panic!("idx/{path}: {}", e.0))
    }

    pub async fn try_token(&self, form: &[(&str, &str)]) -> Result<Reply, NoAnswer> {
        self.send(reqwest::Method::POST, &format!("{}/oauth2/default/v1/token", self.url), Body::Form(form), false).await
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> Reply {
        self.try_token(form).await.unwrap_or_else(|e| panic!("token: {}", e.0))
    }

    pub async fn try_create_user(&self, login: &str) -> Result<Reply, NoAnswer> {
        let body = json!({
            "profile": {"login": login, "email": login, "firstName": "Cluster", "lastName": "User"},
            "credentials": {"password": {"value": PASSWORD}}
        });
        self.send(reqwest::Method::POST, &format!("{}/api/v1/users?activate=true", self.url), Body::Json(&body), true).await
    }

    pub async fn create_user(&self, login: &str) -> Value {
        let reply = self.try_create_user(login).await.unwrap_or_else(|e| panic!("create {login}: {}", e.0));
        assert_eq!(reply.status, 200, "create {login}: {}", reply.body);
        reply.body
    }

    /// POST `/oauth2/default/v1/interact` with PKCE; returns the interaction handle.
    pub async fn try_interact(&self, scope: &str, oauth_state: &str) -> Result<Reply, NoAnswer> {
        let challenge = challenge_for(VERIFIER);
        let form = [
            ("client_id", PUBLIC_CLIENT),
            ("scope", scope),
            ("redirect_uri", REDIRECT_URI),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("state", oauth_state),
            ("nonce", "cluster-nonce"),
        ];
        self.send(reqwest::Method::POST, &format!("{}/oauth2/default/v1/interact", self.url), Body::Form(&form), false).await
    }

    /// interact → introspect: a new transaction. Returns the processes that answered too.
    pub async fn try_begin(&self, scope: &str, oauth_state: &str) -> Result<(Flow, Vec<String>), NoAnswer> {
        let interact = retry_once(|| self.try_interact(scope, oauth_state)).await?;
        assert_eq!(interact.status, 200, "interact: {}", interact.body);
        let handle = interact.body["interaction_handle"].as_str().expect("interaction_handle").to_owned();
        let body = json!({"interactionHandle": handle});
        let introspect = retry_once(|| self.try_idx("introspect", &body)).await?;
        assert_eq!(introspect.status, 200, "introspect: {}", introspect.body);
        let state_handle = introspect.body["stateHandle"].as_str().expect("stateHandle").to_owned();
        Ok((Flow { interaction_handle: handle, state_handle }, vec![interact.served_by, introspect.served_by]))
    }

    pub async fn begin(&self, scope: &str, oauth_state: &str) -> Flow {
        self.try_begin(scope, oauth_state).await.unwrap_or_else(|e| panic!("begin: {}", e.0)).0
    }

    /// The interaction-code exchange with the PKCE verifier.
    pub async fn exchange(&self, interaction_code: &str) -> Reply {
        self.token(&[
            ("grant_type", "interaction_code"),
            ("client_id", PUBLIC_CLIENT),
            ("interaction_code", interaction_code),
            ("code_verifier", VERIFIER),
            ("redirect_uri", REDIRECT_URI),
        ])
        .await
    }

    /// A password sign-in in a new transaction; the identify step's reply.
    pub async fn sign_in(&self, identifier: &str, password: &str, scope: &str) -> Reply {
        let flow = self.begin(scope, "signin-state").await;
        self.step(&flow, "identify", json!({"identifier": identifier, "credentials": {"passcode": password}})).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        self.token(&[("grant_type", "refresh_token"), ("client_id", PUBLIC_CLIENT), ("refresh_token", refresh_token)]).await
    }
}

/// Runs `call`, and once more if no answer arrived (a process died under the request and
/// HAProxy could not hide it).
pub async fn retry_once<F, Fut>(mut call: F) -> Result<Reply, NoAnswer>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Reply, NoAnswer>>,
{
    match call().await {
        Ok(reply) => Ok(reply),
        Err(_) => call().await,
    }
}
