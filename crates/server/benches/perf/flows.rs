//! The IDX and admin calls the bench makes, as a browser or an application would make them.
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::server::{ADMIN_TOKEN, CLIENT, PASSWORD, REDIRECT};

pub const EMAIL_AUTHENTICATOR: &str = "aut0lkemail000000001";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("HTTP client")
}

/// The form body of an interact request.
pub fn interact_form() -> String {
    format!(
        "client_id={CLIENT}&scope=openid&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256&state=s",
        percent_encoding::utf8_percent_encode(REDIRECT, percent_encoding::NON_ALPHANUMERIC)
    )
}

async fn post_json(http: &reqwest::Client, url: String, body: &Value) -> Result<(u16, Value), String> {
    let response = http.post(url).json(body).send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

/// interact → introspect: a fresh transaction's state handle.
pub async fn state_handle(http: &reqwest::Client, base: &str) -> Result<String, String> {
    let response = http
        .post(format!("{base}/oauth2/default/v1/interact"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(interact_form())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let body: Value = response.json().await.map_err(|e| e.to_string())?;
    let handle = body["interaction_handle"].as_str().ok_or_else(|| format!("interact: {body}"))?;
    let (_, body) = post_json(http, format!("{base}/idp/idx/introspect"), &json!({"interactionHandle": handle})).await?;
    body["stateHandle"].as_str().map(str::to_owned).ok_or_else(|| format!("introspect: {body}"))
}

/// An IDX step on `state_handle`; `Err` unless it answers `expected`.
pub async fn step(http: &reqwest::Client, base: &str, path: &str, body: Value, expected: u16) -> Result<Value, String> {
    let (status, answer) = post_json(http, format!("{base}/idp/idx/{path}"), &body).await?;
    if status == expected {
        Ok(answer)
    } else {
        Err(format!("{path}: {status} {answer}"))
    }
}

/// A timed step: how long the answer took (milliseconds); any answer counts.
pub async fn timed(http: &reqwest::Client, base: &str, path: &str, body: Value) -> f64 {
    let start = Instant::now();
    if let Ok(response) = http.post(format!("{base}/idp/idx/{path}")).json(&body).send().await {
        let _ = response.bytes().await;
    }
    start.elapsed().as_secs_f64() * 1000.0
}

/// interact → introspect → recover → identify: ready for the Submit of "Email".
pub async fn recovery_until_submit(http: &reqwest::Client, base: &str, who: &str) -> Result<String, String> {
    let sh = state_handle(http, base).await?;
    step(http, base, "recover", json!({"stateHandle": sh}), 200).await?;
    step(http, base, "identify", json!({"stateHandle": sh, "identifier": who}), 200).await?;
    Ok(sh)
}

/// The Submit: select Email, which queues the email (or, for an unknown identifier, its decoy).
pub async fn submit_email(http: &reqwest::Client, base: &str, sh: &str) -> Result<(), String> {
    step(http, base, "challenge", json!({"stateHandle": sh, "authenticator": {"id": EMAIL_AUTHENTICATOR}}), 200).await.map(|_| ())
}

/// One recovery start: interact → introspect → recover → identify → select Email.
pub async fn recovery_start(http: &reqwest::Client, base: &str, who: &str) -> Result<(), String> {
    let sh = recovery_until_submit(http, base, who).await?;
    submit_email(http, base, &sh).await
}

/// Active users with the bench's password, `parallel` creations at a time (each is a policy
/// check and an Argon2 hash on the server).
pub async fn create_users(http: &reqwest::Client, base: &str, logins: &[String], parallel: usize) {
    use futures::stream::{self, StreamExt};
    let created: Vec<Result<(), String>> = stream::iter(logins.iter().cloned())
        .map(|login| async move {
            let response = http
                .post(format!("{base}/api/v1/users?activate=true"))
                .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
                .json(&json!({"profile": {"login": login, "email": login}, "credentials": {"password": {"value": PASSWORD}}}))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            match response.status().as_u16() {
                200 => Ok(()),
                status => Err(format!("create {login}: {status} {}", response.text().await.unwrap_or_default())),
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    for outcome in created {
        outcome.expect("create a bench user");
    }
}
