//! The server's root: an HTML page for the person who types the address or follows the link
//! in an email (the PasswordChanged notice names it), never a JSON 404.
use crate::both_backends;
use crate::helpers::{spawn_app, spawn_app_with};

both_backends!(the_root_is_a_landing_page_naming_discovery, the_landing_page_points_at_the_mailbox_only_in_dev_mode,);

async fn the_root_is_a_landing_page_naming_discovery(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let response = app.http.get(format!("{}/", app.base)).send().await.expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/html; charset=utf-8");
    let csp = response.headers()["content-security-policy"].to_str().expect("ascii").to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let page = response.text().await.expect("html");
    assert!(page.contains("<h1>Latchkey sign-in service</h1>"), "{page}");
    assert!(page.contains("Forgot password?"), "how to reset a password: {page}");
    assert!(page.contains(&format!("{}/oauth2/default/.well-known/openid-configuration", app.base)), "discovery: {page}");
    assert!(!page.contains("/dev/mailbox"), "no mailbox outside development: {page}");
}

async fn the_landing_page_points_at_the_mailbox_only_in_dev_mode(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| {
        s.dev = true;
        s.smtp.url = None;
    })
    .await;
    let page = app.http.get(format!("{}/", app.base)).send().await.expect("request").text().await.expect("html");
    assert!(page.contains("<a href=\"/dev/mailbox\">"), "{page}");
}
