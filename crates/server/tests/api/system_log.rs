//! The System Log (`GET /api/v1/logs`): every step of a recovery is recorded with its outcome,
//! in order, in Okta's LogEvent shape, filtered and paged the way Okta's clients ask; secrets
//! never appear in it.
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{extract_link, interaction_code, remediation_names, spawn_app, spawn_app_with, TestApp, ADMIN_TOKEN, PASSWORD};

const NEW_PASSWORD: &str = "a brand new passphrase for winter";

both_backends!(
    a_recovery_is_logged_step_by_step_and_secrets_stay_out,
    failures_locks_and_unknown_identifiers_are_logged_for_the_administrator,
    pages_follow_the_next_link_without_gaps_or_repeats,
    unsupported_queries_are_refused_in_oktas_error_shape,
    set_password_links_an_administrator_issues_are_logged_without_the_link,
    client_changes_are_logged_without_their_secrets,
    email_customization_changes_are_logged_without_the_template,
    an_administrators_resend_is_logged_with_the_message,
    a_signing_key_rotation_is_logged_without_the_key,
);

async fn logs(app: &TestApp, query: &str) -> (Vec<Value>, Vec<String>) {
    let response = app.admin_get(&format!("/api/v1/logs{query}")).await;
    assert_eq!(response.status(), 200, "GET /api/v1/logs{query}");
    let links = response.headers().get_all("link").iter().map(|v| v.to_str().expect("ascii").to_owned()).collect();
    (response.json().await.expect("json"), links)
}

fn types_and_outcomes(events: &[Value]) -> Vec<(String, String)> {
    events
        .iter()
        .map(|e| (e["eventType"].as_str().unwrap_or_default().to_owned(), e["outcome"]["result"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

fn pair(event_type: &str, result: &str) -> (String, String) {
    (event_type.to_owned(), result.to_owned())
}

async fn a_recovery_is_logged_step_by_step_and_secrets_stay_out(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("logged@example.com").await;
    let user_id = user["id"].as_str().expect("id").to_owned();
    let (flow, _) = app.start_recovery("logged@example.com", "log-state").await;
    let code = app.code_from_mail("logged@example.com", 1).await;
    let wrong = if code == "00000000" { "11111111" } else { "00000000" };
    let wrong = &wrong[..code.len()];
    let (status, _) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": wrong}})).await;
    assert_eq!(status, 401);
    let (status, reset) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(remediation_names(&reset), ["reset-authenticator"], "{status} {reset}");
    let (status, done) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": NEW_PASSWORD}})).await;
    assert_eq!(status, 200, "{done}");
    let (status, tokens) = app.exchange(&interaction_code(&done)).await;
    assert_eq!(status, 200, "{tokens}");
    app.drain_outbox().await;

    let (events, _) = logs(&app, &format!("?filter={}", urlencode(&format!("target.id eq \"{user_id}\"")))).await;
    let seen = types_and_outcomes(&events);
    assert_eq!(
        seen,
        [
            pair("user.lifecycle.create", "SUCCESS"),
            pair("user.account.reset_password", "SUCCESS"),
            pair("app.oauth2.as.token.grant", "SUCCESS")
        ],
        "events about the account, in order"
    );
    let (events, _) = logs(&app, &format!("?filter={}", urlencode(r#"actor.id eq "latchkey""#))).await;
    assert!(
        types_and_outcomes(&events).iter().filter(|p| **p == pair("system.email.delivery", "SUCCESS")).count() >= 2,
        "the code email and the PasswordChanged notice were delivered: {events:#?}"
    );

    let (all, _) = logs(&app, &format!("?q={}", urlencode("logged@example.com"))).await;
    let recovery: Vec<_> = types_and_outcomes(&all)
        .into_iter()
        .filter(|(t, _)| t.starts_with("system.email.password_reset") || t.starts_with("user.authentication"))
        .collect();
    assert_eq!(
        recovery,
        [
            pair("system.email.password_reset.sent_message", "SUCCESS"),
            pair("user.authentication.auth_via_mfa", "FAILURE"),
            pair("user.authentication.auth_via_mfa", "SUCCESS"),
        ]
    );
    let request = all.iter().find(|e| e["eventType"] == "system.email.password_reset.sent_message").expect("the request");
    assert_eq!(request["actor"]["id"], user_id.as_str());
    assert_eq!(request["actor"]["alternateId"], "logged@example.com");
    assert_eq!(request["client"]["ipAddress"], "127.0.0.1");
    assert!(request["transaction"]["id"].as_str().is_some_and(|id| !id.is_empty()), "the request id: {request}");
    assert_eq!(request["debugContext"]["debugData"]["factor"], "EMAIL");
    assert!(request["published"].as_str().is_some_and(|p| p.ends_with('Z') && p.contains('T')));

    let everything = app.admin_get("/api/v1/logs?limit=1000").await.text().await.expect("body");
    for secret in [code.as_str(), NEW_PASSWORD, PASSWORD, tokens["access_token"].as_str().expect("token")] {
        assert!(!everything.contains(secret), "a secret is in the System Log");
    }
}

async fn failures_locks_and_unknown_identifiers_are_logged_for_the_administrator(backend: latchkey_store::testing::Backend) {
    let lockout_after = 3;
    let app = spawn_app_with(backend, |s| s.signin.lockout_after = lockout_after).await;
    let user = app.create_user("locked@example.com").await;
    for _ in 0..lockout_after {
        let (status, _) = app.sign_in("locked@example.com", "not the password at all").await;
        assert!(status == 401 || status == 429, "{status}");
        app.advance_clock(std::time::Duration::from_secs(3600)).await;
    }
    app.start_recovery("nobody@example.com", "unknown-state").await;

    let (events, _) = logs(&app, &format!("?filter={}", urlencode(r#"eventType eq "user.account.lock""#))).await;
    assert_eq!(events.len(), 1, "one lock: {events:#?}");
    assert_eq!(events[0]["target"][0]["id"], user["id"]);
    assert_eq!(events[0]["severity"], "WARN");
    let (events, _) = logs(&app, &format!("?filter={}", urlencode(r#"eventType eq "user.session.start""#))).await;
    assert!(events.iter().all(|e| e["outcome"]["result"] == "FAILURE" && e["outcome"]["reason"] == "INVALID_CREDENTIALS"));
    assert!(!events.is_empty());

    let (events, _) = logs(&app, &format!("?q={}", urlencode("nobody@example.com"))).await;
    let request = events.iter().find(|e| e["eventType"] == "system.email.password_reset.sent_message").expect("logged");
    assert_eq!(request["actor"]["id"], Value::Null, "no account behind it");
    assert_eq!(request["outcome"]["result"], "FAILURE");
    assert_eq!(request["outcome"]["reason"], "NO_RECOVERABLE_ACCOUNT");
}

async fn pages_follow_the_next_link_without_gaps_or_repeats(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    for i in 0..5 {
        app.create_user(&format!("page{i}@example.com")).await;
    }
    let filter = urlencode(r#"eventType eq "user.lifecycle.create""#);
    let (all, _) = logs(&app, &format!("?filter={filter}")).await;
    assert_eq!(all.len(), 5);
    for order in ["ASCENDING", "DESCENDING"] {
        let mut collected = vec![];
        let mut next = Some(format!("{}/api/v1/logs?filter={filter}&limit=2&sortOrder={order}", app.base));
        let mut pages = 0;
        while let Some(url) = next.take() {
            let path = url.strip_prefix(&app.base).expect("the server's own origin").to_owned();
            let (events, links) = logs(&app, path.strip_prefix("/api/v1/logs").expect("the logs path")).await;
            assert!(links.iter().any(|l| l.ends_with("rel=\"self\"")));
            collected.extend(events.iter().map(|e| e["uuid"].as_str().expect("uuid").to_owned()));
            next = links
                .iter()
                .find(|l| l.ends_with("rel=\"next\""))
                .map(|l| l.trim_start_matches('<').split('>').next().expect("url").to_owned());
            pages += 1;
            assert!(pages < 10, "paging ends");
        }
        let mut expected: Vec<String> = all.iter().map(|e| e["uuid"].as_str().expect("uuid").to_owned()).collect();
        if order == "DESCENDING" {
            expected.reverse();
        }
        assert_eq!(collected, expected, "{order}: every event once, in order");
    }
}

async fn unsupported_queries_are_refused_in_oktas_error_shape(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    for query in [
        format!("?filter={}", urlencode(r#"eventType co "user""#)),
        "?limit=0".to_owned(),
        "?limit=1001".to_owned(),
        "?since=yesterday".to_owned(),
        "?sortOrder=sideways".to_owned(),
        "?after=garbage".to_owned(),
    ] {
        let response = app.admin_get(&format!("/api/v1/logs{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["errorCode"], "E0000001", "{query}: {body}");
    }
    let response = app.http.get(format!("{}/api/v1/logs", app.base)).send().await.expect("request");
    assert_eq!(response.status(), 401, "the log is for administrators");
}

/// The events that `filter` selects (Okta's `filter`, joined by `and`).
async fn filtered(app: &TestApp, filter: &str) -> Vec<Value> {
    logs(app, &format!("?filter={}", urlencode(filter))).await.0
}

/// The one event of `event_type` about `target_id`, done by the administrator behind the SSWS
/// token, with none of `secrets` anywhere in its JSON.
async fn one_admin_event(app: &TestApp, event_type: &str, target_id: &str, secrets: &[&str]) -> Value {
    let events = filtered(app, &format!(r#"eventType eq "{event_type}" and target.id eq "{target_id}""#)).await;
    assert_eq!(events.len(), 1, "one {event_type} about {target_id}: {events:#?}");
    let event = events.into_iter().next().expect("one");
    assert_eq!(event["actor"]["id"], "admin", "{event:#}");
    assert_eq!(event["target"][0]["id"], target_id, "{event:#}");
    assert_eq!(event["outcome"]["result"], "SUCCESS");
    assert!(event["client"]["ipAddress"].is_string(), "the request's address: {event:#}");
    assert_no_secret(&event, secrets);
    event
}

fn assert_no_secret(event: &Value, secrets: &[&str]) {
    let text = event.to_string();
    for secret in secrets {
        assert!(!secret.is_empty() && !text.contains(secret), "{secret:?} is in the event: {text}");
    }
}

fn admin(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request.header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
}

/// Issue 15 review, item 1: a returned link (`sendEmail=false`) and an emailed one are each
/// logged by the transaction that stores them, the administrator as the actor.
async fn set_password_links_an_administrator_issues_are_logged_without_the_link(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("reset-by-admin@example.com").await;
    let id = user["id"].as_str().expect("id");
    let link = app.returned_reset_link(id).await;
    let link = link.as_str();
    let token = link.split("token=").nth(1).expect("a token");
    let event = one_admin_event(&app, "user.account.reset_password", id, &[link, token]).await;
    assert_eq!(event["severity"], "WARN", "the administrator holds a link that sets the password");
    assert_eq!(event["debugContext"]["debugData"]["purpose"], "admin_reset");
    assert_eq!(event["debugContext"]["debugData"]["sendEmail"], "false");

    // Activation of a staged user without a password: the status and the link move together,
    // in one transaction and one `user.lifecycle.activate`.
    let staged: Value = app
        .admin_post(
            "/api/v1/users?activate=false",
            json!({"profile": {"login": "staged-log@example.com", "email": "staged-log@example.com"}}),
        )
        .await
        .json()
        .await
        .expect("json");
    let staged_id = staged["id"].as_str().expect("id");
    let body: Value = app
        .admin_post(&format!("/api/v1/users/{staged_id}/lifecycle/activate?sendEmail=false"), json!({}))
        .await
        .json()
        .await
        .expect("json");
    let (url, token) = (body["activationUrl"].as_str().expect("activationUrl"), body["activationToken"].as_str().expect("token"));
    let event = one_admin_event(&app, "user.lifecycle.activate", staged_id, &[url, token]).await;
    assert_eq!(event["debugContext"]["debugData"]["purpose"], "activation");
    let user: Value = app.admin_get(&format!("/api/v1/users/{staged_id}")).await.json().await.expect("json");
    assert_eq!(user["status"], "PROVISIONED");

    // Created active without a password: the emailed activation link is the activation.
    let created = app.create_user_with(json!({"profile": {"login": "emailed-log@example.com", "email": "emailed-log@example.com"}})).await;
    let created_id = created["id"].as_str().expect("id");
    let mail = app.wait_for_mail("emailed-log@example.com", 1).await.remove(0);
    let link = extract_link(&mail.text.expect("text"), &format!("{}/signin/set-password?token=", app.base)).expect("the link");
    let token = link.split("token=").nth(1).expect("a token").to_owned();
    let event = one_admin_event(&app, "user.lifecycle.activate", created_id, &[&link, &token]).await;
    assert_eq!(event["debugContext"]["debugData"]["sendEmail"], "true");
    assert_eq!(event["severity"], "INFO");
}

/// Item 2: registration, update, a new secret and deletion, each its own event.
async fn client_changes_are_logged_without_their_secrets(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let created: Value = app
        .admin_post("/oauth2/v1/clients", json!({"client_name": "Audited", "redirect_uris": ["https://app.example/cb"]}))
        .await
        .json()
        .await
        .expect("json");
    let id = created["client_id"].as_str().expect("id").to_owned();
    let first = created["client_secret"].as_str().expect("secret").to_owned();
    let url = format!("{}/oauth2/v1/clients/{id}", app.base);
    let update = json!({"client_id": id, "client_name": "Audited 2", "redirect_uris": ["https://app.example/cb2"]});
    assert_eq!(admin(app.http.put(&url)).json(&update).send().await.expect("req").status(), 200);
    let rotated: Value = admin(app.http.post(format!("{url}/lifecycle/newSecret"))).send().await.expect("req").json().await.expect("json");
    let second = rotated["client_secret"].as_str().expect("secret").to_owned();
    assert_eq!(admin(app.http.delete(&url)).send().await.expect("req").status(), 204);

    let digests = [latchkey_domain::secret::sha256_hex(&first), latchkey_domain::secret::sha256_hex(&second)];
    let secrets = [first.as_str(), second.as_str(), digests[0].as_str(), digests[1].as_str()];
    for event_type in
        ["application.lifecycle.create", "application.lifecycle.update", "app.oauth2.client.secret.rotate", "application.lifecycle.delete"]
    {
        let event = one_admin_event(&app, event_type, &id, &secrets).await;
        assert_eq!(event["target"][0]["type"], "AppInstance", "{event:#}");
    }
    let events = filtered(&app, &format!(r#"target.id eq "{id}""#)).await;
    let types: Vec<&str> = events.iter().map(|e| e["eventType"].as_str().expect("type")).collect();
    assert_eq!(
        types,
        ["application.lifecycle.create", "application.lifecycle.update", "app.oauth2.client.secret.rotate", "application.lifecycle.delete"],
        "in order"
    );
}

/// Item 3: a customization's create, replace and delete, and the reset of a template.
async fn email_customization_changes_are_logged_without_the_template(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let templates = "/api/v1/brands/default/templates/email/ForgotPassword/customizations";
    let body = "<p>Audit-marker-body ${oneTimePassword}</p>";
    let created = app.admin_post(templates, json!({"language": "en", "subject": "Audit-marker-subject", "body": body})).await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("json");
    let id = created["id"].as_str().expect("id").to_owned();
    let url = format!("{}{templates}/{id}", app.base);
    let replaced = admin(app.http.put(&url))
        .json(&json!({"language": "en", "subject": "Audit-marker-subject-2", "body": body}))
        .send()
        .await
        .expect("req");
    assert_eq!(replaced.status(), 200);
    assert_eq!(admin(app.http.delete(&url)).send().await.expect("req").status(), 204);
    assert_eq!(admin(app.http.delete(format!("{}{templates}", app.base))).send().await.expect("req").status(), 204);

    let events = filtered(&app, r#"eventType eq "system.email.template.update""#).await;
    let changes: Vec<&str> = events.iter().map(|e| e["debugContext"]["debugData"]["change"].as_str().expect("change")).collect();
    assert_eq!(changes, ["create", "replace", "delete", "delete_all"], "{events:#?}");
    for event in &events {
        assert_eq!(event["actor"]["id"], "admin");
        assert_no_secret(event, &["Audit-marker", "oneTimePassword"]);
    }
    assert_eq!(filtered(&app, &format!(r#"eventType eq "system.email.template.update" and target.id eq "{id}""#)).await.len(), 3);
    assert_eq!(events[3]["target"][0]["id"], "ForgotPassword");
    assert_eq!(events[0]["target"][0]["alternateId"], "ForgotPassword/en");
}

/// Item 4: the resend of a failed message.
async fn an_administrators_resend_is_logged_with_the_message(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.sink.set_behavior(latchkey_mail_sink::Behavior { reject_recipients_matching: Some("bounce".to_owned()), ..Default::default() });
    app.create_user_with(json!({"profile": {"login": "bounce-log@example.com", "email": "bounce-log@example.com"}})).await;
    let failed = app.failed_messages().await;
    let id = failed.first().expect("the rejected activation email")["id"].as_str().expect("id").to_owned();
    app.sink.set_behavior(latchkey_mail_sink::Behavior::default());
    let response = admin(app.http.post(format!("{}/api/v1/mail/messages/{id}/resend", app.base))).send().await.expect("req");
    assert_eq!(response.status(), 200);
    let mail = app.wait_for_mail("bounce-log@example.com", 1).await.remove(0);
    let link = extract_link(&mail.text.expect("text"), &format!("{}/signin/set-password?token=", app.base)).expect("the link");
    let event = one_admin_event(&app, "system.email.resend", &id, &[&link, link.split("token=").nth(1).expect("token")]).await;
    assert_eq!(event["debugContext"]["debugData"]["template"], "UserActivation");
    assert_eq!(event["debugContext"]["debugData"]["previousStatus"], "failed");
}

/// Item 5: a rotation logs the new key with the insert that makes it.
async fn a_signing_key_rotation_is_logged_without_the_key(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let state = &app.state;
    let now = state.store.now().await.expect("now");
    let new = latchkey_server::crypto::rotation::rotate(&state.store, &state.master_key, &state.settings.rotation_policy(), now)
        .await
        .expect("rotate");
    let events = filtered(&app, r#"eventType eq "app.oauth2.as.key.rollover""#).await;
    assert_eq!(events.len(), 1, "{events:#?}");
    let event = &events[0];
    assert_eq!(event["actor"]["id"], "latchkey", "Latchkey itself rotates");
    assert_eq!(event["target"][0]["id"], new.id.as_str());
    assert_eq!(event["debugContext"]["debugData"]["signFrom"], new.sign_from.to_string());
    assert_no_secret(event, &[&new.material]);
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
