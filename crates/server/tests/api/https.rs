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
    every_set_cookie_carries_every_attribute,
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
    let link = app.returned_reset_link(id).await;
    let token = url::Url::parse(&link).expect("url").query_pairs().find(|(k, _)| k == "token").map(|(_, v)| v.into_owned()).expect("token");
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

/// The attributes of one Set-Cookie that WEB-3 asks for, as problems.
fn cookie_problems(set_cookie: &str, https: bool) -> Vec<String> {
    let mut problems = Vec::new();
    let mut parts = set_cookie.split(';').map(str::trim);
    let (name, value) = parts.next().and_then(|p| p.split_once('=')).unwrap_or_default();
    let attributes: Vec<(String, String)> = parts
        .map(|a| {
            let (k, v) = a.split_once('=').unwrap_or((a, ""));
            (k.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let attribute = |k: &str| attributes.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let known = ["path", "httponly", "samesite", "max-age", "secure"];
    if let Some((unknown, _)) = attributes.iter().find(|(n, _)| !known.contains(&n.as_str())) {
        problems.push(format!("{set_cookie}: attribute {unknown}"));
    }
    if https != name.starts_with("__Host-") {
        problems.push(format!("{set_cookie}: the __Host- prefix over https only"));
    }
    if attribute("secure").is_some() != https {
        problems.push(format!("{set_cookie}: Secure over https only"));
    }
    if attribute("path") != Some("/") {
        problems.push(format!("{set_cookie}: Path=/"));
    }
    if attribute("domain").is_some() {
        problems.push(format!("{set_cookie}: a Domain"));
    }
    if attribute("httponly") != Some("") {
        problems.push(format!("{set_cookie}: HttpOnly"));
    }
    if !matches!(attribute("samesite").map(str::to_ascii_lowercase).as_deref(), Some("lax" | "strict")) {
        problems.push(format!("{set_cookie}: SameSite Lax or Strict"));
    }
    match attribute("max-age").and_then(|v| v.parse::<i64>().ok()) {
        Some(0) if value.is_empty() => {}
        // 256 bits: at least 43 base64url characters.
        Some(age)
            if (1..=30 * 24 * 3600).contains(&age)
                && value.len() >= 43
                && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') => {}
        _ => problems.push(format!("{set_cookie}: a Max-Age of at most 30 days and a value of 256 bits, or a deletion")),
    }
    problems
}

/// WEB-3: every Set-Cookie of a hosted sign-in, an IDX sign-in on our own origin, the callback,
/// the account and set-password pages and a logout, over https and on plain http, parsed
/// attribute by attribute.
async fn every_set_cookie_carries_every_attribute(backend: latchkey_store::testing::Backend) {
    for https in [true, false] {
        let app = if https { spawn_https_app(backend).await } else { spawn_app(backend).await };
        let prefix = if https { "__Host-" } else { "" };
        let origin = if https { PUBLIC_URL.to_owned() } else { app.base.clone() };
        let login = "cookies@example.com";
        let user = app.create_user(login).await;
        let mut seen: Vec<String> = Vec::new();
        let mut collect = |response: &reqwest::Response| {
            seen.extend(response.headers().get_all("set-cookie").iter().map(|v| v.to_str().expect("ascii").to_owned()));
        };
        let page = authorize(&app, &[("prompt", "login")], "").await;
        collect(&page);
        let tx = set_cookie(&page, &format!("{prefix}latchkey_tx")).expect("tx");
        let config = page_config(&page.text().await.expect("html"));
        let (_, state) = app.introspect(config["interactionHandle"].as_str().expect("handle")).await;
        let identify = app
            .http
            .post(format!("{}/idp/idx/identify", app.base))
            .header("Origin", &origin)
            .json(&json!({"identifier": login, "credentials": {"passcode": PASSWORD}, "stateHandle": state["stateHandle"]}))
            .send()
            .await
            .expect("identify");
        collect(&identify);
        let body: serde_json::Value = identify.json().await.expect("json");
        let callback = app
            .http
            .get(format!("{}/signin/callback?interaction_code={}", app.base, interaction_code(&body)))
            .header("Cookie", format!("{prefix}latchkey_tx={tx}"))
            .send()
            .await
            .expect("callback");
        collect(&callback);
        let sid = set_cookie(&callback, &format!("{prefix}latchkey_sid")).expect("sid");
        let account = app
            .http
            .get(format!("{}/account", app.base))
            .header("Cookie", format!("{prefix}latchkey_sid={sid}"))
            .send()
            .await
            .expect("account");
        assert_eq!(account.status(), 200);
        collect(&account);
        let id = user["id"].as_str().expect("id");
        let link = url::Url::parse(&app.returned_reset_link(id).await).expect("url");
        let set_password =
            app.http.get(format!("{}/signin/set-password?{}", app.base, link.query().expect("query"))).send().await.expect("page");
        assert_eq!(set_password.status(), 200);
        collect(&set_password);
        let logout = app
            .http
            .get(format!("{}/oauth2/default/v1/logout", app.base))
            .header("Cookie", format!("{prefix}latchkey_sid={sid}"))
            .send()
            .await
            .expect("logout");
        collect(&logout);
        let names: Vec<&str> = seen.iter().filter_map(|c| c.split('=').next()).collect();
        for name in ["latchkey_tx", "latchkey_sid", "latchkey_csrf"] {
            assert!(names.contains(&format!("{prefix}{name}").as_str()), "{name} was set: {seen:?}");
        }
        let problems: Vec<String> = seen.iter().flat_map(|c| cookie_problems(c, https)).collect();
        assert!(problems.is_empty(), "https {https}: {problems:#?}");
    }
}
