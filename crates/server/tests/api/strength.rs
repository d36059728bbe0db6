//! The reset form's live strength check (`POST /widget/v1/password-strength`, issue 13 item 4):
//! only a transaction at the reset step may ask, and the answer agrees with the reset's verdict.
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{remediation_names, spawn_app, TestApp};

both_backends!(only_a_reset_step_may_ask_and_the_answer_is_the_resets_verdict,);

async fn ask(app: &TestApp, state_handle: &str, password: &str) -> (u16, Value, Option<String>) {
    let response = app
        .http
        .post(format!("{}/widget/v1/password-strength", app.base))
        .form(&[("stateHandle", state_handle), ("password", password)])
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let cors = response.headers().get("access-control-allow-origin").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (status, response.json().await.unwrap_or(Value::Null), cors)
}

async fn only_a_reset_step_may_ask_and_the_answer_is_the_resets_verdict(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("strength@example.com").await;
    let strong = "a brand new passphrase for winter";
    assert_eq!(ask(&app, "no-such-handle", strong).await.0, 404);

    let (flow, _) = app.start_recovery("strength@example.com", "strength-state").await;
    assert_eq!(ask(&app, &flow.state_handle, strong).await.0, 404, "the challenge step may not ask");
    let code = app.code_from_mail("strength@example.com", 1).await;
    let (status, reset) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!((status, remediation_names(&reset)), (200, vec!["reset-authenticator".to_owned()]), "{reset}");

    let (status, weak, cors) = ask(&app, &flow.state_handle, "aaaaaaaaaaaaaaaaaaaa").await;
    assert_eq!((status, weak), (200, json!({"strong": false})));
    assert_eq!(cors.as_deref(), Some("*"), "the widget runs on the app's origin");
    assert_eq!(ask(&app, &flow.state_handle, strong).await.1, json!({"strong": true}));
    // The reset agrees: the weak one is refused for its strength, the strong one is taken.
    let (status, refused) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": "aaaaaaaaaaaaaaaaaaaa"}})).await;
    assert_eq!(status, 400, "{refused}");
    let (status, done) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": strong}})).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(ask(&app, &flow.state_handle, strong).await.0, 404, "a finished transaction may not ask");
}
