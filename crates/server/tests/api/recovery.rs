//! Email password recovery end to end: code typed, code from the link, the state in the link.
use serde_json::json;

use crate::both_backends;
use crate::helpers::{extract_link, interaction_code, remediation_names, spawn_app, PASSWORD};

const NEW_PASSWORD: &str = "a brand new passphrase for winter";

both_backends!(
    recovery_with_the_typed_code_resets_the_password,
    recovery_with_the_code_from_the_link_works_and_the_link_carries_the_interact_state,
    a_hostile_state_is_percent_encoded_in_the_link,
    a_policy_violation_keeps_the_reset_form,
    cancel_returns_to_the_sign_in_form_on_the_same_transaction,
    a_128_character_password_is_kept_whole_and_its_prefix_fails,
);

async fn recovery_with_the_typed_code_resets_the_password(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("reset@example.com").await;
    let (flow, challenge) = app.start_recovery("reset@example.com", "app-state-1").await;
    assert_eq!(challenge["currentAuthenticatorEnrollment"]["value"]["resend"]["name"], "resend");
    assert!(challenge["currentAuthenticatorEnrollment"]["value"].get("recover").is_none(), "no recover action after recovery started");
    let code = app.code_from_mail("reset@example.com", 1).await;

    let (status, reset) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(status, 200, "{reset}");
    assert_eq!(remediation_names(&reset), ["reset-authenticator"]);
    let complexity = &reset["currentAuthenticator"]["value"]["settings"]["complexity"];
    assert_eq!(complexity["minLength"], 15);

    let (status, done) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": NEW_PASSWORD}})).await;
    assert_eq!(status, 200, "{done}");
    let (status, tokens) = app.exchange(&interaction_code(&done)).await;
    assert_eq!(status, 200, "{tokens}");

    assert_eq!(app.sign_in("reset@example.com", NEW_PASSWORD).await.0, 200, "the new password works");
    assert_eq!(app.sign_in("reset@example.com", PASSWORD).await.0, 401, "the old password fails");

    let mails = app.wait_for_mail("reset@example.com", 2).await;
    let notice = mails.iter().find(|m| !m.text.as_deref().unwrap_or_default().contains(&code)).expect("a PasswordChanged notice");
    assert!(notice.html.is_some() && notice.text.is_some());
    let kinds: Vec<String> = app.state.store.outbox_messages(None, 10).await.expect("outbox").into_iter().map(|m| m.kind).collect();
    assert!(kinds.contains(&"PasswordChanged".to_owned()), "{kinds:?}");

    // The code cannot be used again, not even in a new recovery of the same account.
    let (flow2, _) = app.start_recovery("reset@example.com", "app-state-2").await;
    let (status, _) = app.step(&flow2, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(status, 401);
}

async fn recovery_with_the_code_from_the_link_works_and_the_link_carries_the_interact_state(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("link@example.com").await;
    let state = "state with spaces&and=reserved/chars";
    let (flow, _) = app.start_recovery("link@example.com", state).await;
    let mail = app.wait_for_mail("link@example.com", 1).await.remove(0);
    let text = mail.text.expect("a text part");
    let html = mail.html.expect("an HTML part");
    let link = extract_link(&text, &format!("{}/signin/reset-password?", app.base)).expect("the reset link");
    let url = url::Url::parse(&link).expect("a URL");
    let params: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(params.get("state").map(String::as_str), Some(state), "the link's state is the interact state");
    assert!(
        link.contains("state=state+with+spaces%26and%3Dreserved%2Fchars")
            || link.contains("state=state%20with%20spaces%26and%3Dreserved%2Fchars"),
        "{link}"
    );
    let otp = params.get("otp").expect("otp in the link").clone();
    assert!(html.contains(&otp), "the HTML part carries the code too");

    // Opening the link changes nothing; the page hands the code back to the original tab.
    let (status, reset) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": otp}})).await;
    assert_eq!(status, 200, "{reset}");
    assert_eq!(remediation_names(&reset), ["reset-authenticator"]);
}

async fn a_hostile_state_is_percent_encoded_in_the_link(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("hostile@example.com").await;
    let hostile = "\"><a href=//evil.test>x</a>&otp=1";
    app.start_recovery("hostile@example.com", hostile).await;
    let mail = app.wait_for_mail("hostile@example.com", 1).await.remove(0);
    let html = mail.html.expect("html");
    assert!(!html.contains("<a href=//evil.test>"), "no markup injected");
    assert!(!html.contains("&otp=1\""), "no parameter injected");
    let text = mail.text.expect("text");
    assert_eq!(text.matches("otp=").count(), text.matches("signin/reset-password?").count(), "one otp parameter per link");

    // Over-long or control-character states are refused at interact.
    let long = "a".repeat(513);
    for bad in [long.as_str(), "tab\there"] {
        let response = app
            .interact_raw(&[
                ("client_id", crate::helpers::PUBLIC_CLIENT),
                ("scope", "openid"),
                ("redirect_uri", crate::helpers::REDIRECT_URI),
                ("code_challenge", &crate::helpers::challenge_for(crate::helpers::VERIFIER)),
                ("code_challenge_method", "S256"),
                ("state", bad),
            ])
            .await;
        assert_eq!(response.status(), 400);
        let body: serde_json::Value = response.json().await.expect("json");
        assert_eq!(body["error"], "invalid_request");
    }
}

async fn a_policy_violation_keeps_the_reset_form(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("policy@example.com").await;
    let (flow, _) = app.start_recovery("policy@example.com", "s").await;
    let code = app.code_from_mail("policy@example.com", 1).await;
    app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    for weak in ["short", "passwordpassword1", "policy@example.com123456789"] {
        let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": weak}})).await;
        assert_eq!(status, 400, "{weak}");
        assert_eq!(remediation_names(&body), ["reset-authenticator"]);
        let message = &body["remediation"]["value"][0]["value"][0]["form"]["value"][0]["messages"]["value"][0];
        assert_eq!(message["i18n"]["key"], "password.passwordRequirementsNotMet", "{body}");
    }
    let (status, _) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": NEW_PASSWORD}})).await;
    assert_eq!(status, 200);
}

async fn cancel_returns_to_the_sign_in_form_on_the_same_transaction(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("cancel@example.com").await;
    let (flow, _) = app.start_recovery("cancel@example.com", "keep-me").await;
    let (status, body) = app.step(&flow, "cancel", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(remediation_names(&body), ["identify"]);
    let (status, body) =
        app.step(&flow, "identify", json!({"identifier": "cancel@example.com", "credentials": {"passcode": PASSWORD}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.exchange(&interaction_code(&body)).await.0, 200, "the original PKCE pair still works");
}

/// PWD-2: a password of exactly 128 code points (many of them multi-byte) is set whole: it
/// signs in, its 127-code-point prefix does not, and 129 code points are refused with the
/// policy's message, never truncated.
async fn a_128_character_password_is_kept_whole_and_its_prefix_fails(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "longpass@example.com";
    app.create_user(login).await;
    let words = "Zebra quartz Ümlaut ßtraße lighthouse 🦓 kettle orbit marmalade ferry Übermut crimson walnut gondola sextant ☂ plover inkwell turbine jasmine";
    let password: String = words.chars().take(128).collect();
    assert_eq!(password.chars().count(), 128);
    assert!(!password.ends_with(' ') && password.len() > 128, "multi-byte, no trailing space: {password:?}");
    let prefix: String = password.chars().take(127).collect();
    let too_long = format!("{password}Q");

    let (flow, _) = app.start_recovery(login, "long").await;
    let code = app.code_from_mail(login, 1).await;
    assert_eq!(app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await.0, 200);
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": too_long}})).await;
    assert_eq!(status, 400, "129 code points are refused: {body}");
    assert_eq!(remediation_names(&body), ["reset-authenticator"], "the form stays");
    let message = &body["remediation"]["value"][0]["value"][0]["form"]["value"][0]["messages"]["value"][0];
    assert!(message["message"].as_str().is_some_and(|m| m.contains("128")), "the message names the limit: {body}");
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": password}})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.exchange(&interaction_code(&body)).await.0, 200);

    assert_eq!(app.sign_in(login, &password).await.0, 200, "all 128 code points sign in");
    assert_eq!(app.sign_in(login, &prefix).await.0, 401, "the 127-code-point prefix does not");
    assert_eq!(app.sign_in(login, &too_long).await.0 / 100, 4, "nor does a longer string");
    assert_eq!(app.sign_in(login, PASSWORD).await.0, 401);
}
