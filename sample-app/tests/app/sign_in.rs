//! Sign-in through IDX as the widget drives it, ending at `/login/callback`.
use crate::harness::{browser, spawn, text_of};

#[tokio::test]
async fn a_sign_in_through_idx_ends_on_the_signed_in_page_with_a_new_session_id() {
    let env = spawn().await;
    env.create_user("ada@example.com").await;
    let browser = browser();
    let first = browser.get(format!("{}/login", env.app)).send().await.expect("GET /login");
    let cookie_before = first.headers()["set-cookie"].to_str().expect("cookie").split(';').next().expect("pair").to_owned();
    let login_html = first.text().await.expect("body");
    assert!(!login_html.contains("<h1>Sign in</h1>"), "the widget's heading is the only one naming the step: {login_html}");
    let page = crate::harness::widget_options(&login_html).expect("widget options");
    let page = crate::harness::LoginPage {
        interaction_handle: page["interactionHandle"].as_str().expect("handle").to_owned(),
        state: page["state"].as_str().expect("state").to_owned(),
        options: page,
    };
    assert_eq!(page.options["codeChallengeMethod"], "S256");
    assert_eq!(page.options["redirectUri"], format!("{}/login/callback", env.app));
    let code = env.sign_in_with_password(&page, "ada@example.com").await;

    let callback = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    // Same jar: re-send the cookie by hand on a non-redirecting client to see the Set-Cookie.
    let response = callback
        .get(format!("{}/login/callback", env.app))
        .header("cookie", &cookie_before)
        .query(&[("interaction_code", code.as_str()), ("state", page.state.as_str())])
        .send()
        .await
        .expect("callback");
    assert_eq!(response.status(), 303);
    let cookie_after = response.headers()["set-cookie"].to_str().expect("cookie").split(';').next().expect("pair").to_owned();
    assert_ne!(cookie_before, cookie_after, "a new session id after sign-in");
    let home = callback.get(format!("{}/", env.app)).header("cookie", &cookie_after).send().await.expect("home");
    let home = home.text().await.expect("body");
    let text = text_of(&home);
    assert!(text.contains("Ada Lovelace") && text.contains("ada@example.com"), "{text}");
    let old = callback.get(format!("{}/", env.app)).header("cookie", &cookie_before).send().await.expect("home");
    assert!(text_of(&old.text().await.expect("body")).contains("not signed in"), "the old session id is worthless");

    // Signing out says so.
    let csrf = home.split("name=\"csrf_token\" value=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("the CSRF field");
    let out = callback
        .post(format!("{}/logout", env.app))
        .header("cookie", &cookie_after)
        .form(&[("csrf_token", csrf)])
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status(), 303);
    let location = out.headers()["location"].to_str().expect("location").to_owned();
    let after = callback.get(format!("{}{location}", env.app)).header("cookie", &cookie_after).send().await.expect("home");
    let text = text_of(&after.text().await.expect("body"));
    assert!(text.contains("You signed out.") && text.contains("not signed in"), "{text}");
}

#[tokio::test]
async fn a_forged_state_is_refused_and_the_code_is_not_exchanged() {
    let env = spawn().await;
    env.create_user("grace@example.com").await;
    let browser = browser();
    let page = env.open_login(&browser).await;
    let code = env.sign_in_with_password(&page, "grace@example.com").await;

    let forged = env.login_callback(&browser, &code, "forged-state").await;
    assert_eq!(forged.status(), 400);
    assert!(text_of(&forged.text().await.expect("body")).contains("does not match"));

    // Codes are single use: that it still works proves the forged callback exchanged nothing.
    let genuine = env.login_callback(&browser, &code, &page.state).await;
    assert_eq!(genuine.status(), 200);
    assert!(text_of(&genuine.text().await.expect("body")).contains("grace@example.com"));
}

#[tokio::test]
async fn a_callback_in_a_browser_that_started_nothing_is_refused() {
    let env = spawn().await;
    let response = browser().get(format!("{}/login/callback?interaction_code=abc&state=def", env.app)).send().await.expect("callback");
    assert_eq!(response.status(), 400);
    assert!(text_of(&response.text().await.expect("body")).contains("no sign-in in progress"));
}
