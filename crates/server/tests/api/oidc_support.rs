//! What the OpenID Connect tests share: a browser's hosted sign-in with its cookies, a token
//! set from the `interaction_code` grant, and token checks against JWKS.
use std::collections::HashMap;

use serde_json::{json, Value};

use crate::helpers::{challenge_for, interaction_code, TestApp, PASSWORD, PUBLIC_CLIENT, REDIRECT_URI, VERIFIER};
use crate::hosted::{authorize_url, page_config};

pub const SID: &str = "latchkey_sid";

/// The value of cookie `name` set by a response, if any (`Some("")` when it is cleared).
pub fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('=').map(|(n, v)| (n.to_owned(), v.to_owned())))
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

pub fn query_of(response: &reqwest::Response) -> HashMap<String, String> {
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).expect("a Location header");
    url::Url::parse(location).expect("an absolute URL").query_pairs().into_owned().collect()
}

/// `GET /v1/authorize` with this browser's cookies.
pub async fn authorize(app: &TestApp, extra: &[(&str, &str)], cookies: &str) -> reqwest::Response {
    let mut request = app.http.get(authorize_url(app, extra));
    if !cookies.is_empty() {
        request = request.header("Cookie", cookies);
    }
    request.send().await.expect("authorize")
}

/// A hosted sign-in in a browser that already holds `cookies`: the page, the widget's IDX
/// calls, the callback. Returns the authorization code and the session id the callback set.
/// `prompt=login`, so a live session already in the browser cannot skip the page.
pub async fn hosted_sign_in(app: &TestApp, login: &str, cookies: &str) -> (String, Option<String>) {
    let page = authorize(app, &[("prompt", "login")], cookies).await;
    assert_eq!(page.status(), 200, "the sign-in page");
    let tx = set_cookie(&page, "latchkey_tx").expect("the transaction cookie");
    let config = page_config(&page.text().await.expect("html"));
    let handle = config["interactionHandle"].as_str().expect("handle").to_owned();
    let (_, state) = app.introspect(&handle).await;
    let (status, body) =
        app.idx("identify", json!({"identifier": login, "credentials": {"passcode": PASSWORD}, "stateHandle": state["stateHandle"]})).await;
    assert_eq!(status, 200, "{body}");
    let code = interaction_code(&body);
    let jar = if cookies.is_empty() { format!("latchkey_tx={tx}") } else { format!("{cookies}; latchkey_tx={tx}") };
    let callback =
        app.http.get(format!("{}/signin/callback?interaction_code={code}", app.base)).header("Cookie", jar).send().await.expect("callback");
    assert_eq!(callback.status(), 303);
    let sid = set_cookie(&callback, SID);
    (query_of(&callback)["code"].clone(), sid)
}

pub fn code_form(code: &str) -> [(&str, &str); 5] {
    [
        ("grant_type", "authorization_code"),
        ("client_id", PUBLIC_CLIENT),
        ("code", code),
        ("code_verifier", VERIFIER),
        ("redirect_uri", REDIRECT_URI),
    ]
}

/// interact → identify with password → `interaction_code` grant, with `scope`.
pub async fn tokens_for(app: &TestApp, login: &str, scope: &str) -> Value {
    let response = app
        .interact_raw(&[
            ("client_id", PUBLIC_CLIENT),
            ("scope", scope),
            ("redirect_uri", REDIRECT_URI),
            ("code_challenge", &challenge_for(VERIFIER)),
            ("code_challenge_method", "S256"),
            ("state", "oidc-state"),
            ("nonce", "oidc-nonce"),
        ])
        .await;
    assert_eq!(response.status(), 200);
    let handle = response.json::<Value>().await.expect("json")["interaction_handle"].as_str().expect("handle").to_owned();
    let (_, state) = app.introspect(&handle).await;
    let (status, body) =
        app.idx("identify", json!({"identifier": login, "credentials": {"passcode": PASSWORD}, "stateHandle": state["stateHandle"]})).await;
    assert_eq!(status, 200, "{body}");
    let (status, tokens) = app.exchange(&interaction_code(&body)).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

pub async fn refresh(app: &TestApp, refresh_token: &str) -> (u16, Value) {
    app.token(&[("grant_type", "refresh_token"), ("client_id", PUBLIC_CLIENT), ("refresh_token", refresh_token)]).await
}

pub async fn userinfo(app: &TestApp, access_token: &str) -> reqwest::Response {
    app.http.get(format!("{}/v1/userinfo", app.issuer())).bearer_auth(access_token).send().await.expect("userinfo")
}

pub async fn introspect_token(app: &TestApp, token: &str) -> Value {
    let response = app
        .http
        .post(format!("{}/v1/introspect", app.issuer()))
        .form(&[("client_id", PUBLIC_CLIENT), ("token", token)])
        .send()
        .await
        .expect("introspect");
    assert_eq!(response.status(), 200);
    response.json().await.expect("json")
}

pub async fn jwks(app: &TestApp) -> Vec<Value> {
    let body: Value = app.http.get(format!("{}/v1/keys", app.issuer())).send().await.expect("jwks").json().await.expect("json");
    body["keys"].as_array().expect("keys").clone()
}

/// Verifies a JWT against the published JWKS; returns its `kid` and claims.
pub async fn verify_with_jwks(app: &TestApp, token: &str, audience: &str) -> (String, Value) {
    use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
    let kid = decode_header(token).expect("header").kid.expect("kid");
    let keys = jwks(app).await;
    let jwk = keys.iter().find(|k| k["kid"] == kid.as_str()).unwrap_or_else(|| panic!("{kid} is published"));
    let key = DecodingKey::from_rsa_components(jwk["n"].as_str().expect("n"), jwk["e"].as_str().expect("e")).expect("key");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[app.issuer()]);
    (kid, decode::<Value>(token, &key, &validation).expect("the token verifies against JWKS").claims)
}
