//! What the callbacks show and refuse, before any code is exchanged.
use crate::harness::{browser, scanner, spawn, text_of};

#[tokio::test]
async fn an_error_pair_on_the_link_is_shown_as_escaped_text() {
    let env = spawn().await;
    let response = scanner()
        .get(format!("{}/magic-link/callback", env.app))
        .query(&[("error", "access_denied"), ("error_description", "<img src=x onerror=alert(1)>")])
        .send()
        .await
        .expect("request");
    let html = response.text().await.expect("body");
    assert!(!html.contains("<img src=x"), "no markup from the URL: {html}");
    assert!(html.contains("access_denied: &lt;img src=x onerror=alert(1)&gt;"), "{html}");
}

#[tokio::test]
async fn an_error_without_a_description_is_shown_without_a_dangling_colon() {
    let env = spawn().await;
    let response = scanner().get(format!("{}/magic-link/callback?error=access_denied", env.app)).send().await.expect("request");
    let html = response.text().await.expect("body");
    assert!(html.contains("id=\"error\">access_denied</p>"), "{html}");
}

#[tokio::test]
async fn a_reload_without_otp_and_state_can_show_the_code_its_tab_kept() {
    let env = spawn().await;
    let response = scanner().get(format!("{}/magic-link/callback", env.app)).send().await.expect("request");
    assert_eq!(response.status(), 400);
    let html = response.text().await.expect("body");
    // Without script, or in a fresh tab, the link is incomplete; the tab's history entry may
    // hold the code of the page it showed before the reload (the browser suite runs that part).
    assert!(html.contains("This link is incomplete") && html.contains("history.state.magicLinkCode"), "{html}");
    assert!(!html.contains("sessionStorage") && !html.contains("localStorage"), "the code is never put in web storage: {html}");
}

#[tokio::test]
async fn the_link_without_the_session_shows_the_code_and_sets_no_cookie() {
    let env = spawn().await;
    let response = scanner().get(format!("{}/magic-link/callback?otp=123456&state=some-state", env.app)).send().await.expect("request");
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("set-cookie").is_none(), "no session for a link opened elsewhere");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let text = text_of(&response.text().await.expect("body"));
    assert!(text.contains("Please enter the code '123456' in the original browser tab to finish the flow."), "{text}");
}

#[tokio::test]
async fn a_hostile_code_in_the_link_is_shown_as_text() {
    let env = spawn().await;
    let response = scanner()
        .get(format!("{}/magic-link/callback", env.app))
        .query(&[("otp", "<svg onload=alert(1)>"), ("state", "x")])
        .send()
        .await
        .expect("request");
    let html = response.text().await.expect("body");
    assert!(!html.contains("<svg"), "{html}");
    assert!(html.contains("&lt;svg onload=alert(1)&gt;"), "{html}");
}

#[tokio::test]
async fn sign_out_needs_the_pages_csrf_token() {
    let env = spawn().await;
    let browser = browser();
    env.open_login(&browser).await;
    let response = browser.post(format!("{}/logout", env.app)).form(&[("csrf_token", "forged")]).send().await.expect("request");
    assert_eq!(response.status(), 403);
}
