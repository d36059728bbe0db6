//! Client management (RFC 7592 shapes): read, replace, delete, and Okta-style secret rotation.
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app, ADMIN_TOKEN};

both_backends!(clients_can_be_read_replaced_rotated_and_deleted, loopback_look_alike_redirect_uris_are_refused);

async fn clients_can_be_read_replaced_rotated_and_deleted(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let created: Value = app
        .admin_post("/oauth2/v1/clients", json!({"client_name": "Web", "redirect_uris": ["https://app.example/cb"], "grant_types": ["authorization_code", "refresh_token"]}))
        .await
        .json()
        .await
        .expect("json");
    let id = created["client_id"].as_str().expect("id").to_owned();
    let first_secret = created["client_secret"].as_str().expect("secret").to_owned();
    let url = format!("{}/oauth2/v1/clients/{id}", app.base);
    let admin = |r: reqwest::RequestBuilder| r.header("Authorization", format!("SSWS {ADMIN_TOKEN}"));

    assert_eq!(app.http.get(&url).send().await.expect("req").status(), 401, "admin only");
    let shown: Value = admin(app.http.get(&url)).send().await.expect("req").json().await.expect("json");
    assert_eq!(shown["client_name"], "Web");
    assert!(shown.get("client_secret").is_none(), "the secret is shown once, at creation");

    let replaced = admin(app.http.put(&url))
        .json(&json!({"client_id": id, "client_name": "Web 2", "redirect_uris": ["https://app.example/cb2"], "post_logout_redirect_uris": ["https://app.example/bye"], "grant_types": ["authorization_code"]}))
        .send()
        .await
        .expect("req");
    assert_eq!(replaced.status(), 200);
    let replaced: Value = replaced.json().await.expect("json");
    assert_eq!(replaced["redirect_uris"], json!(["https://app.example/cb2"]));
    assert!(replaced.get("client_secret").is_none(), "an update keeps the secret");
    let bad =
        admin(app.http.put(&url)).json(&json!({"client_name": "x", "redirect_uris": ["http://evil.test/cb"]})).send().await.expect("req");
    assert_eq!(bad.status(), 400);

    let rotated: Value = admin(app.http.post(format!("{url}/lifecycle/newSecret"))).send().await.expect("req").json().await.expect("json");
    let second_secret = rotated["client_secret"].as_str().expect("new secret");
    assert_ne!(second_secret, first_secret);
    assert_eq!(second_secret.len(), 43);
    let stored = app.state.store.client(&id).await.expect("db").expect("client");
    assert_eq!(stored.secret_digest, Some(latchkey_domain::secret::sha256_hex(second_secret)), "only the digest is stored");

    let list: Value = admin(app.http.get(format!("{}/oauth2/v1/clients", app.base))).send().await.expect("req").json().await.expect("json");
    assert!(list.as_array().expect("array").iter().any(|c| c["client_id"] == id.as_str()));
    assert_eq!(admin(app.http.delete(&url)).send().await.expect("req").status(), 204);
    assert_eq!(admin(app.http.get(&url)).send().await.expect("req").status(), 404);
}

/// Finding 10: a host that merely starts with `127.` is a name anyone can point anywhere, so
/// plain http to it is not loopback; only IP literals in 127.0.0.0/8, `[::1]` and `localhost` are.
async fn loopback_look_alike_redirect_uris_are_refused(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    for uri in ["http://127.evil.test/cb", "http://127.0.0.1.nip.io/cb", "http://localhost.evil.test/cb"] {
        let response = app.admin_post("/oauth2/v1/clients", json!({"client_name": "Look-alike", "redirect_uris": [uri]})).await;
        assert_eq!(response.status(), 400, "{uri} was registered as a loopback redirect URI");
        let body: Value = response.json().await.expect("json");
        assert!(body["errorCauses"].to_string().contains(uri), "the cause names the refused URI: {body}");
    }
    for uri in ["http://127.0.0.1:9/cb", "http://[::1]:9/cb", "http://localhost:9/cb"] {
        let response = app.admin_post("/oauth2/v1/clients", json!({"client_name": "Loopback", "redirect_uris": [uri]})).await;
        assert_eq!(response.status(), 201, "{uri}");
    }
}
