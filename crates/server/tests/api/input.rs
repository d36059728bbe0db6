//! Bad input gets a 4xx in the protocol's error shape, never a 5xx (security-checklist INP-1…4).
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{remediation_names, spawn_app};

both_backends!(
    idx_bodies_sent_as_anything_but_json_get_415,
    malformed_idx_bodies_get_4xx_idx_errors,
    oversized_bodies_get_413,
    unknown_state_handles_get_session_expired,
    identifier_arrays_and_objects_are_refused,
    nested_members_of_the_wrong_type_are_refused_and_unknown_members_ignored,
    oversized_identifiers_and_passwords_are_refused_before_hashing,
    interact_refuses_bad_clients_redirects_and_pkce,
    a_client_id_that_is_no_client_id_is_an_invalid_client,
);

async fn raw_idx(app: &crate::helpers::TestApp, path: &str, body: Vec<u8>) -> (u16, Value) {
    let response = app
        .http
        .post(format!("{}/idp/idx/{path}", app.base))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn malformed_idx_bodies_get_4xx_idx_errors(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let cases: Vec<Vec<u8>> = vec![
        b"not json".to_vec(),
        vec![0xff, 0xfe, 0x00],
        br#"{"stateHandle":"a","stateHandle":"b"}"#.to_vec(),
        br#"{"a":"\ud800"}"#.to_vec(),
        deep.into_bytes(),
        b"[]".to_vec(),
        br#"{"stateHandle": 5}"#.to_vec(),
    ];
    for body in cases {
        let (status, json) = raw_idx(&app, "identify", body.clone()).await;
        assert!((400..500).contains(&status), "{status} for {:?}", String::from_utf8_lossy(&body[..body.len().min(40)]));
        assert_eq!(json["version"], "1.0.0", "IDX error shape");
    }
}

async fn oversized_bodies_get_413(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let big = format!(r#"{{"identifier":"{}"}}"#, "a".repeat(10 * 1024 * 1024));
    // The server answers 413 as soon as the declared length exceeds the limit and closes the
    // connection; a client still uploading may see the close instead of the answer. Either way
    // nothing was read past the limit.
    match app.http.post(format!("{}/idp/idx/identify", app.base)).header("content-type", "application/json").body(big).send().await {
        Ok(response) => assert_eq!(response.status(), 413),
        Err(error) => assert!(error.is_request() || error.is_body(), "unexpected failure: {error}"),
    }
    let (status, _) = raw_idx(&app, "introspect", b"{}".to_vec()).await;
    assert_eq!(status, 401, "the server is still up");
}

async fn unknown_state_handles_get_session_expired(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    for body in [json!({"stateHandle": "02nonsense"}), json!({}), json!({"interactionHandle": "nope"})] {
        let (status, json) = app.idx("introspect", body).await;
        assert_eq!(status, 401);
        assert_eq!(json["messages"]["value"][0]["i18n"]["key"], "idx.session.expired");
        assert!(json.get("remediation").is_none());
    }
}

async fn identifier_arrays_and_objects_are_refused(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("victim@example.com").await;
    let flow = app.interact("s").await;
    app.step(&flow, "recover", json!({})).await;
    for identifier in [json!(["victim@example.com", "attacker@example.com"]), json!({"$ne": 1}), json!(5)] {
        let (status, body) = app.step(&flow, "identify", json!({"identifier": identifier})).await;
        assert_eq!(status, 400, "{identifier}");
        // The message names the member and echoes nothing the client sent.
        let message = body["messages"]["value"][0]["message"].as_str().unwrap_or_default();
        assert!(message.contains("identifier") && !message.contains("victim") && !message.contains('5'), "{message}");
    }
    let (status, body) = app.step(&flow, "identify", json!({"identifier": "victim@example.com,attacker@example.com"})).await;
    assert_eq!(status, 200, "treated as an (unknown) identifier: {body}");
    app.drain_outbox().await;
    assert!(app.sink.messages_to("attacker@example.com").is_empty());
}

async fn nested_members_of_the_wrong_type_are_refused_and_unknown_members_ignored(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let flow = app.interact("s").await;
    for (path, body) in [
        ("challenge", json!({"authenticator": {"id": 5}})),
        ("challenge/answer", json!({"credentials": {"passcode": "123456", "revokeSessions": "yes"}})),
        ("identify", json!({"credentials": ["p"]})),
    ] {
        let (status, json) = app.step(&flow, path, body.clone()).await;
        assert_eq!(status, 400, "{path} {body}");
        assert_eq!(json["version"], "1.0.0", "IDX error shape");
    }
    // The real clients send members we do not read (idx-protocol §6.3): never a reason to refuse.
    app.step(&flow, "recover", json!({"rememberMe": true})).await;
    let (status, body) =
        app.step(&flow, "identify", json!({"identifier": "nobody@example.com", "rememberMe": true, "extra": {"a": [1]}})).await;
    assert_eq!(status, 200, "{body}");
}

async fn oversized_identifiers_and_passwords_are_refused_before_hashing(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let flow = app.interact("s").await;
    let (status, body) = app.step(&flow, "identify", json!({"identifier": "a".repeat(300), "credentials": {"passcode": "x"}})).await;
    assert_eq!(status, 400);
    assert_eq!(remediation_names(&body), ["identify"]);
    let (status, _) =
        app.step(&flow, "identify", json!({"identifier": "a@example.com", "credentials": {"passcode": "p".repeat(600)}})).await;
    assert_eq!(status, 400);
}

async fn interact_refuses_bad_clients_redirects_and_pkce(backend: latchkey_store::testing::Backend) {
    use crate::helpers::{challenge_for, PUBLIC_CLIENT, REDIRECT_URI, VERIFIER};
    let app = spawn_app(backend).await;
    let challenge = challenge_for(VERIFIER);
    let base = [
        ("client_id", PUBLIC_CLIENT),
        ("scope", "openid"),
        ("redirect_uri", REDIRECT_URI),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
        ("state", "s"),
    ];
    let with = |key: &'static str, value: &'static str| -> Vec<(&str, &str)> {
        base.iter().map(|(k, v)| if *k == key { (*k, value) } else { (*k, *v) }).collect()
    };
    for (form, expected) in [
        (with("client_id", "unknown-client"), "invalid_client"),
        (with("redirect_uri", "http://127.0.0.1:7777/login/callback/"), "invalid_request"),
        (with("code_challenge_method", "plain"), "invalid_request"),
        (with("scope", "openid admin"), "invalid_request"),
    ] {
        let response = app.interact_raw(&form).await;
        assert!(response.status().is_client_error());
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], expected, "{form:?}");
    }
}

/// Found by schemathesis: a NUL byte in `client_id` reached PostgreSQL, which refuses it in
/// text, and the endpoint answered 500.
async fn a_client_id_that_is_no_client_id_is_an_invalid_client(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    for endpoint in ["revoke", "introspect", "token"] {
        let response = app
            .http
            .post(format!("{}/oauth2/v1/{endpoint}", app.base))
            .form(&[("client_id", "bad\u{0}client"), ("token", "x"), ("grant_type", "refresh_token"), ("refresh_token", "x")])
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 401, "{endpoint}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], "invalid_client", "{endpoint}");
    }
}

/// WEB-1: a cross-site page can POST `text/plain`, a form encoding or a typeless blob without a
/// CORS preflight, never JSON. Every IDX route (read from the router) refuses those with 415 in
/// IDX's shape before reading the body, so a right password sent that way signs nobody in; the
/// JSON types the clients send are read.
async fn idx_bodies_sent_as_anything_but_json_get_415(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("media@example.com").await;
    let flow = app.interact("media-type").await;
    let body =
        json!({"stateHandle": flow.state_handle, "identifier": "media@example.com", "credentials": {"passcode": crate::helpers::PASSWORD}});
    let idx_routes: Vec<String> = crate::web::routed_paths(&app).into_iter().filter(|p| p.starts_with("/idp/idx/")).collect();
    assert!(idx_routes.len() >= 8, "{idx_routes:?}");
    for route in &idx_routes {
        for content_type in [
            Some("text/plain"),
            Some("text/plain;charset=UTF-8"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/jsonp"),
            Some("text/json"),
            None,
        ] {
            let mut request = app.http.post(format!("{}{route}", app.base)).body(body.to_string());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let response = request.send().await.expect("request");
            assert_eq!(response.status(), 415, "{route} with {content_type:?}");
            let refused: Value = response.json().await.expect("an IDX body");
            assert_eq!(refused["version"], "1.0.0", "{route}: {refused}");
            assert!(refused["messages"]["value"][0]["message"].as_str().is_some_and(|m| m.contains("JSON")), "{refused}");
            assert!(refused.get("successWithInteractionCode").is_none());
        }
    }
    for content_type in
        ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/ion+json; okta-version=1.0.0"]
    {
        let response = app
            .http
            .post(format!("{}/idp/idx/introspect", app.base))
            .header("content-type", content_type)
            .body(json!({"stateHandle": flow.state_handle}).to_string())
            .send()
            .await
            .expect("request");
        assert_eq!(response.status(), 200, "{content_type} is JSON");
    }
    let (status, signed_in) = app
        .step(&flow, "identify", json!({"identifier": "media@example.com", "credentials": {"passcode": crate::helpers::PASSWORD}}))
        .await;
    assert_eq!(status, 200, "the transaction was untouched by the refused calls: {signed_in}");
}
