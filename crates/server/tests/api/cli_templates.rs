//! `latchkey template …` against a running server: the recipe's edit through the CLI.
use crate::both_backends;
use crate::helpers::{latchkey, spawn_app};

both_backends!(template_set_and_list_work_against_a_running_server);

async fn template_set_and_list_work_against_a_running_server(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let dir = crate::helpers::TempDir(std::env::temp_dir().join(format!("latchkey-cli-{}", latchkey_domain::secret::okta_style_id(""))));
    std::fs::create_dir_all(&dir.0).expect("dir");
    let body = dir.0.join("forgot.html");
    std::fs::write(&body, r#"<p>Code: ${oneTimePassword}</p><a href="https://app.example/magic-link/callback?otp=${oneTimePassword}&state=${request.relayState}">Reset</a>"#).expect("write");
    let body = body.to_str().expect("utf-8 path");

    let (ok, out, err) =
        latchkey(&app, &["template", "set", "ForgotPassword", "--language", "en", "--subject", "Reset it", "--body-file", body], None)
            .await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("created ForgotPassword [en]") && out.contains("(default)"), "{out}");
    let (ok, out, err) = latchkey(
        &app,
        &["template", "set", "ForgotPassword", "--language", "fr", "--subject", "Réinitialiser"],
        Some("<p>${resetPasswordLink}</p>"),
    )
    .await;
    assert!(ok, "{out}{err}");
    let (ok, out, err) =
        latchkey(&app, &["template", "set", "ForgotPassword", "--language", "en", "--subject", "Reset again", "--body-file", body], None)
            .await;
    assert!(ok && out.contains("replaced"), "{out}{err}");

    let (ok, out, err) = latchkey(&app, &["template", "list"], None).await;
    assert!(ok, "{err}");
    let line = out.lines().find(|l| l.starts_with("ForgotPassword")).expect("a ForgotPassword line");
    assert!(line.contains("en*") && line.contains("fr"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("PasswordChanged") && l.contains("(built-in)")), "{out}");

    let (ok, out, _) = latchkey(&app, &["template", "preview", "ForgotPassword", "--language", "en"], None).await;
    assert!(ok && out.contains("Subject: Reset again") && out.contains("otp=123456"), "{out}");

    let (ok, _, err) =
        latchkey(&app, &["template", "set", "ForgotPassword", "--language", "de", "--subject", "x"], Some("<p>nothing useful</p>")).await;
    assert!(!ok, "refused");
    assert!(err.contains("Api validation failed") && err.contains("${oneTimePassword}"), "the API's summary and causes: {err}");

    let (ok, out, err) = latchkey(&app, &["template", "test", "ForgotPassword"], None).await;
    assert!(ok, "{out}{err}");
    let mail = app.wait_for_mail("admin@example.com", 1).await.remove(0);
    assert_eq!(mail.subject.as_deref(), Some("Reset again"));
}
