//! The "Not you?" link of security notices: activating a factor mails AuthenticatorEnrolled,
//! removing one mails AuthenticatorReset, and PasswordChanged carries the link too. The link's
//! GET only shows the notice; its confirmed POST ends every session and token of the account,
//! removes the factors enrolled since 24 hours before the notice (and keeps older ones), and
//! records `user.account.report_suspicious_activity_by_enduser`. One use, seven days.
use std::time::Duration;

use latchkey_domain::totp::{self, TotpPolicy, TotpSecret};
use latchkey_mail_sink::ReceivedMessage;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{extract_link, spawn_app, TestApp, ADMIN_TOKEN, PASSWORD};
use crate::oidc_support::{authorize, hosted_sign_in, query_of, refresh, tokens_for, userinfo, SID};

both_backends!(
    activating_a_factor_mails_a_not_me_link_that_contains_the_account_once,
    removing_a_factor_mails_authenticator_reset_with_a_not_me_link,
    a_password_change_notice_keeps_factors_enrolled_before_the_window,
    the_not_me_link_refuses_cross_site_posts_and_expires_after_seven_days,
    a_customized_authenticator_enrolled_template_carries_a_working_link,
);

const REPORT_EVENT: &str = "user.account.report_suspicious_activity_by_enduser";

/// Enrolls and activates a TOTP factor through the Factors API; returns its id.
async fn enroll_and_activate(app: &TestApp, user_id: &str) -> String {
    let response = app
        .admin_post(&format!("/api/v1/users/{user_id}/factors"), json!({"factorType": "token:software:totp", "provider": "GOOGLE"}))
        .await;
    assert_eq!(response.status(), 200);
    let factor: Value = response.json().await.expect("json");
    let factor_id = factor["id"].as_str().expect("id").to_owned();
    let secret = TotpSecret::from_base32(factor["_embedded"]["activation"]["sharedSecret"].as_str().expect("secret")).expect("base32");
    let value = totp::value_at(&secret, &TotpPolicy::default(), app.state.store.now().await.expect("now"));
    let response =
        app.admin_post(&format!("/api/v1/users/{user_id}/factors/{factor_id}/lifecycle/activate"), json!({"passCode": value})).await;
    assert_eq!(response.status(), 200);
    factor_id
}

async fn factor_status(app: &TestApp, user_id: &str, factor_id: &str) -> u16 {
    app.admin_get(&format!("/api/v1/users/{user_id}/factors/{factor_id}")).await.status().as_u16()
}

/// Every message delivered to `to` so far, once the outbox has drained.
async fn mails_to(app: &TestApp, to: &str) -> Vec<ReceivedMessage> {
    app.drain_outbox().await;
    app.sink.messages_to(to)
}

/// The one message to `to` whose subject contains `subject`.
async fn mail_about(app: &TestApp, to: &str, subject: &str) -> ReceivedMessage {
    let matching: Vec<ReceivedMessage> =
        mails_to(app, to).await.into_iter().filter(|m| m.subject.as_deref().unwrap_or_default().contains(subject)).collect();
    assert_eq!(matching.len(), 1, "one message about {subject:?} to {to}");
    matching.into_iter().next().expect("one")
}

/// The "Not you?" link of a notice, from its text part (the HTML part carries the same link).
fn not_me_link(app: &TestApp, mail: &ReceivedMessage) -> String {
    let prefix = format!("{}/account/not-me?token=", app.base);
    let link = extract_link(mail.text.as_deref().unwrap_or_default(), &prefix).expect("a Not-you link in the text part");
    assert!(mail.html.as_deref().unwrap_or_default().contains(&link), "and in the HTML part");
    link
}

fn token_of(link: &str) -> String {
    url::Url::parse(link).expect("url").query_pairs().find(|(k, _)| k == "token").map(|(_, v)| v.into_owned()).expect("token")
}

/// Opens the link: the status, the page, and the CSRF cookie and field it set.
async fn open(app: &TestApp, link: &str) -> (u16, String, Option<(String, String)>) {
    let response = app.http.get(link).send().await.expect("request");
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("latchkey_csrf="))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned);
    let csp = response.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"), "{csp}");
    let page = response.text().await.expect("html");
    let field = page.split("name=\"csrf\" value=\"").nth(1).and_then(|rest| rest.split('"').next()).map(str::to_owned);
    (status, page, cookie.zip(field))
}

async fn confirm(app: &TestApp, csrf: &(String, String), token: &str, origin: Option<&str>) -> (u16, String) {
    let mut request = app.http.post(format!("{}/account/not-me", app.base)).header("Cookie", &csrf.0).form(&[
        ("token", token),
        ("csrf", csrf.1.as_str()),
        ("ui_locales", "en"),
    ]);
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    let response = request.send().await.expect("request");
    (response.status().as_u16(), response.text().await.expect("body"))
}

async fn session_is_live(app: &TestApp, sid: &str) -> bool {
    query_of(&authorize(app, &[("prompt", "none")], &format!("{SID}={sid}")).await).contains_key("code")
}

async fn reports(app: &TestApp) -> Vec<Value> {
    let logs: Value =
        app.admin_get(&format!("/api/v1/logs?filter=eventType%20eq%20%22{REPORT_EVENT}%22")).await.json().await.expect("json");
    logs.as_array().expect("a list").clone()
}

async fn activating_a_factor_mails_a_not_me_link_that_contains_the_account_once(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "enrolled@example.com";
    let user = app.create_user(login).await;
    let user_id = user["id"].as_str().expect("id");
    let factor_id = enroll_and_activate(&app, user_id).await;
    let (_, sid) = hosted_sign_in(&app, login, "").await;
    let sid = sid.expect("a session");
    let tokens = tokens_for(&app, login, "openid offline_access").await;
    let access = tokens["access_token"].as_str().expect("at");

    let mail = mail_about(&app, login, "A new authenticator was added").await;
    let text = mail.text.as_deref().unwrap_or_default();
    assert!(text.contains("Google Authenticator was just set up for your account."), "{text}");
    assert!(text.contains("The link works for 7 days."), "{text}");
    let link = not_me_link(&app, &mail);
    assert_eq!(token_of(&link).len(), 43, "256 bits");

    // A GET (a mail scanner, a preview, the owner reading) changes nothing, however often.
    let (status, page, csrf) = open(&app, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("An authenticator (Google Authenticator) was added to <strong>enrolled@example.com</strong>"), "{page}");
    assert_eq!(open(&app, &link).await.0, 200);
    assert!(session_is_live(&app, &sid).await, "the GET ended no session");
    let (status, rotated) = refresh(&app, tokens["refresh_token"].as_str().expect("rt")).await;
    assert_eq!(status, 200, "the GET revoked no token: {rotated}");
    assert_eq!(factor_status(&app, user_id, &factor_id).await, 200, "the GET removed no factor");
    assert!(reports(&app).await.is_empty());

    let csrf = csrf.expect("a CSRF cookie and field");
    let (status, page) = confirm(&app, &csrf, &token_of(&link), Some(&app.base)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Your account is secured") && page.contains("removed: 1."), "{page}");
    assert!(page.contains("reset your password"), "advises a password reset: {page}");

    assert!(!session_is_live(&app, &sid).await, "every session ended");
    let (status, body) = refresh(&app, rotated["refresh_token"].as_str().expect("rotated rt")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "every refresh token ended");
    assert_eq!(userinfo(&app, access).await.status(), 401, "access tokens issued before are cut off");
    assert_eq!(factor_status(&app, user_id, &factor_id).await, 404, "the factor enrolled with the notice is removed");

    let logged = reports(&app).await;
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0]["actor"]["id"], user_id, "the owner is the actor");
    assert_eq!(logged[0]["target"][0]["id"], user_id);
    assert_eq!(logged[0]["severity"], "WARN");
    assert_eq!(logged[0]["outcome"]["result"], "SUCCESS");
    assert!(!logged[0].to_string().contains(&token_of(&link)), "no token in the log");

    // Single use: a second confirmation and a later GET both show the unusable page.
    let (status, page) = confirm(&app, &csrf, &token_of(&link), Some(&app.base)).await;
    assert_eq!(status, 400, "{page}");
    let (status, page, _) = open(&app, &link).await;
    assert_eq!(status, 400);
    assert!(page.contains("Link not valid") && !page.contains(login), "nothing about the account: {page}");
    assert_eq!(reports(&app).await.len(), 1, "the second POST did nothing");
    // And a link that never existed looks the same.
    let (status, unknown, _) = open(&app, &format!("{}/account/not-me?token={}", app.base, "x".repeat(43))).await;
    assert_eq!((status, unknown.replace(&app.base, "")), (400, page.replace(&app.base, "")));
}

async fn removing_a_factor_mails_authenticator_reset_with_a_not_me_link(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "removed@example.com";
    let user = app.create_user(login).await;
    let user_id = user["id"].as_str().expect("id");
    let factor_id = enroll_and_activate(&app, user_id).await;
    let removed = app
        .http
        .delete(format!("{}/api/v1/users/{user_id}/factors/{factor_id}", app.base))
        .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
        .send()
        .await
        .expect("delete");
    assert_eq!(removed.status(), 204);
    // Removing it again is a 404 and mails nothing more.
    let again = app
        .http
        .delete(format!("{}/api/v1/users/{user_id}/factors/{factor_id}", app.base))
        .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
        .send()
        .await
        .expect("delete");
    assert_eq!(again.status(), 404);

    let mail = mail_about(&app, login, "An authenticator was removed").await;
    assert!(mail.text.as_deref().unwrap_or_default().contains("Google Authenticator was just removed from your account."));
    let enrolled = not_me_link(&app, &mail_about(&app, login, "A new authenticator was added").await);
    let link = not_me_link(&app, &mail);
    assert_ne!(token_of(&link), token_of(&enrolled), "each notice has its own link");
    let (status, page, csrf) = open(&app, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("An authenticator (Google Authenticator) was removed from"), "{page}");
    let (status, page) = confirm(&app, &csrf.expect("csrf"), &token_of(&link), None).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("so none was removed"), "{page}");
    assert_eq!(reports(&app).await.len(), 1);
    assert_eq!(mails_to(&app, login).await.len(), 2, "the report itself mails nothing");
}

async fn a_password_change_notice_keeps_factors_enrolled_before_the_window(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "changed@example.com";
    let user = app.create_user(login).await;
    let user_id = user["id"].as_str().expect("id");
    let old_factor = enroll_and_activate(&app, user_id).await;
    app.advance_clock(Duration::from_secs(25 * 3600)).await;

    // An administrator sets the password (to the same value, so the test can sign in with it).
    let response =
        app.admin_post(&format!("/api/v1/users/{user_id}"), json!({"profile": {}, "credentials": {"password": {"value": PASSWORD}}})).await;
    assert_eq!(response.status(), 200);
    let mail = mail_about(&app, login, "password was changed").await;
    let link = not_me_link(&app, &mail);
    let (_, sid) = hosted_sign_in(&app, login, "").await;
    let sid = sid.expect("a session");
    let tokens = tokens_for(&app, login, "openid offline_access").await;

    let (status, page, csrf) = open(&app, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("The password of <strong>changed@example.com</strong> was changed on"), "{page}");
    assert!(session_is_live(&app, &sid).await, "the GET changed nothing");
    let (status, page) = confirm(&app, &csrf.expect("csrf"), &token_of(&link), Some(&app.base)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("so none was removed"), "{page}");

    assert_eq!(factor_status(&app, user_id, &old_factor).await, 200, "a factor enrolled 25 hours before the notice stays");
    assert!(!session_is_live(&app, &sid).await);
    let (status, _) = refresh(&app, tokens["refresh_token"].as_str().expect("rt")).await;
    assert_eq!(status, 400, "the refresh grant fails afterwards");
    let logged = reports(&app).await;
    assert_eq!(logged.len(), 1);
    assert!(logged[0].to_string().contains("password_changed"), "the log names the notice: {}", logged[0]);
}

async fn the_not_me_link_refuses_cross_site_posts_and_expires_after_seven_days(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "expiry@example.com";
    let user = app.create_user(login).await;
    let user_id = user["id"].as_str().expect("id");
    let factor_id = enroll_and_activate(&app, user_id).await;
    let link = not_me_link(&app, &mail_about(&app, login, "A new authenticator was added").await);
    let token = token_of(&link);
    let (_, _, csrf) = open(&app, &link).await;
    let csrf = csrf.expect("csrf");

    assert_eq!(confirm(&app, &csrf, &token, Some("https://evil.test")).await.0, 403, "cross-site origin");
    let wrong = (csrf.0.clone(), "not-the-token".to_owned());
    assert_eq!(confirm(&app, &wrong, &token, None).await.0, 403, "CSRF token mismatch");
    let response = app
        .http
        .post(format!("{}/account/not-me", app.base))
        .header("Cookie", &csrf.0)
        .header("Content-Type", "text/plain")
        .body(format!("token={token}&csrf={}", csrf.1))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 415);
    assert_eq!(factor_status(&app, user_id, &factor_id).await, 200, "refused posts changed nothing");

    app.advance_clock(Duration::from_secs(7 * 24 * 3600 - 60)).await;
    assert_eq!(open(&app, &link).await.0, 200, "still live just before seven days");
    app.advance_clock(Duration::from_secs(120)).await;
    let (status, page, _) = open(&app, &link).await;
    assert_eq!(status, 400);
    assert!(page.contains("Link not valid") && !page.contains(login), "{page}");
    let (_, _, fresh) = open(&app, &format!("{}/account/not-me?token=unknown", app.base)).await;
    assert!(fresh.is_none(), "an unusable link sets no form");
    assert_eq!(confirm(&app, &csrf, &token, None).await.0, 400, "an expired link contains nothing");
    assert_eq!(factor_status(&app, user_id, &factor_id).await, 200);
    assert!(reports(&app).await.is_empty());
}

async fn a_customized_authenticator_enrolled_template_carries_a_working_link(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let body = r#"<html><body><p>${request.factor} now guards your account.</p>
<p><a href="${baseURL}/account/not-me?token=${request.reportSuspiciousActivityToken}">Not me</a></p></body></html>"#;
    let response = app
        .admin_post(
            "/api/v1/brands/default/templates/email/AuthenticatorEnrolled/customizations",
            json!({"language": "en", "subject": "New authenticator for ${user.profile.login}", "body": body}),
        )
        .await;
    assert_eq!(response.status(), 201, "{}", response.text().await.unwrap_or_default());
    let login = "custom@example.com";
    let user = app.create_user(login).await;
    let factor_id = enroll_and_activate(&app, user["id"].as_str().expect("id")).await;

    let mail = mail_about(&app, login, "New authenticator for custom@example.com").await;
    let text = mail.text.as_deref().unwrap_or_default();
    assert!(text.contains("Google Authenticator now guards your account."), "{text}");
    let prefix = format!("{}/account/not-me?token=", app.base);
    let start = text.find(&prefix).expect("the link in the derived text part");
    let link: String = text[start..].chars().take_while(|c| !c.is_whitespace() && *c != ')').collect();
    let (status, page, csrf) = open(&app, &link).await;
    assert_eq!(status, 200, "{page}");
    let (status, page) = confirm(&app, &csrf.expect("csrf"), &token_of(&link), None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(factor_status(&app, user["id"].as_str().expect("id"), &factor_id).await, 404);
}
