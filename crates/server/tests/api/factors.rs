//! Okta's Factors API for TOTP: enroll (the secret shown once), activate with a value computed
//! from it, list without the secret, parallel activations with one value (one wins, one
//! AuthenticatorEnrolled notice), remove; every change in the System Log, the secret sealed at
//! rest.
use latchkey_domain::totp::{self, TotpPolicy, TotpSecret};
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app, TestApp};

both_backends!(
    a_totp_factor_is_enrolled_activated_listed_and_removed,
    one_value_activates_once_even_in_parallel_and_wrong_values_are_refused,
    enrollment_refuses_other_factor_types_and_a_second_active_totp,
);

async fn enroll(app: &TestApp, user_id: &str) -> (String, TotpSecret) {
    let response = app
        .admin_post(&format!("/api/v1/users/{user_id}/factors"), json!({"factorType": "token:software:totp", "provider": "GOOGLE"}))
        .await;
    assert_eq!(response.status(), 200);
    let factor: Value = response.json().await.expect("json");
    assert_eq!(factor["status"], "PENDING_ACTIVATION");
    assert_eq!(factor["factorType"], "token:software:totp");
    let activation = &factor["_embedded"]["activation"];
    assert_eq!(activation["timeStep"], 30);
    assert_eq!(activation["encoding"], "base32");
    let shared = activation["sharedSecret"].as_str().expect("sharedSecret");
    assert_eq!(activation["keyLength"], shared.len());
    assert!(activation["_links"]["qrcode"]["href"].as_str().is_some_and(|h| h.starts_with("data:image/svg+xml;base64,")));
    assert!(factor["_links"]["activate"]["href"].as_str().is_some_and(|h| h.ends_with("/lifecycle/activate")));
    (factor["id"].as_str().expect("id").to_owned(), TotpSecret::from_base32(shared).expect("a base32 secret"))
}

async fn value_now(app: &TestApp, secret: &TotpSecret) -> String {
    totp::value_at(secret, &TotpPolicy::default(), app.state.store.now().await.expect("now"))
}

async fn activate(app: &TestApp, user_id: &str, factor_id: &str, pass_code: &str) -> (u16, Value) {
    let response =
        app.admin_post(&format!("/api/v1/users/{user_id}/factors/{factor_id}/lifecycle/activate"), json!({"passCode": pass_code})).await;
    (response.status().as_u16(), response.json().await.expect("json"))
}

async fn a_totp_factor_is_enrolled_activated_listed_and_removed(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("totp@example.com").await;
    let user_id = user["id"].as_str().expect("id");
    let (factor_id, secret) = enroll(&app, user_id).await;

    let (status, active) = activate(&app, user_id, &factor_id, &value_now(&app, &secret).await).await;
    assert_eq!(status, 200, "{active}");
    assert_eq!(active["status"], "ACTIVE");
    assert!(active.get("_embedded").is_none() && active["_links"].get("activate").is_none());

    let listed: Value = app.admin_get(&format!("/api/v1/users/{user_id}/factors")).await.json().await.expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["id"], factor_id.as_str());
    assert!(!listed.to_string().contains(&secret.base32()), "the secret is shown once, at enrollment");
    let one = app.admin_get(&format!("/api/v1/users/totp@example.com/factors/{factor_id}")).await;
    assert_eq!(one.status(), 200, "by login too");

    // At rest the secret is sealed: neither its base32 nor its bytes are in the row.
    let stored = app
        .state
        .store
        .factor_of(&latchkey_domain::UserId::from_trusted(user_id.to_owned()), &factor_id)
        .await
        .expect("read")
        .expect("row");
    assert!(!stored.secret_sealed.contains(&secret.base32()));
    assert!(!stored.secret_sealed.as_bytes().windows(secret.expose_bytes().len()).any(|w| w == secret.expose_bytes()));

    let removed = app
        .http
        .delete(format!("{}/api/v1/users/{user_id}/factors/{factor_id}", app.base))
        .header("Authorization", format!("SSWS {}", crate::helpers::ADMIN_TOKEN))
        .send()
        .await
        .expect("delete");
    assert_eq!(removed.status(), 204);
    assert_eq!(app.admin_get(&format!("/api/v1/users/{user_id}/factors/{factor_id}")).await.status(), 404);

    let logs: Value = app.admin_get(&format!("/api/v1/logs?filter=target.id%20eq%20%22{user_id}%22")).await.json().await.expect("json");
    let types: Vec<&str> = logs.as_array().expect("list").iter().filter_map(|e| e["eventType"].as_str()).collect();
    assert_eq!(types, ["user.lifecycle.create", "user.mfa.factor.update", "user.mfa.factor.activate", "user.mfa.factor.deactivate"]);
}

async fn one_value_activates_once_even_in_parallel_and_wrong_values_are_refused(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("race@example.com").await;
    let user_id = user["id"].as_str().expect("id");
    let (factor_id, secret) = enroll(&app, user_id).await;
    let right = value_now(&app, &secret).await;
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let (status, body) = activate(&app, user_id, &factor_id, wrong).await;
    assert_eq!((status, body["errorCode"].as_str()), (403, Some("E0000068")), "{body}");
    for malformed in ["", "12345", "abcdef"] {
        assert_eq!(activate(&app, user_id, &factor_id, malformed).await.0, 403);
    }

    let attempts = (0..8).map(|_| activate(&app, user_id, &factor_id, &right));
    let statuses: Vec<u16> = futures::future::join_all(attempts).await.into_iter().map(|(status, _)| status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "one value activates once: {statuses:?}");
    assert!(statuses.iter().all(|s| [200, 400, 403].contains(s)), "{statuses:?}");

    let logs: Value =
        app.admin_get("/api/v1/logs?filter=eventType%20eq%20%22user.mfa.factor.activate%22").await.json().await.expect("json");
    let outcomes: Vec<&str> = logs.as_array().expect("list").iter().filter_map(|e| e["outcome"]["result"].as_str()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "SUCCESS").count(), 1);
    assert!(outcomes.iter().filter(|o| **o == "FAILURE").count() >= 4, "wrong values are logged: {outcomes:?}");
    assert!(!logs.to_string().contains(&right), "no value in the log");
    // Only the use that activated the factor announces it, however many raced.
    app.drain_outbox().await;
    let notices: Vec<_> = app
        .sink
        .messages_to("race@example.com")
        .into_iter()
        .filter(|m| m.subject.as_deref().unwrap_or_default().contains("A new authenticator was added"))
        .collect();
    assert_eq!(notices.len(), 1, "one AuthenticatorEnrolled notice");
}

async fn enrollment_refuses_other_factor_types_and_a_second_active_totp(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("second@example.com").await;
    let user_id = user["id"].as_str().expect("id");
    for body in [json!({"factorType": "sms", "provider": "OKTA"}), json!({"factorType": "token:software:totp", "provider": "OKTA"})] {
        let response = app.admin_post(&format!("/api/v1/users/{user_id}/factors"), body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
    }
    let response = app
        .admin_post(
            &format!("/api/v1/users/{user_id}/factors"),
            json!({"factorType": "token:software:totp", "provider": "GOOGLE", "extra": 1}),
        )
        .await;
    assert_eq!(response.status(), 400, "admin bodies refuse unknown members");

    let (first, _) = enroll(&app, user_id).await;
    let (second, secret) = enroll(&app, user_id).await;
    assert_ne!(first, second);
    assert_eq!(
        app.admin_get(&format!("/api/v1/users/{user_id}/factors/{first}")).await.status(),
        404,
        "an unfinished enrollment is replaced"
    );
    assert_eq!(activate(&app, user_id, &second, &value_now(&app, &secret).await).await.0, 200);
    let response = app
        .admin_post(&format!("/api/v1/users/{user_id}/factors"), json!({"factorType": "token:software:totp", "provider": "GOOGLE"}))
        .await;
    assert_eq!(response.status(), 400, "one active TOTP per user");
    assert_eq!(
        app.admin_post("/api/v1/users/nobody@example.com/factors", json!({"factorType": "token:software:totp", "provider": "GOOGLE"}))
            .await
            .status(),
        404
    );
}
