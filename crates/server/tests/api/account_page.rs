//! The account page (`/account`) of a user signed in to Latchkey itself: nothing without a
//! session; a TOTP app added (QR code and key shown while the enrollment is pending, the first
//! value activates it), named, and removed only with the current password; the password changed
//! only with the current one, through the one password pipeline (old password and every other
//! session and refresh token end, this browser stays signed in, PasswordChanged is mailed);
//! wrong current passwords throttled like sign-ins; cross-site and CSRF-less posts refused;
//! every change in the System Log.
use latchkey_domain::totp::{self, TotpPolicy, TotpSecret};
use latchkey_mail_sink::ReceivedMessage;
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{spawn_app, TestApp, PASSWORD};
use crate::oidc_support::{authorize, hosted_sign_in, query_of, refresh, set_cookie, tokens_for, SID};

both_backends!(
    without_a_session_the_account_page_shows_and_changes_nothing,
    a_totp_app_is_added_named_and_removed_only_with_the_current_password,
    a_password_change_needs_the_current_password_and_keeps_only_this_session,
    account_forms_refuse_cross_site_posts_and_a_missing_csrf_token,
    wrong_current_passwords_are_throttled_like_sign_in_failures,
    the_enrollment_policy_can_keep_users_from_adding_an_app,
);

const NEW_PASSWORD: &str = "lighthouse marmalade quantum fjord";

/// A browser signed in through the hosted page: its session cookie.
pub(crate) async fn signed_in(app: &TestApp, login: &str) -> String {
    let (_, sid) = hosted_sign_in(app, login, "").await;
    format!("{SID}={}", sid.expect("the callback starts a session"))
}

/// What a GET or POST of the page answered: status, body, and the CSRF cookie and field the
/// page set for its forms.
pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) body: String,
    pub(crate) csrf: Option<(String, String)>,
}

async fn read(response: reqwest::Response) -> Page {
    let status = response.status().as_u16();
    let cookie = set_cookie(&response, "latchkey_csrf");
    let csp = response.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"), "{csp}");
    assert_eq!(response.headers().get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let body = response.text().await.expect("html");
    let field = body.split("name=\"csrf\" value=\"").nth(1).and_then(|rest| rest.split('"').next()).map(str::to_owned);
    Page { status, body, csrf: cookie.zip(field) }
}

pub(crate) async fn open(app: &TestApp, cookies: &str) -> Page {
    read(app.http.get(format!("{}/account", app.base)).header("Cookie", cookies).send().await.expect("request")).await
}

/// Posts a form from the page as a browser on our origin would (`Origin` our own).
pub(crate) async fn post(app: &TestApp, path: &str, session: &str, page: &Page, fields: &[(&str, &str)]) -> Page {
    let (cookie, field) = page.csrf.clone().expect("the page set a CSRF token");
    let mut form: Vec<(&str, &str)> = vec![("csrf", &field), ("ui_locales", "en")];
    form.extend_from_slice(fields);
    let response = app
        .http
        .post(format!("{}{path}", app.base))
        .header("Cookie", format!("{session}; latchkey_csrf={cookie}"))
        .header("Origin", &app.base)
        .header("Sec-Fetch-Site", "same-origin")
        .form(&form)
        .send()
        .await
        .expect("request");
    read(response).await
}

/// The page's TOTP key, while an enrollment is pending.
fn shown_secret(page: &Page) -> Option<String> {
    page.body.split("<code id=\"totp-secret\">").nth(1).and_then(|rest| rest.split('<').next()).map(str::to_owned)
}

/// The id of the first factor a form on the page names.
pub(crate) fn factor_field(page: &Page) -> String {
    page.body.split("name=\"factor\" value=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a factor form").to_owned()
}

async fn factors(app: &TestApp, user_id: &str) -> Vec<Value> {
    let list: Value = app.admin_get(&format!("/api/v1/users/{user_id}/factors")).await.json().await.expect("json");
    list.as_array().expect("a list").clone()
}

/// The System Log's events of `event_type` whose `party` (`target` or `actor`) is the user.
async fn events_by(app: &TestApp, event_type: &str, party: &str, user_id: &str) -> Vec<Value> {
    let logs: Value = app
        .admin_get(&format!("/api/v1/logs?filter=eventType%20eq%20%22{event_type}%22%20and%20{party}.id%20eq%20%22{user_id}%22"))
        .await
        .json()
        .await
        .expect("json");
    logs.as_array().unwrap_or_else(|| panic!("a list: {logs}")).clone()
}

async fn events(app: &TestApp, event_type: &str, user_id: &str) -> Vec<Value> {
    events_by(app, event_type, "target", user_id).await
}

async fn mails_about(app: &TestApp, to: &str, subject: &str) -> Vec<ReceivedMessage> {
    app.drain_outbox().await;
    app.sink.messages_to(to).into_iter().filter(|m| m.subject.as_deref().unwrap_or_default().contains(subject)).collect()
}

async fn session_is_live(app: &TestApp, session: &str) -> bool {
    query_of(&authorize(app, &[("prompt", "none")], session).await).contains_key("code")
}

async fn without_a_session_the_account_page_shows_and_changes_nothing(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "nobody-here@example.com";
    app.create_user(login).await;
    for cookies in ["", "latchkey_sid=not-a-session"] {
        let page = open(&app, cookies).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("id=\"account-signed-out\""), "{}", page.body);
        assert!(!page.body.contains("<form"), "no form without a session");
    }
    // A signed-out browser's session cookie shows nothing either, and a form posted with a
    // valid CSRF pair but no live session changes nothing.
    let session = signed_in(&app, login).await;
    let page = open(&app, &session).await;
    assert!(page.body.contains(login));
    // The five languages: `ui_locales`, then the account's locale, then `Accept-Language`.
    let japanese = app.http.get(format!("{}/account?ui_locales=ja", app.base)).header("Cookie", &session).send().await.expect("ja");
    assert!(japanese.text().await.expect("html").contains("<title>アカウント – Latchkey</title>"));
    let german = app.http.get(format!("{}/account", app.base)).header("Accept-Language", "de-CH, en;q=0.5").send().await.expect("de");
    assert!(german.text().await.expect("html").contains("Sie sind nicht angemeldet."));
    let landing = |cookies: String| {
        let app = &app;
        async move {
            app.http.get(format!("{}/", app.base)).header("Cookie", cookies).send().await.expect("landing").text().await.expect("html")
        }
    };
    assert!(landing(session.clone()).await.contains("href=\"/account\""), "the landing page links the account page when signed in");
    assert!(!landing(String::new()).await.contains("href=\"/account\""), "and only then");
    let user_id = app.state.store.user_for_identifier("nobody-here@example.com").await.expect("read").expect("user").user.id;
    let cleared = app
        .http
        .delete(format!("{}/api/v1/users/{}/sessions", app.base, user_id.as_str()))
        .header("Authorization", format!("SSWS {}", crate::helpers::ADMIN_TOKEN))
        .send()
        .await
        .expect("clear sessions");
    assert_eq!(cleared.status(), 204);
    let after = open(&app, &session).await;
    assert!(after.body.contains("id=\"account-signed-out\"") && !after.body.contains(login), "{}", after.body);
    let refused =
        post(&app, "/account/password", &session, &page, &[("current", PASSWORD), ("password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)])
            .await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    assert_eq!(app.sign_in(login, PASSWORD).await.0, 200, "the password did not change");
}

async fn a_totp_app_is_added_named_and_removed_only_with_the_current_password(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "totp-owner@example.com";
    let user = app.create_user(login).await;
    let user_id = user["id"].as_str().expect("id");
    let session = signed_in(&app, login).await;

    let page = open(&app, &session).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains(&format!("<strong>{login}</strong>")), "{}", page.body);
    assert!(page.body.contains("<strong>Password</strong>") && page.body.contains("<strong>Email</strong>"));
    assert!(shown_secret(&page).is_none(), "no enrollment yet");
    assert!(factors(&app, user_id).await.is_empty(), "the GET enrolled nothing");

    // Adding shows the QR code and the key; the pending secret lives in the factor row, so the
    // page shows the same one again until it is confirmed.
    let started = post(&app, "/account/totp", &session, &page, &[]).await;
    assert_eq!(started.status, 200, "{}", started.body);
    let secret = shown_secret(&started).expect("the key is shown");
    assert!(started.body.contains("src=\"data:image/svg+xml;base64,"), "an inline QR code");
    let again = open(&app, &session).await;
    assert_eq!(shown_secret(&again).as_deref(), Some(secret.as_str()));
    let listed = factors(&app, user_id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "PENDING_ACTIVATION");
    let factor_id = factor_field(&again);
    assert_eq!(listed[0]["id"], factor_id.as_str());

    let wrong = post(&app, "/account/totp/activate", &session, &again, &[("factor", &factor_id), ("code", "000000")]).await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert!(wrong.body.contains("That code is not right"));
    assert_eq!(factors(&app, user_id).await[0]["status"], "PENDING_ACTIVATION");

    let secret = TotpSecret::from_base32(&secret).expect("base32");
    let value = totp::value_at(&secret, &TotpPolicy::default(), app.state.store.now().await.expect("now"));
    let added = post(&app, "/account/totp/activate", &session, &wrong, &[("factor", &factor_id), ("code", &value)]).await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(added.body.contains("Your authenticator app was added."));
    assert!(shown_secret(&added).is_none(), "the key is never shown again");
    assert!(added.body.contains("<strong>Authenticator app</strong>"), "the default name");
    assert_eq!(factors(&app, user_id).await[0]["status"], "ACTIVE");
    assert_eq!(mails_about(&app, login, "A new authenticator was added").await.len(), 1);

    // A name of up to 40 characters; a longer one is refused.
    let too_long = "x".repeat(41);
    let refused = post(&app, "/account/factors/rename", &session, &added, &[("factor", &factor_id), ("name", &too_long)]).await;
    assert_eq!(refused.status, 400);
    let renamed = post(&app, "/account/factors/rename", &session, &refused, &[("factor", &factor_id), ("name", " Work <phone> ")]).await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert!(renamed.body.contains("<strong>Work &lt;phone&gt;</strong>"), "named, escaped: {}", renamed.body);
    assert!(open(&app, &session).await.body.contains("<strong>Work &lt;phone&gt;</strong>"));
    let other = post(&app, "/account/factors/rename", &session, &renamed, &[("factor", "uftnotmine"), ("name", "x")]).await;
    assert_eq!(other.status, 404);

    // Removing needs the current password: a wrong one removes nothing and is a failed sign-in.
    let wrong =
        post(&app, "/account/factors/remove", &session, &other, &[("factor", &factor_id), ("current", "not the password at all")]).await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.body.contains("The current password is not right."));
    assert_eq!(factors(&app, user_id).await.len(), 1);
    let removed = post(&app, "/account/factors/remove", &session, &wrong, &[("factor", &factor_id), ("current", PASSWORD)]).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert!(removed.body.contains("The authenticator was removed."));
    assert!(factors(&app, user_id).await.is_empty());
    assert!(removed.body.contains("action=\"/account/totp\""), "another app can be added");
    assert_eq!(mails_about(&app, login, "An authenticator was removed").await.len(), 1);

    // The System Log: enrollment and the rename (Okta's factor change), the wrong and the
    // right activation value, the removal, the wrong current password as a failed sign-in.
    let updates = events(&app, "user.mfa.factor.update", user_id).await;
    assert_eq!(updates.len(), 2, "{updates:?}");
    assert!(updates.iter().any(|e| e["debugContext"]["debugData"]["change"] == "rename"), "{updates:?}");
    assert!(updates.iter().all(|e| e["actor"]["id"] == user_id), "the user did it: {updates:?}");
    let activations = events(&app, "user.mfa.factor.activate", user_id).await;
    let results: Vec<&str> = activations.iter().filter_map(|e| e["outcome"]["result"].as_str()).collect();
    assert!(results.contains(&"SUCCESS") && results.contains(&"FAILURE"), "{activations:?}");
    assert_eq!(events(&app, "user.mfa.factor.deactivate", user_id).await.len(), 1);
    let failures: Vec<Value> =
        events_by(&app, "user.session.start", "actor", user_id).await.into_iter().filter(|e| e["outcome"]["result"] == "FAILURE").collect();
    assert_eq!(failures.len(), 1, "the wrong current password is a failed sign-in: {failures:?}");
    // No secret in the log.
    let all: Value = app.admin_get("/api/v1/logs").await.json().await.expect("json");
    assert!(!all.to_string().contains(&secret.base32()));
}

async fn a_password_change_needs_the_current_password_and_keeps_only_this_session(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "changer@example.com";
    let user = app.create_user(login).await;
    let user_id = user["id"].as_str().expect("id");
    let session = signed_in(&app, login).await;
    let other_session = signed_in(&app, login).await;
    let tokens = tokens_for(&app, login, "openid offline_access").await;

    let page = open(&app, &session).await;
    let fields = |current: &'static str| [("current", current), ("password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)];
    let wrong = post(&app, "/account/password", &session, &page, &fields("not the password at all")).await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.body.contains("The current password is not right."));
    assert_eq!(app.sign_in(login, PASSWORD).await.0, 200, "the old password still works");

    // The policy applies to the new password (the login inside it).
    let weak = format!("{login} and more words here");
    let refused =
        post(&app, "/account/password", &session, &wrong, &[("current", PASSWORD), ("password", &weak), ("confirm", &weak)]).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let mismatch =
        post(&app, "/account/password", &session, &refused, &[("current", PASSWORD), ("password", NEW_PASSWORD), ("confirm", "x")]).await;
    assert_eq!(mismatch.status, 400);

    let changed = post(&app, "/account/password", &session, &mismatch, &fields(PASSWORD)).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert!(changed.body.contains("Your password was changed."));
    assert_eq!(app.sign_in(login, PASSWORD).await.0, 401, "the old password stopped working");
    assert_eq!(app.sign_in(login, NEW_PASSWORD).await.0, 200, "the new one works");
    assert!(session_is_live(&app, &session).await, "this browser stays signed in");
    assert!(open(&app, &session).await.body.contains(&format!("<strong>{login}</strong>")));
    assert!(!session_is_live(&app, &other_session).await, "another session ended");
    let (status, _) = refresh(&app, tokens["refresh_token"].as_str().expect("rt")).await;
    assert_eq!(status, 400, "refresh tokens ended");
    assert_eq!(mails_about(&app, login, "password was changed").await.len(), 1);
    let updates = events(&app, "user.account.update_password", user_id).await;
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0]["actor"]["id"], user_id);
}

async fn account_forms_refuse_cross_site_posts_and_a_missing_csrf_token(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "csrf-target@example.com";
    let user = app.create_user(login).await;
    let user_id = user["id"].as_str().expect("id");
    let session = signed_in(&app, login).await;
    let page = open(&app, &session).await;
    let (cookie, field) = page.csrf.clone().expect("csrf");
    let send = |path: &'static str, origin: Option<String>, fetch_site: Option<&'static str>, cookies: String, csrf: String| {
        let app = &app;
        async move {
            let mut request = app.http.post(format!("{}{path}", app.base)).header("Cookie", cookies).form(&[
                ("csrf", csrf.as_str()),
                ("current", PASSWORD),
                ("password", NEW_PASSWORD),
                ("confirm", NEW_PASSWORD),
            ]);
            if let Some(origin) = origin {
                request = request.header("Origin", origin);
            }
            if let Some(site) = fetch_site {
                request = request.header("Sec-Fetch-Site", site);
            }
            request.send().await.expect("request").status().as_u16()
        }
    };
    let both = format!("{session}; latchkey_csrf={cookie}");
    for path in ["/account/password", "/account/totp"] {
        assert_eq!(send(path, Some("https://evil.example".to_owned()), None, both.clone(), field.clone()).await, 403);
        assert_eq!(send(path, None, Some("cross-site"), both.clone(), field.clone()).await, 403);
        assert_eq!(send(path, Some(app.base.clone()), None, session.clone(), field.clone()).await, 403, "no cookie");
        assert_eq!(send(path, None, None, both.clone(), "forged".to_owned()).await, 403, "another token");
        // `Origin: null` (a sandboxed frame, a `data:` page) is not our page, unless the browser
        // also says same-origin (what Chromium sends from our no-referrer pages).
        assert_eq!(send(path, Some("null".to_owned()), None, both.clone(), field.clone()).await, 403, "null origin alone");
        assert_eq!(send(path, Some("null".to_owned()), Some("cross-site"), both.clone(), field.clone()).await, 403);
        assert_eq!(send(path, Some("null".to_owned()), Some("same-origin"), both.clone(), "forged".to_owned()).await, 403);
    }
    assert_eq!(app.sign_in(login, PASSWORD).await.0, 200, "nothing changed");
    assert!(factors(&app, user_id).await.is_empty());
    // The same request from our own page goes through, also with the `Origin: null` that
    // Chromium sends from a page under `Referrer-Policy: no-referrer`.
    assert_eq!(send("/account/totp", Some("null".to_owned()), Some("same-origin"), both.clone(), field.clone()).await, 200);
    assert_eq!(send("/account/totp", Some(app.base.clone()), Some("same-origin"), both, field).await, 200);
}

async fn wrong_current_passwords_are_throttled_like_sign_in_failures(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "guessed@example.com";
    app.create_user(login).await;
    let session = signed_in(&app, login).await;
    let mut page = open(&app, &session).await;
    let free = app.state.settings.signin.free_failures;
    for _ in 0..free {
        page = post(
            &app,
            "/account/password",
            &session,
            &page,
            &[("current", "a wrong guess"), ("password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)],
        )
        .await;
        assert_eq!(page.status, 401, "{}", page.body);
    }
    // The identifier's throttle now asks to wait: the page says so (429), and so does sign-in.
    page =
        post(&app, "/account/password", &session, &page, &[("current", PASSWORD), ("password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)])
            .await;
    assert_eq!(page.status, 429, "{}", page.body);
    assert!(page.body.contains("Too many attempts"));
    assert_eq!(app.sign_in(login, PASSWORD).await.0, 429, "the same throttle as sign-in");
    // Once the wait is over, the right password works and the change goes through.
    app.advance_clock(std::time::Duration::from_secs(60)).await;
    page = open(&app, &session).await;
    let done =
        post(&app, "/account/password", &session, &page, &[("current", PASSWORD), ("password", NEW_PASSWORD), ("confirm", NEW_PASSWORD)])
            .await;
    assert_eq!(done.status, 200, "{}", done.body);
}

/// Where the enrollment policy says `NOT_ALLOWED`, the page offers no app and a crafted post
/// enrolls none.
async fn the_enrollment_policy_can_keep_users_from_adding_an_app(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "no-self-enroll@example.com";
    let user = app.create_user(login).await;
    let user_id = user["id"].as_str().expect("id");
    let session = signed_in(&app, login).await;
    let path = "/api/v1/policies/00plkmfaenroll000001";
    let mut policy: Value = app.admin_get(path).await.json().await.expect("json");
    for a in policy["settings"]["authenticators"].as_array_mut().expect("authenticators") {
        if a["key"] == "google_otp" {
            a["enroll"]["self"] = "NOT_ALLOWED".into();
        }
    }
    let put = app.http.put(format!("{}{path}", app.base)).header("Authorization", format!("SSWS {}", crate::helpers::ADMIN_TOKEN));
    assert_eq!(put.json(&policy).send().await.expect("put").status(), 200);

    let page = open(&app, &session).await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("action=\"/account/totp\""), "no add form: {}", page.body);
    let refused = post(&app, "/account/totp", &session, &page, &[]).await;
    assert_eq!(refused.status, 403);
    assert!(factors(&app, user_id).await.is_empty(), "nothing enrolled");
}
