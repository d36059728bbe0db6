//! Identity-provider sessions (security-checklist SES-1, SES-3; OIDC Core §3.1.2.1): the
//! callback signs the browser in, later authorize requests reuse the session, `prompt` and
//! `max_age` are honoured, a planted id is never adopted, and a reset ends sessions and tokens.
use serde_json::json;

use crate::both_backends;
use crate::helpers::{spawn_app, PUBLIC_CLIENT};
use crate::oidc_support::{
    authorize, code_form, hosted_sign_in, query_of, refresh, set_cookie, tokens_for, userinfo, verify_with_jwks, SID,
};

both_backends!(
    prompt_none_without_a_session_is_login_required,
    a_session_skips_the_page_and_issues_a_fresh_code,
    prompt_login_and_max_age_force_the_page,
    a_planted_session_id_is_never_adopted,
    a_reset_ends_sessions_refresh_tokens_and_earlier_access_tokens,
    revoke_sessions_also_ends_the_resetting_browsers_session,
    idx_on_our_own_origin_starts_a_session_and_other_origins_do_not,
    an_admin_set_password_ends_refresh_tokens_and_live_codes,
    a_session_from_before_recovery_requests_works_until_a_valid_code_resets,
    a_verified_code_grants_only_the_reset_form_for_ten_minutes,
);

async fn prompt_none_without_a_session_is_login_required(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    for cookies in ["", "latchkey_sid=not-a-session"] {
        let response = authorize(&app, &[("prompt", "none")], cookies).await;
        assert_eq!(response.status(), 303);
        let q = query_of(&response);
        assert_eq!(q["error"], "login_required");
        assert_eq!(q["state"], "hosted-state/?&=");
        assert_eq!(q["iss"], app.issuer());
    }
}

async fn a_session_skips_the_page_and_issues_a_fresh_code(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("session@example.com").await;
    let (first_code, sid) = hosted_sign_in(&app, "session@example.com", "").await;
    let sid = sid.expect("the callback starts a session");
    assert_eq!(sid.len(), 43, "256 bits, base64url");
    let (status, _) = app.token(&code_form(&first_code)).await;
    assert_eq!(status, 200);

    let cookie = format!("{SID}={sid}");
    let response = authorize(&app, &[("prompt", "none"), ("nonce", "second-nonce")], &cookie).await;
    assert_eq!(response.status(), 303, "no page");
    let q = query_of(&response);
    assert_eq!(q["state"], "hosted-state/?&=");
    assert_eq!(q["iss"], app.issuer());
    let (status, tokens) = app.token(&code_form(&q["code"])).await;
    assert_eq!(status, 200, "{tokens}");
    let (_, claims) = verify_with_jwks(&app, tokens["id_token"].as_str().expect("id_token"), PUBLIC_CLIENT).await;
    assert_eq!(claims["nonce"], "second-nonce", "the code is bound to this request's nonce");
    assert!(claims["auth_time"].as_i64().is_some_and(|t| t <= claims["iat"].as_i64().unwrap_or_default()));
    // Without prompt the session is reused too.
    assert_eq!(authorize(&app, &[], &cookie).await.status(), 303);
}

async fn prompt_login_and_max_age_force_the_page(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("prompt@example.com").await;
    let (_, sid) = hosted_sign_in(&app, "prompt@example.com", "").await;
    let cookie = format!("{SID}={}", sid.expect("session"));
    assert_eq!(authorize(&app, &[("prompt", "login")], &cookie).await.status(), 200, "prompt=login shows the page");
    app.advance_clock(std::time::Duration::from_secs(2)).await;
    assert_eq!(authorize(&app, &[("max_age", "0")], &cookie).await.status(), 200, "an older sign-in than max_age shows the page");
    let response = authorize(&app, &[("max_age", "0"), ("prompt", "none")], &cookie).await;
    assert_eq!(query_of(&response)["error"], "login_required");
    assert_eq!(authorize(&app, &[("max_age", "3600")], &cookie).await.status(), 303);
    let page = authorize(&app, &[("prompt", "login"), ("login_hint", "prompt@example.com")], &cookie).await;
    let config = crate::hosted::page_config(&page.text().await.expect("html"));
    assert_eq!(config["username"], "prompt@example.com", "login_hint prefills the identifier");
}

async fn a_planted_session_id_is_never_adopted(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("attacker@example.com").await;
    app.create_user("victim@example.com").await;
    // Even a real, live session id planted in the victim's browser is replaced and ended.
    let (_, planted) = hosted_sign_in(&app, "attacker@example.com", "").await;
    let planted = planted.expect("session");
    let planted_cookie = format!("{SID}={planted}");
    let (_, fresh) = hosted_sign_in(&app, "victim@example.com", &planted_cookie).await;
    let fresh = fresh.expect("a new session");
    assert_ne!(fresh, planted);
    assert_eq!(
        query_of(&authorize(&app, &[("prompt", "none")], &planted_cookie).await)["error"],
        "login_required",
        "the planted id is dead"
    );
    assert!(query_of(&authorize(&app, &[("prompt", "none")], &format!("{SID}={fresh}")).await).contains_key("code"));

    // A made-up id is not adopted either, and a browser holding only the code gets no session.
    let (_, made_up) = hosted_sign_in(&app, "victim@example.com", "latchkey_sid=chosen-by-attacker").await;
    assert_ne!(made_up.as_deref(), Some("chosen-by-attacker"));
    let page = authorize(&app, &[], "").await;
    let config = crate::hosted::page_config(&page.text().await.expect("html"));
    let (_, state) = app.introspect(config["interactionHandle"].as_str().expect("handle")).await;
    let (_, body) = app.idx("identify", json!({"identifier": "victim@example.com", "credentials": {"passcode": crate::helpers::PASSWORD}, "stateHandle": state["stateHandle"]})).await;
    let code = crate::helpers::interaction_code(&body);
    let elsewhere = app.http.get(format!("{}/signin/callback?interaction_code={code}", app.base)).send().await.expect("callback");
    assert_eq!(elsewhere.status(), 303);
    assert_eq!(set_cookie(&elsewhere, SID), None, "no transaction cookie, no session");
}

async fn a_reset_ends_sessions_refresh_tokens_and_earlier_access_tokens(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "resetsessions@example.com";
    app.create_user(login).await;
    let (_, s1) = hosted_sign_in(&app, login, "").await;
    let (_, s2) = hosted_sign_in(&app, login, "").await;
    let tokens = tokens_for(&app, login, "openid email offline_access").await;
    let access = tokens["access_token"].as_str().expect("at").to_owned();
    let refresh_token = tokens["refresh_token"].as_str().expect("rt").to_owned();
    assert_eq!(userinfo(&app, &access).await.status(), 200);
    // Access tokens carry second-precision `iat`; move the clock so "earlier" is observable.
    app.advance_clock(std::time::Duration::from_secs(2)).await;

    reset_in_browser(&app, login, "", false).await;

    for sid in [s1, s2] {
        let cookie = format!("{SID}={}", sid.expect("session"));
        assert_eq!(
            query_of(&authorize(&app, &[("prompt", "none")], &cookie).await)["error"],
            "login_required",
            "sessions end with the reset"
        );
    }
    let (status, body) = refresh(&app, &refresh_token).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "refresh tokens end with the reset");
    assert_eq!(userinfo(&app, &access).await.status(), 401, "earlier access tokens are refused");
}

/// Resets `login`'s password through IDX in a browser holding `cookie`.
async fn reset_in_browser(app: &crate::helpers::TestApp, login: &str, cookie: &str, revoke_sessions: bool) {
    let (flow, _) = app.start_recovery(login, "reset-state").await;
    let otp = app.code_from_mail(login, 1).await;
    let (status, _) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": otp}})).await;
    assert_eq!(status, 200);
    let body = json!({"stateHandle": flow.state_handle, "credentials": {"passcode": "a brand new passphrase for the test", "revokeSessions": revoke_sessions}});
    let mut request =
        app.http.post(format!("{}/idp/idx/challenge/answer", app.base)).header("Content-Type", "application/ion+json; okta-version=1.0.0");
    if !cookie.is_empty() {
        request = request.header("Cookie", cookie);
    }
    let response = request.json(&body).send().await.expect("answer");
    assert_eq!(response.status(), 200);
}

async fn revoke_sessions_also_ends_the_resetting_browsers_session(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    for (login, revoke, survives) in [("keepsession@example.com", false, true), ("revokesessions@example.com", true, false)] {
        app.create_user(login).await;
        let (_, this_browser) = hosted_sign_in(&app, login, "").await;
        let (_, other_browser) = hosted_sign_in(&app, login, "").await;
        let this_cookie = format!("{SID}={}", this_browser.expect("session"));
        reset_in_browser(&app, login, &this_cookie, revoke).await;
        let other = authorize(&app, &[("prompt", "none")], &format!("{SID}={}", other_browser.expect("session"))).await;
        assert_eq!(query_of(&other)["error"], "login_required", "{login}: other sessions always end");
        let this = query_of(&authorize(&app, &[("prompt", "none")], &this_cookie).await);
        assert_eq!(this.contains_key("code"), survives, "{login}: revokeSessions={revoke}");
    }
}

async fn idx_on_our_own_origin_starts_a_session_and_other_origins_do_not(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("ownorigin@example.com").await;
    for (origin, starts) in [(app.base.clone(), true), ("http://127.0.0.1:7777".to_owned(), false), (String::new(), false)] {
        let flow = app.interact("origin-state").await;
        let body = json!({"identifier": "ownorigin@example.com", "credentials": {"passcode": crate::helpers::PASSWORD}, "stateHandle": flow.state_handle});
        let mut request =
            app.http.post(format!("{}/idp/idx/identify", app.base)).header("Content-Type", "application/ion+json; okta-version=1.0.0");
        if !origin.is_empty() {
            request = request.header("Origin", &origin);
        }
        let response = request.json(&body).send().await.expect("identify");
        assert_eq!(response.status(), 200);
        let sid = set_cookie(&response, SID);
        assert_eq!(sid.is_some(), starts, "Origin {origin:?}");
        if let Some(sid) = sid {
            assert!(query_of(&authorize(&app, &[("prompt", "none")], &format!("{SID}={sid}")).await).contains_key("code"));
        }
    }
}

async fn an_admin_set_password_ends_refresh_tokens_and_live_codes(backend: latchkey_store::testing::Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let user = app.create_user("adminset@example.com").await;
    let tokens = crate::oidc_support::tokens_for(&app, "adminset@example.com", "openid offline_access").await;
    let refresh_token = tokens["refresh_token"].as_str().expect("a refresh token").to_owned();
    let (flow, _) = app.start_recovery("adminset@example.com", "s").await;
    let code = app.code_from_mail("adminset@example.com", 1).await;

    let id = user["id"].as_str().expect("id");
    let response = app
        .admin_post(
            &format!("/api/v1/users/{id}"),
            serde_json::json!({"profile": {}, "credentials": {"password": {"value": "an administrator chose this passphrase"}}}),
        )
        .await;
    assert_eq!(response.status(), 200);

    let (status, body) = crate::oidc_support::refresh(&app, &refresh_token).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "refresh tokens end with the old credential");
    let (status, _) = app.step(&flow, "challenge/answer", serde_json::json!({"credentials": {"passcode": code}})).await;
    assert!(status == 401 || status == 400, "a live recovery ends with the old credential: {status}");
    // Finding 2: the user is told, as after every other way of setting a password.
    let mails = app.wait_for_mail("adminset@example.com", 2).await;
    assert!(
        mails.iter().any(|m| m.subject.as_deref().unwrap_or_default().to_lowercase().contains("password was changed")
            || m.subject.as_deref().unwrap_or_default().to_lowercase().contains("password changed")),
        "a PasswordChanged notice: {:?}",
        mails.iter().map(|m| m.subject.clone()).collect::<Vec<_>>()
    );
}

/// REC-6: recovery requests, wrong codes, resends and even a verified code change nothing for a
/// session and tokens that existed before; only the reset the valid code allows ends them.
async fn a_session_from_before_recovery_requests_works_until_a_valid_code_resets(backend: latchkey_store::testing::Backend) {
    let app = crate::helpers::spawn_app_with(backend, |s| s.recovery.mail_min_gap_secs = 0).await;
    let login = "before@example.com";
    app.create_user(login).await;
    let (_, sid) = hosted_sign_in(&app, login, "").await;
    let cookie = format!("{SID}={}", sid.expect("a session"));
    let tokens = tokens_for(&app, login, "openid email offline_access").await;
    let access = tokens["access_token"].as_str().expect("at").to_owned();
    let mut refresh_token = tokens["refresh_token"].as_str().expect("rt").to_owned();
    let alive = |cookie: String| {
        let app = &app;
        async move { query_of(&authorize(app, &[("prompt", "none")], &cookie).await).contains_key("code") }
    };

    // What anybody who knows the address can do: requests, resends, wrong codes, cancel.
    let (flow, _) = app.start_recovery(login, "s").await;
    let code = app.code_from_mail(login, 1).await;
    let wrong = format!("{}{}", (code.as_bytes()[0] - b'0' + 1) % 10, &code[1..]);
    for _ in 0..5 {
        assert_eq!(app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": wrong}})).await.0, 401);
    }
    let (other, _) = app.start_recovery(login, "s").await;
    app.wait_for_mail(login, 2).await;
    assert_eq!(app.step(&other, "challenge/resend", json!({})).await.0, 200);
    app.wait_for_mail(login, 3).await;
    assert_eq!(app.step(&other, "cancel", json!({})).await.0, 200);

    assert!(alive(cookie.clone()).await, "the session survives recovery requests");
    assert_eq!(userinfo(&app, &access).await.status(), 200);
    let (status, refreshed) = refresh(&app, &refresh_token).await;
    assert_eq!(status, 200, "{refreshed}");
    refresh_token = refreshed["refresh_token"].as_str().expect("rotated").to_owned();
    assert_eq!(app.sign_in(login, crate::helpers::PASSWORD).await.0, 200, "and the password");

    // The owner's valid code alone does not end anything either: the reset does.
    let (mine, _) = app.start_recovery(login, "s").await;
    let code = app.code_from_mail(login, 4).await;
    let (status, body) = app.step(&mine, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(status, 200, "{body}");
    assert!(alive(cookie.clone()).await, "a verified code is no reset yet");
    let (status, _) =
        app.step(&mine, "challenge/answer", json!({"credentials": {"passcode": "a brand new passphrase for the test"}})).await;
    assert_eq!(status, 200);
    assert!(!alive(cookie).await, "the reset ends the session");
    assert_eq!(refresh(&app, &refresh_token).await.1["error"], "invalid_grant");
}

/// OTP-9: the verified-code state is a grant to set the password and nothing else: no session
/// cookie, no code for `prompt=none`, nothing the transaction's handles open at the token,
/// userinfo or admin endpoints; and the reset form is refused once its ten minutes are over
/// (the controllable clock), the password unchanged.
async fn a_verified_code_grants_only_the_reset_form_for_ten_minutes(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "granted@example.com";
    let user = app.create_user(login).await;
    let id = user["id"].as_str().expect("id");
    let before: serde_json::Value = app.admin_get(&format!("/api/v1/users/{id}")).await.json().await.expect("json");

    // A browser on the hosted page: its transaction cookie, on our own origin.
    let page = authorize(&app, &[("prompt", "login")], "").await;
    let browser = format!("latchkey_tx={}", set_cookie(&page, "latchkey_tx").expect("the transaction cookie"));
    let config = crate::hosted::page_config(&page.text().await.expect("html"));
    let handle = config["interactionHandle"].as_str().expect("handle").to_owned();
    let (_, state) = app.introspect(&handle).await;
    let flow = crate::helpers::Flow { interaction_handle: handle, state_handle: state["stateHandle"].as_str().expect("sh").to_owned() };
    app.step(&flow, "recover", json!({})).await;
    let (_, body) = app.step(&flow, "identify", json!({"identifier": login})).await;
    app.step(&flow, "challenge", json!({"authenticator": {"id": crate::helpers::email_authenticator_id(&body)}})).await;
    let code = app.code_from_mail(login, 1).await;
    let response = app
        .http
        .post(format!("{}/idp/idx/challenge/answer", app.base))
        .header("Content-Type", "application/ion+json; okta-version=1.0.0")
        .header("Origin", &app.base)
        .header("Cookie", &browser)
        .json(&json!({"stateHandle": flow.state_handle, "credentials": {"passcode": code}}))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 200);
    assert_eq!(set_cookie(&response, SID), None, "no session from a code");
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(crate::helpers::remediation_names(&body), ["reset-authenticator"]);
    assert!(body.get("successWithInteractionCode").is_none(), "{body}");

    let none = authorize(&app, &[("prompt", "none")], &browser).await;
    assert_eq!(query_of(&none)["error"], "login_required", "the verified browser has no session");
    for handle in [&flow.state_handle, &flow.interaction_handle] {
        assert_eq!(userinfo(&app, handle).await.status(), 401, "a handle is no access token");
        assert_eq!(app.exchange(handle).await.1["error"], "invalid_grant", "a handle is no interaction code");
        assert_eq!(app.token(&code_form(handle)).await.1["error"], "invalid_grant", "a handle is no authorization code");
        let admin = app.http.get(format!("{}/api/v1/users/{id}", app.base)).header("Authorization", format!("SSWS {handle}")).send().await;
        assert_eq!(admin.expect("admin").status(), 401, "a handle is no admin token");
    }
    let after: serde_json::Value = app.admin_get(&format!("/api/v1/users/{id}")).await.json().await.expect("json");
    assert_eq!((&after["status"], &after["passwordChanged"]), (&before["status"], &before["passwordChanged"]), "the account is untouched");

    // Past the ten-minute grant the form is refused and the password stays.
    app.advance_clock(std::time::Duration::from_secs(601)).await;
    let (status, body) =
        app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": "a brand new passphrase for the test"}})).await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert!(body.get("successWithInteractionCode").is_none(), "{body}");
    assert_eq!(app.sign_in(login, "a brand new passphrase for the test").await.0, 401);
    assert_eq!(app.sign_in(login, crate::helpers::PASSWORD).await.0, 200);
}
