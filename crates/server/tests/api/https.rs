//! A server whose public URL is https (TLS terminated by a proxy in front of it): cookies are
//! read only under their `__Host-` names and every response carries HSTS (security-checklist
//! WEB-3, WEB-4; finding 3). On plain-http loopback the reverse holds.
use serde_json::json;

use crate::both_backends;
use crate::helpers::{interaction_code, spawn_app, spawn_app_with, TestApp, PASSWORD};
use crate::hosted::page_config;
use crate::oidc_support::{authorize, hosted_sign_in, query_of, set_cookie};

both_backends!(
    an_unprefixed_session_cookie_is_ignored_over_https,
    an_unprefixed_csrf_cookie_does_not_pass_the_set_password_check_over_https,
    a_prefixed_session_cookie_is_ignored_over_plain_http,
    hsts_is_sent_over_https_only,
    hsts_subdomains_can_be_turned_off,
);

const PUBLIC_URL: &str = "https://id.latchkey.test";

async fn spawn_https_app(backend: latchkey_store::testing::Backend) -> TestApp {
    spawn_app_with(backend, |s| s.server.public_url = Some(PUBLIC_URL.to_owned())).await
}

/// A hosted sign-in through the https server's `__Host-` cookies; returns the session id.
async fn hosted_sign_in_over_https(app: &TestApp, login: &str) -> String {
    let page = authorize(app, &[("prompt", "login")], "").await;
    assert_eq!(page.status(), 200, "the sign-in page");
    let tx = set_cookie(&page, "__Host-latchkey_tx").expect("the transaction cookie is __Host- prefixed");
    let config = page_config(&page.text().await.expect("html"));
    let (_, state) = app.introspect(config["interactionHandle"].as_str().expect("handle")).await;
    let (status, body) =
        app.idx("identify", json!({"identifier": login, "credentials": {"passcode": PASSWORD}, "stateHandle": state["stateHandle"]})).await;
    assert_eq!(status, 200, "{body}");
    let callback = app
        .http
        .get(format!("{}/signin/callback?interaction_code={}", app.base, interaction_code(&body)))
        .header("Cookie", format!("__Host-latchkey_tx={tx}"))
        .send()
        .await
        .expect("callback");
    assert_eq!(callback.status(), 303);
    set_cookie(&callback, "__Host-latchkey_sid").expect("the session cookie is __Host- prefixed")
}

async fn an_unprefixed_session_cookie_is_ignored_over_https(backend: latchkey_store::testing::Backend) {
    let app = spawn_https_app(backend).await;
    app.create_user("https@example.com").await;
    let sid = hosted_sign_in_over_https(&app, "https@example.com").await;

    // What a sibling subdomain or a network attacker can plant: the bare name, even with a
    // live session's value (alone, or next to the real cookie, listed first).
    for cookies in [format!("latchkey_sid={sid}"), format!("latchkey_sid={sid}; __Host-latchkey_sid=stale")] {
        let response = authorize(&app, &[("prompt", "none")], &cookies).await;
        assert_eq!(response.status(), 303);
        assert_eq!(query_of(&response)["error"], "login_required", "{cookies} was read as a session");
    }
    let response = authorize(&app, &[("prompt", "none")], &format!("__Host-latchkey_sid={sid}")).await;
    assert_eq!(response.status(), 303);
    assert!(query_of(&response).contains_key("code"), "the prefixed cookie is the session");
}

/// The set-password form is a double submit: cookie and field must match. A cookie planted
/// under the bare name, with a field to match, must not satisfy it over https.
async fn an_unprefixed_csrf_cookie_does_not_pass_the_set_password_check_over_https(backend: latchkey_store::testing::Backend) {
    let app = spawn_https_app(backend).await;
    let user = app.create_user("csrf-https@example.com").await;
    let id = user["id"].as_str().expect("id");
    let response = app.admin_post(&format!("/api/v1/users/{id}/lifecycle/reset_password?sendEmail=false"), json!({})).await;
    let body: serde_json::Value = response.json().await.expect("json");
    let link = body["resetPasswordUrl"].as_str().expect("resetPasswordUrl");
    let token = url::Url::parse(link).expect("url").query_pairs().find(|(k, _)| k == "token").map(|(_, v)| v.into_owned()).expect("token");
    let new_password = "a freshly chosen passphrase for autumn";
    let submit = |cookie: &'static str| {
        app.http
            .post(format!("{}/signin/set-password", app.base))
            .header("Origin", PUBLIC_URL)
            .header("Cookie", cookie)
            .form(&[("token", token.as_str()), ("csrf", "attacker-chosen"), ("password", new_password), ("confirm", new_password)])
            .send()
    };
    let planted = submit("latchkey_csrf=attacker-chosen").await.expect("request");
    assert_eq!(planted.status(), 403, "a bare-named CSRF cookie was accepted over https");
    assert_eq!(app.sign_in("csrf-https@example.com", PASSWORD).await.0, 200, "nothing changed");
    let own = submit("__Host-latchkey_csrf=attacker-chosen").await.expect("request");
    assert_eq!(own.status(), 200, "the prefixed cookie is the one the check reads");
}

async fn a_prefixed_session_cookie_is_ignored_over_plain_http(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("plain@example.com").await;
    let (_, sid) = hosted_sign_in(&app, "plain@example.com", "").await;
    let sid = sid.expect("a session");
    let response = authorize(&app, &[("prompt", "none")], &format!("__Host-latchkey_sid={sid}")).await;
    assert_eq!(query_of(&response)["error"], "login_required", "on http only the unprefixed name is ours");
    let response = authorize(&app, &[("prompt", "none")], &format!("latchkey_sid={sid}")).await;
    assert!(query_of(&response).contains_key("code"));
}

async fn hsts_of(app: &TestApp, path: &str) -> Option<String> {
    let response = app.http.get(format!("{}{path}", app.base)).send().await.expect("request");
    response.headers().get("strict-transport-security").map(|v| v.to_str().expect("ascii").to_owned())
}

async fn hsts_is_sent_over_https_only(backend: latchkey_store::testing::Backend) {
    let app = spawn_https_app(backend).await;
    for path in ["/healthz", "/oauth2/default/.well-known/openid-configuration", "/no/such/route", "/widget/v1/latchkey-sign-in.js"] {
        assert_eq!(hsts_of(&app, path).await.as_deref(), Some("max-age=31536000; includeSubDomains"), "{path}");
    }
    let plain = spawn_app(backend).await;
    assert_eq!(hsts_of(&plain, "/healthz").await, None, "no HSTS on a plain-http public URL");
}

async fn hsts_subdomains_can_be_turned_off(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| {
        s.server.public_url = Some(PUBLIC_URL.to_owned());
        s.server.hsts_include_subdomains = false;
    })
    .await;
    assert_eq!(hsts_of(&app, "/healthz").await.as_deref(), Some("max-age=31536000"));
}
