//! `latchkey policies …` against a running server: each setting changes the policy the admin API
//! reads back, and a sign-in feels it.
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{latchkey, remediation_names, spawn_app, PASSWORD};

both_backends!(policies_are_listed_and_changed_through_the_cli);

async fn policies_are_listed_and_changed_through_the_cli(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let (ok, out, err) = latchkey(&app, &["policies", "list"], None).await;
    assert!(ok, "{out}{err}");
    let listed: Value = serde_json::from_str(&out).expect("JSON on stdout");
    let types: Vec<&str> = listed.as_array().expect("array").iter().filter_map(|p| p["type"].as_str()).collect();
    assert_eq!(types, ["PASSWORD", "ACCESS_POLICY", "MFA_ENROLL"]);
    assert!(listed.as_array().expect("array").iter().all(|p| p["rules"].as_array().is_some_and(|r| r.len() == 1)), "{out}");

    for args in [["policies", "sign-on", "2fa"], ["policies", "totp-enroll", "required"], ["policies", "recovery-step-up", "required"]] {
        let (ok, out, err) = latchkey(&app, &args, None).await;
        assert!(ok, "{args:?}: {out}{err}");
    }
    let rule: Value = app.admin_get("/api/v1/policies/rstlkaccess000000001/rules/rullkaccess000000001").await.json().await.expect("json");
    assert_eq!(rule["actions"]["appSignOn"]["verificationMethod"]["factorMode"], "2FA");
    let rule: Value = app.admin_get("/api/v1/policies/00plkpassword0000001/rules/0prlkpassword0000001").await.json().await.expect("json");
    assert_eq!(rule["actions"]["selfServicePasswordReset"]["requirement"]["stepUp"]["required"], true);
    let (ok, out, _) = latchkey(&app, &["policies", "show", "00plkmfaenroll000001"], None).await;
    assert!(ok && out.contains("\"REQUIRED\""), "{out}");
    // The enrollment policy's passkey setting, beside the TOTP one.
    let (ok, out, err) = latchkey(&app, &["policies", "passkey-enroll", "not-allowed"], None).await;
    assert!(ok, "{out}{err}");
    let policy: Value = app.admin_get("/api/v1/policies/00plkmfaenroll000001").await.json().await.expect("json");
    let setting = |key: &str| {
        policy["settings"]["authenticators"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["key"] == key))
            .map(|x| x["enroll"]["self"].clone())
    };
    assert_eq!((setting("google_otp"), setting("webauthn")), (Some("REQUIRED".into()), Some("NOT_ALLOWED".into())), "{policy}");

    // A sign-in now sets up a TOTP app first.
    app.create_user("cli-policy@example.com").await;
    let (status, body) = app.sign_in("cli-policy@example.com", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(remediation_names(&body), ["select-authenticator-enroll"]);

    let (ok, _, err) = latchkey(&app, &["policies", "sign-on", "3fa"], None).await;
    assert!(!ok && err.contains("3fa"), "{err}");
}
