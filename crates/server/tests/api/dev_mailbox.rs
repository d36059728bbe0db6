//! The development mailbox page over `{DATA_DIR}/mailbox/*.eml`.
use serde_json::json;

use crate::both_backends;
use crate::helpers::{spawn_app, spawn_app_with};

both_backends!(
    the_mailbox_lists_and_opens_messages_in_dev_mode,
    the_mailbox_does_not_exist_outside_dev_mode,
    the_mailbox_is_off_on_a_non_loopback_listener,
);

async fn the_mailbox_lists_and_opens_messages_in_dev_mode(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| {
        s.dev = true;
        s.smtp.url = None;
    })
    .await;
    let empty = app.http.get(format!("{}/dev/mailbox", app.base)).send().await.expect("request").text().await.expect("html");
    assert!(empty.contains("No emails yet.") && empty.contains("updates by itself"), "an empty state that says what lands here: {empty}");
    app.create_user_with(json!({"profile": {"login": "box@example.com", "email": "box@example.com", "firstName": "Bo"}})).await;
    let mut page = String::new();
    for _ in 0..150 {
        page = app.http.get(format!("{}/dev/mailbox", app.base)).send().await.expect("request").text().await.expect("html");
        if page.contains("box@example.com") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(page.contains("box@example.com") && page.contains("Activate"), "{page}");
    let name = page.split("href=\"/dev/mailbox/").nth(1).and_then(|rest| rest.split('"').next()).expect("a message link").to_owned();

    let response = app.http.get(format!("{}/dev/mailbox/{name}", app.base)).send().await.expect("request");
    assert_eq!(response.status(), 200);
    let csp = response.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(csp.contains("frame-src 'self'") && csp.contains("script-src 'nonce-"), "{csp}");
    let message = response.text().await.expect("html");
    assert!(message.contains("Copy link") && message.contains("/signin/set-password?token="), "{message}");
    // Links are anchors that open a new tab (the pages they open refuse framing).
    assert!(message.contains("target=\"_blank\" rel=\"noopener noreferrer\">http"), "{message}");
    assert!(message.contains("role=\"tab\"") && message.contains("<pre>"), "an HTML and a text view: {message}");
    assert!(message.contains("sandbox"), "the HTML part is framed in a sandbox");

    let response = app.http.get(format!("{}/dev/mailbox/{name}/html", app.base)).send().await.expect("request");
    assert_eq!(response.status(), 200);
    let csp = response.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(csp.starts_with("sandbox") && csp.contains("default-src 'none'") && !csp.contains("script-src"), "no script may run: {csp}");
    assert!(!csp.contains("allow-scripts") && csp.contains("allow-popups"), "links may open a tab, nothing may run: {csp}");
    let framed = response.text().await.expect("html");
    assert!(framed.contains("activation-link") && framed.starts_with("<base target=\"_blank\">"), "{framed}");

    // The list refreshes itself from its JSON twin, newest first.
    let rows: serde_json::Value =
        app.http.get(format!("{}/dev/mailbox.json", app.base)).send().await.expect("request").json().await.expect("json");
    assert_eq!(rows[0]["name"], name.as_str(), "{rows}");
    assert_eq!(rows[0]["to"].as_str().map(|to| to.contains("box@example.com")), Some(true), "{rows}");

    for bad in ["..%2Fmaster.key", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "nope.eml", "..", "..%2Fmailbox%2F..%2Flatchkey.db"] {
        let status = app.http.get(format!("{}/dev/mailbox/{bad}", app.base)).send().await.expect("request").status();
        assert_eq!(status, 404, "{bad}");
        let status = app.http.get(format!("{}/dev/mailbox/{bad}/html", app.base)).send().await.expect("request").status();
        assert_eq!(status, 404, "{bad}/html");
    }
}

async fn the_mailbox_does_not_exist_outside_dev_mode(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    for path in ["/dev/mailbox", "/dev/mailbox.json", "/dev/mailbox/1-x.eml", "/dev/mailbox/1-x.eml/html"] {
        assert_eq!(app.http.get(format!("{}{path}", app.base)).send().await.expect("request").status(), 404, "{path}");
    }
}

/// Finding 11a: `serve --dev` on 0.0.0.0 must not hand every code and link to the network. Even
/// a request that itself comes over loopback finds no mailbox: the decision is the listener's.
async fn the_mailbox_is_off_on_a_non_loopback_listener(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| {
        s.dev = true;
        s.smtp.url = None;
        s.server.listen = "0.0.0.0:0".to_owned();
        s.server.public_url = Some("https://id.latchkey.test".to_owned());
    })
    .await;
    let port = app.base.rsplit(':').next().expect("a port");
    let loopback = format!("http://127.0.0.1:{port}");
    assert_eq!(app.http.get(format!("{loopback}/healthz")).send().await.expect("request").status(), 200, "the server is up");
    for path in ["/dev/mailbox", "/dev/mailbox.json", "/dev/mailbox/1-x.eml", "/dev/mailbox/1-x.eml/html"] {
        assert_eq!(app.http.get(format!("{loopback}{path}")).send().await.expect("request").status(), 404, "{path}");
    }
}
