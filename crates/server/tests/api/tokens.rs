//! The token endpoint's `interaction_code` grant and the signed tokens (idx-protocol §8).
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{
    interaction_code, spawn_app, TestApp, CONFIDENTIAL_CLIENT, CONFIDENTIAL_SECRET, PASSWORD, PUBLIC_CLIENT, REDIRECT_URI, VERIFIER,
};

both_backends!(
    the_id_token_verifies_against_jwks_with_issuer_audience_and_nonce,
    wrong_verifier_reused_code_and_wrong_redirect_are_invalid_grant,
    confidential_clients_must_authenticate,
    discovery_lists_what_is_supported_on_both_servers,
);

async fn signed_in_code(app: &TestApp, login: &str) -> String {
    app.create_user(login).await;
    let (status, body) = app.sign_in(login, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    interaction_code(&body)
}

async fn the_id_token_verifies_against_jwks_with_issuer_audience_and_nonce(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let code = signed_in_code(&app, "tokens@example.com").await;
    let (status, tokens) = app.exchange(&code).await;
    assert_eq!(status, 200, "{tokens}");
    let discovery: Value =
        app.http.get(format!("{}/.well-known/openid-configuration", app.issuer())).send().await.expect("req").json().await.expect("json");
    let jwks: Value =
        app.http.get(discovery["jwks_uri"].as_str().expect("jwks_uri")).send().await.expect("req").json().await.expect("json");
    let id_token = tokens["id_token"].as_str().expect("id_token");
    let header = decode_header(id_token).expect("header");
    assert_eq!(header.alg, Algorithm::RS256);
    let kid = header.kid.expect("kid");
    let jwk = jwks["keys"].as_array().expect("keys").iter().find(|k| k["kid"] == kid.as_str()).expect("the kid is published");
    let key = DecodingKey::from_rsa_components(jwk["n"].as_str().expect("n"), jwk["e"].as_str().expect("e")).expect("key");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[PUBLIC_CLIENT]);
    validation.set_issuer(&[app.issuer()]);
    let claims = decode::<Value>(id_token, &key, &validation).expect("the ID token verifies").claims;
    assert_eq!(claims["nonce"], "test-nonce");
    assert_eq!(claims["email"], "tokens@example.com");
    let access = decode::<Value>(tokens["access_token"].as_str().expect("at"), &key, &{
        let mut v = Validation::new(Algorithm::RS256);
        v.set_audience(&["api://default"]);
        v
    })
    .expect("the access token is a verifiable JWT")
    .claims;
    assert_eq!(access["cid"], PUBLIC_CLIENT);
}

async fn wrong_verifier_reused_code_and_wrong_redirect_are_invalid_grant(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let wrong_verifier = "ffffffffffffffffffffffffffffffffffffffffffff";
    let code = signed_in_code(&app, "grant1@example.com").await;
    let (status, body) = app
        .token(&[
            ("grant_type", "interaction_code"),
            ("client_id", PUBLIC_CLIENT),
            ("interaction_code", &code),
            ("code_verifier", wrong_verifier),
            ("redirect_uri", REDIRECT_URI),
        ])
        .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));

    let code = signed_in_code(&app, "grant2@example.com").await;
    assert_eq!(app.exchange(&code).await.0, 200);
    let (status, body) = app.exchange(&code).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "a reused code");

    let code = signed_in_code(&app, "grant3@example.com").await;
    let (status, body) = app
        .token(&[
            ("grant_type", "interaction_code"),
            ("client_id", PUBLIC_CLIENT),
            ("interaction_code", &code),
            ("code_verifier", VERIFIER),
            ("redirect_uri", "http://127.0.0.1:7777/other"),
        ])
        .await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "a different redirect URI");

    let (status, body) = app.token(&[("grant_type", "password"), ("client_id", PUBLIC_CLIENT)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));
}

async fn confidential_clients_must_authenticate(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("conf@example.com").await;
    let response = app
        .interact_raw(&[
            ("client_id", CONFIDENTIAL_CLIENT),
            ("scope", "openid email"),
            ("redirect_uri", REDIRECT_URI),
            ("code_challenge", &crate::helpers::challenge_for(VERIFIER)),
            ("code_challenge_method", "S256"),
            ("state", "conf-state"),
        ])
        .await;
    let handle = response.json::<Value>().await.expect("json")["interaction_handle"].as_str().expect("handle").to_owned();
    let (_, state) = app.introspect(&handle).await;
    let (status, body) = app
        .idx(
            "identify",
            json!({"identifier": "conf@example.com", "credentials": {"passcode": PASSWORD}, "stateHandle": state["stateHandle"]}),
        )
        .await;
    assert_eq!(status, 200);
    let code = interaction_code(&body);
    let form = |secret: &str| {
        vec![
            ("grant_type".to_owned(), "interaction_code".to_owned()),
            ("client_id".to_owned(), CONFIDENTIAL_CLIENT.to_owned()),
            ("client_secret".to_owned(), secret.to_owned()),
            ("interaction_code".to_owned(), code.clone()),
            ("code_verifier".to_owned(), VERIFIER.to_owned()),
            ("redirect_uri".to_owned(), REDIRECT_URI.to_owned()),
        ]
    };
    let post = |form: Vec<(String, String)>| {
        let app = &app;
        async move { app.http.post(format!("{}/v1/token", app.issuer())).form(&form).send().await.expect("req") }
    };
    let response = post(form("wrong-secret")).await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.json::<Value>().await.expect("json")["error"], "invalid_client");
    let response = post(form(CONFIDENTIAL_SECRET)).await;
    assert_eq!(response.status(), 200);
}

async fn discovery_lists_what_is_supported_on_both_servers(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    for (url, issuer) in [
        (format!("{}/.well-known/openid-configuration", app.base), app.base.clone()),
        (format!("{}/oauth2/default/.well-known/openid-configuration", app.base), app.issuer()),
    ] {
        let doc: Value = app.http.get(&url).send().await.expect("req").json().await.expect("json");
        assert_eq!(doc["issuer"], issuer.as_str());
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["RS256"]));
    }
}
