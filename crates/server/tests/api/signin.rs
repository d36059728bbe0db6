//! Password sign-in through IDX.
use serde_json::json;

use crate::both_backends;
use crate::helpers::{interaction_code, remediation_names, spawn_app, PASSWORD};

both_backends!(
    sign_in_with_the_right_password_issues_an_interaction_code,
    wrong_password_unknown_user_and_suspended_user_get_the_same_error,
    the_sign_in_form_offers_forgot_password,
    repeated_failures_are_throttled_identically_for_unknown_users,
);

async fn sign_in_with_the_right_password_issues_an_interaction_code(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("jane@example.com").await;
    let (status, body) = app.sign_in("JANE@example.com", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    let code = interaction_code(&body);
    let (status, tokens) = app.exchange(&code).await;
    assert_eq!(status, 200, "{tokens}");
    assert!(tokens["id_token"].is_string() && tokens["access_token"].is_string());
    assert!(tokens.get("state").is_none(), "the token response must not carry state");
}

async fn wrong_password_unknown_user_and_suspended_user_get_the_same_error(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("right@example.com").await;
    let suspended = app.create_user("suspended@example.com").await;
    let id = suspended["id"].as_str().expect("id");
    let response = app.admin_post(&format!("/api/v1/users/{id}/lifecycle/suspend"), json!({})).await;
    assert_eq!(response.status(), 200);

    let (s1, wrong) = app.sign_in("right@example.com", "this is not the password at all").await;
    let (s2, unknown) = app.sign_in("nobody@example.com", "this is not the password at all").await;
    let (s3, susp) = app.sign_in("suspended@example.com", PASSWORD).await;
    assert_eq!((s1, s2, s3), (401, 401, 401));
    let messages = |b: &serde_json::Value| b["messages"].clone();
    assert_eq!(messages(&wrong), messages(&unknown));
    assert_eq!(messages(&wrong), messages(&susp));
    assert_eq!(wrong["messages"]["value"][0]["i18n"]["key"], "errors.E0000004");
    assert_eq!(remediation_names(&wrong), ["identify"], "the form stays so the user can retry");
}

async fn the_sign_in_form_offers_forgot_password(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let flow = app.interact("s1").await;
    let (_, body) = app.introspect(&flow.interaction_handle).await;
    assert_eq!(body["version"], "1.0.0");
    assert_eq!(remediation_names(&body), ["identify"]);
    let recover = &body["currentAuthenticator"]["value"]["recover"];
    assert_eq!(body["currentAuthenticator"]["type"], "object", "auth-js only looks inside type:object wrappers");
    assert_eq!(recover["name"], "recover");
    assert_eq!(recover["value"][0]["name"], "stateHandle");
    assert!(body["cancel"]["href"].as_str().expect("cancel").ends_with("/idp/idx/cancel"));
}

async fn repeated_failures_are_throttled_identically_for_unknown_users(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("victim@example.com").await;
    for identifier in ["victim@example.com", "ghost@example.com"] {
        let mut statuses = Vec::new();
        for _ in 0..6 {
            let (status, _) = app.sign_in(identifier, "definitely the wrong password").await;
            statuses.push(status);
        }
        assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "{identifier}");
    }
}
