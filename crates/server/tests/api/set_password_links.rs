//! Admin-initiated links: the activation email of a user without a password, and the
//! administrator's reset (emailed, or returned with `sendEmail=false`). Both lead to the
//! hosted set-password page, whose GET changes nothing and whose POST sets the password once.
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{extract_link, spawn_app, spawn_app_with, TestApp, PASSWORD};

const NEW_PASSWORD: &str = "a freshly chosen passphrase for spring";

both_backends!(
    an_admin_reset_link_returned_instead_of_emailed_works_once,
    the_set_password_form_refuses_cross_site_posts_and_weak_passwords,
    a_user_created_without_a_password_is_emailed_an_activation_link,
    an_emailed_admin_reset_uses_the_password_reset_by_admin_template,
    returning_links_is_refused_unless_enabled,
    a_set_password_link_ends_sessions_and_refresh_tokens,
    the_set_password_page_speaks_ui_locales_then_the_users_locale_then_the_browsers_language,
    a_returned_reset_link_expires_after_its_lifetime,
);

/// Opens the link: the page, and the CSRF cookie and field it set.
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

fn token_of(link: &str) -> String {
    url::Url::parse(link).expect("url").query_pairs().find(|(k, _)| k == "token").map(|(_, v)| v.into_owned()).expect("token")
}

async fn post(app: &TestApp, csrf: &(String, String), token: &str, password: &str, origin: Option<&str>) -> (u16, String) {
    let mut request = app.http.post(format!("{}/signin/set-password", app.base)).header("Cookie", &csrf.0).form(&[
        ("token", token),
        ("csrf", csrf.1.as_str()),
        ("password", password),
        ("confirm", password),
    ]);
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    let response = request.send().await.expect("request");
    (response.status().as_u16(), response.text().await.expect("body"))
}

async fn an_admin_reset_link_returned_instead_of_emailed_works_once(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("reset-link@example.com").await;
    let id = user["id"].as_str().expect("id");
    let link = app.returned_reset_link(id).await;
    assert!(link.starts_with(&format!("{}/signin/set-password?token=", app.base)));
    assert_eq!(token_of(&link).len(), 43, "256 bits");

    let (status, page, csrf) = open(&app, &link).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("reset-link@example.com"));
    let (status, _, _) = open(&app, &link).await;
    assert_eq!(status, 200, "opening the link twice changes nothing");
    assert_eq!(app.sign_in("reset-link@example.com", PASSWORD).await.0, 200, "the GET changed nothing");

    let csrf = csrf.expect("a CSRF cookie and field");
    let (status, page) = post(&app, &csrf, &token_of(&link), NEW_PASSWORD, Some(&app.base)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Password set"));
    assert!(!page.contains("interaction_code") && !page.contains("access_token"), "never signs anyone in");
    assert_eq!(app.sign_in("reset-link@example.com", PASSWORD).await.0, 401, "the old password fails");
    assert_eq!(app.sign_in("reset-link@example.com", NEW_PASSWORD).await.0, 200, "the new one works");

    let (status, _) = post(&app, &csrf, &token_of(&link), "yet another passphrase entirely new", Some(&app.base)).await;
    assert_eq!(status, 400, "single use");
    let (status, _, _) = open(&app, &link).await;
    assert_eq!(status, 400, "a used link shows the expired page");
    let mails = app.wait_for_mail("reset-link@example.com", 1).await;
    assert!(mails[0].subject.as_deref().unwrap_or_default().to_lowercase().contains("password"), "PasswordChanged notice");
}

async fn the_set_password_form_refuses_cross_site_posts_and_weak_passwords(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("csrf@example.com").await;
    let id = user["id"].as_str().expect("id");
    let link = app.returned_reset_link(id).await;
    let token = token_of(&link);
    let (_, _, csrf) = open(&app, &link).await;
    let csrf = csrf.expect("csrf");

    let (status, _) = post(&app, &csrf, &token, NEW_PASSWORD, Some("https://evil.test")).await;
    assert_eq!(status, 403, "cross-site origin");
    let wrong = (csrf.0.clone(), "not-the-token".to_owned());
    assert_eq!(post(&app, &wrong, &token, NEW_PASSWORD, None).await.0, 403, "CSRF token mismatch");
    let response = app
        .http
        .post(format!("{}/signin/set-password", app.base))
        .header("Cookie", &csrf.0)
        .header("Content-Type", "text/plain")
        .body(format!("token={token}&csrf={}&password=x&confirm=x", csrf.1))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 415);
    let (status, page) = post(&app, &csrf, &token, "passwordpassword1", None).await;
    assert_eq!(status, 400, "the password policy applies");
    assert!(page.contains("latchkey-error"));
    assert_eq!(app.sign_in("csrf@example.com", PASSWORD).await.0, 200, "nothing changed");
    // A newer link ends the older one.
    let newer = app.returned_reset_link(id).await;
    assert_ne!(newer, link);
    assert_eq!(open(&app, &link).await.0, 400, "superseded");
}

async fn a_user_created_without_a_password_is_emailed_an_activation_link(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user_with(json!({"profile": {"login": "new@example.com", "email": "new@example.com", "firstName": "Nia"}})).await;
    assert_eq!(user["status"], "PROVISIONED");
    let mail = app.wait_for_mail("new@example.com", 1).await.remove(0);
    let text = mail.text.expect("text");
    let link = extract_link(&text, &format!("{}/signin/set-password?token=", app.base)).expect("the activation link");
    assert!(mail.html.expect("html").contains("activation-link"));
    let (status, _, csrf) = open(&app, &link).await;
    assert_eq!(status, 200);
    let (status, page) = post(&app, &csrf.expect("csrf"), &token_of(&link), NEW_PASSWORD, None).await;
    assert_eq!(status, 200, "{page}");
    let user: Value = app.admin_get(&format!("/api/v1/users/{}", user["id"].as_str().expect("id"))).await.json().await.expect("json");
    assert_eq!(user["status"], "ACTIVE");
    assert_eq!(app.sign_in("new@example.com", NEW_PASSWORD).await.0, 200);

    // Activation of a deactivated user without a password can return the link instead.
    let other = app.create_user_with(json!({"profile": {"login": "later@example.com", "email": "later@example.com"}})).await;
    let id = other["id"].as_str().expect("id");
    let _ = app.admin_post(&format!("/api/v1/users/{id}/lifecycle/deactivate"), json!({})).await;
    let body: Value =
        app.admin_post(&format!("/api/v1/users/{id}/lifecycle/activate?sendEmail=false"), json!({})).await.json().await.expect("json");
    assert!(body["activationUrl"].as_str().expect("activationUrl").contains("/signin/set-password?token="));
}

async fn an_emailed_admin_reset_uses_the_password_reset_by_admin_template(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("emailed@example.com").await;
    let id = user["id"].as_str().expect("id");
    let response = app.admin_post(&format!("/api/v1/users/{id}/lifecycle/reset_password?sendEmail=true"), json!({})).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.expect("json"), json!({}), "no link in the response");
    let mail = app.wait_for_mail("emailed@example.com", 1).await.remove(0);
    let text = mail.text.expect("text");
    assert!(text.contains("administrator"), "{text}");
    assert!(extract_link(&text, &format!("{}/signin/set-password?token=", app.base)).is_some());
    let kinds: Vec<String> = app.state.store.outbox_messages(None, 10).await.expect("outbox").into_iter().map(|m| m.kind).collect();
    assert!(kinds.contains(&"PasswordResetByAdmin".to_owned()), "{kinds:?}");
}

async fn returning_links_is_refused_unless_enabled(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| s.admin.return_links = false).await;
    let active = app.create_user("nolinks@example.com").await;
    let staged: Value = app
        .admin_post("/api/v1/users?activate=false", json!({"profile": {"login": "staged@example.com", "email": "staged@example.com"}}))
        .await
        .json()
        .await
        .expect("json");
    for (user, action) in [(&active, "reset_password"), (&staged, "activate")] {
        let id = user["id"].as_str().expect("id");
        let response = app.admin_post(&format!("/api/v1/users/{id}/lifecycle/{action}?sendEmail=false"), json!({})).await;
        assert_eq!(response.status(), 403, "{action}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["errorCode"], "E0000006");
        assert!(body.to_string().find("/signin/set-password").is_none(), "no link leaks");
    }
}

/// Finding 2: a password set through a link (activation, admin reset) goes through the same
/// pipeline as an IDX reset: sessions and refresh tokens from before end with it.
async fn a_set_password_link_ends_sessions_and_refresh_tokens(backend: latchkey_store::testing::Backend) {
    use crate::oidc_support::{authorize, hosted_sign_in, query_of, refresh, tokens_for};
    let app = spawn_app(backend).await;
    let login = "link-ends-sessions@example.com";
    let user = app.create_user(login).await;
    let (_, session) = hosted_sign_in(&app, login, "").await;
    let cookie = format!("latchkey_sid={}", session.expect("a session"));
    let tokens = tokens_for(&app, login, "openid offline_access").await;
    let refresh_token = tokens["refresh_token"].as_str().expect("a refresh token").to_owned();

    let id = user["id"].as_str().expect("id");
    let link = app.returned_reset_link(id).await;
    let (_, _, csrf) = open(&app, &link).await;
    let (status, page) = post(&app, &csrf.expect("csrf"), &token_of(&link), NEW_PASSWORD, Some(&app.base)).await;
    assert_eq!(status, 200, "{page}");

    assert_eq!(query_of(&authorize(&app, &[("prompt", "none")], &cookie).await)["error"], "login_required", "the session ended");
    let (status, body) = refresh(&app, &refresh_token).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "the refresh token ended: {body}");
}

/// Issue 13, item 8: the page and its answers in the five languages of the hosted pages, chosen
/// from `ui_locales`, then the account's locale, then `Accept-Language`.
async fn the_set_password_page_speaks_ui_locales_then_the_users_locale_then_the_browsers_language(
    backend: latchkey_store::testing::Backend,
) {
    let app = spawn_app(backend).await;
    let user = app
        .create_user_with(json!({"profile": {"login": "lang@example.com", "email": "lang@example.com", "locale": "de_DE"},
                                 "credentials": {"password": {"value": PASSWORD}}}))
        .await;
    let id = user["id"].as_str().expect("id");
    let link = app.returned_reset_link(id).await;
    let page_in = |accept: &'static str, query: &'static str| {
        let (http, link) = (app.http.clone(), format!("{link}{query}"));
        async move { http.get(link).header("Accept-Language", accept).send().await.expect("request").text().await.expect("html") }
    };
    let german = page_in("fr-FR, en;q=0.5", "").await;
    assert!(german.contains("<html lang=\"de\"") && german.contains("Passwort festlegen"), "the account's locale: {german}");
    assert!(german.contains("Mindestens 15 Zeichen"), "{german}");
    let japanese = page_in("fr-FR", "&ui_locales=pt-BR%20ja").await;
    assert!(japanese.contains("<html lang=\"ja\"") && japanese.contains("パスワードを設定"), "ui_locales first: {japanese}");

    // The language travels with the form: a mismatch is answered in it.
    let (_, page, csrf) = open(&app, &format!("{link}&ui_locales=es")).await;
    assert!(page.contains("Establecer contraseña"), "{page}");
    let csrf = csrf.expect("a CSRF cookie and field");
    let response = app
        .http
        .post(format!("{}/signin/set-password", app.base))
        .header("Cookie", &csrf.0)
        .header("Origin", &app.base)
        .form(&[
            ("token", token_of(&link).as_str()),
            ("csrf", csrf.1.as_str()),
            ("ui_locales", "es"),
            ("password", NEW_PASSWORD),
            ("confirm", "other"),
        ])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert!(response.text().await.expect("html").contains("Las dos contraseñas no coinciden."));

    // Without a live link, the browser's language names the problem.
    let (http, gone) = (app.http.clone(), format!("{}/signin/set-password?token=nope", app.base));
    let expired = http.get(gone).header("Accept-Language", "fr").send().await.expect("request").text().await.expect("html");
    assert!(expired.contains("Lien expiré"), "{expired}");
}

/// ADM-3: a link returned by `sendEmail=false` lives `recovery.admin_reset_token_secs` (one
/// hour by default): opened just before, it shows the form; past it (the controllable clock)
/// the page and a POST with the form's own CSRF pair are refused and the password stays.
async fn a_returned_reset_link_expires_after_its_lifetime(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("expiring-link@example.com").await;
    let id = user["id"].as_str().expect("id");
    let link = app.returned_reset_link(id).await;
    app.advance_clock(std::time::Duration::from_secs(3590)).await;
    let (status, page, csrf) = open(&app, &link).await;
    assert_eq!(status, 200, "ten seconds before the hour: {page}");
    let csrf = csrf.expect("a CSRF cookie and field");
    app.advance_clock(std::time::Duration::from_secs(11)).await;
    let (status, _, _) = open(&app, &link).await;
    assert_eq!(status, 400, "past the hour the page is the expired one");
    let (status, page) = post(&app, &csrf, &token_of(&link), NEW_PASSWORD, Some(&app.base)).await;
    assert_eq!(status, 400, "an expired link sets nothing: {page}");
    assert_eq!(app.sign_in("expiring-link@example.com", NEW_PASSWORD).await.0, 401);
    assert_eq!(app.sign_in("expiring-link@example.com", PASSWORD).await.0, 200);
}
