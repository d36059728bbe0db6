//! Okta's Brands and Themes API on the default brand (issue 13, item 7), and what the pages get
//! from it: `/branding/v1/theme.css`, the logo and the favicon.
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app, TestApp, ADMIN_TOKEN};

both_backends!(
    the_theme_is_listed_read_and_replaced_with_computed_contrast_colours,
    logos_and_favicons_are_png_or_jpeg_by_their_bytes_and_reach_the_pages,
    the_full_theme_email_variant_puts_the_brand_colour_and_logo_in_the_default_emails_header,
);

/// The smallest thing that starts like a PNG: the server trusts the signature, not the claim.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

async fn put(app: &TestApp, path: &str, body: &Value) -> reqwest::Response {
    app.http
        .put(format!("{}{path}", app.base))
        .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
        .json(body)
        .send()
        .await
        .expect("request")
}

/// A multipart/form-data upload with one `file` field, as the SDKs send it.
async fn upload(app: &TestApp, path: &str, file_name: &str, content_type: &str, bytes: &[u8]) -> reqwest::Response {
    let boundary = "latchkey-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    app.http
        .post(format!("{}{path}", app.base))
        .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
        .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .expect("request")
}

async fn the_theme(app: &TestApp) -> Value {
    let themes: Value = app.admin_get("/api/v1/brands/default/themes").await.json().await.expect("json");
    assert_eq!(themes.as_array().map(Vec::len), Some(1), "{themes}");
    themes[0].clone()
}

async fn theme_css(app: &TestApp) -> String {
    let response = app.http.get(format!("{}/branding/v1/theme.css", app.base)).send().await.expect("request");
    assert_eq!(response.headers()["content-type"], "text/css; charset=utf-8");
    response.text().await.expect("css")
}

async fn the_theme_is_listed_read_and_replaced_with_computed_contrast_colours(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let brand: Value = app.admin_get("/api/v1/brands/default").await.json().await.expect("json");
    assert_eq!(brand["_links"]["themes"]["href"], format!("{}/api/v1/brands/default/themes", app.base), "{brand}");
    let theme = the_theme(&app).await;
    let id = theme["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/brands/default/themes/{id}");
    assert_eq!(app.admin_get(&path).await.json::<Value>().await.expect("json"), theme);
    assert_eq!(theme["primaryColorContrastHex"], "#ffffff", "{theme}");
    assert_eq!(theme["emailTemplateTouchPointVariant"], "OKTA_DEFAULT");
    assert!(!theme_css(&app).await.contains(".lk-primary"), "an untouched theme changes no colour");

    // The SDKs send back what they read, with a colour changed: yellow is never refused, and
    // text on it is black.
    let mut changed = theme.clone();
    changed["primaryColorHex"] = json!("#FFFF00");
    changed["signInPageTouchPointVariant"] = json!("BACKGROUND_SECONDARY_COLOR");
    changed["secondaryColorHex"] = json!("#102030");
    let response = put(&app, &path, &changed).await;
    assert_eq!(response.status(), 200);
    let saved: Value = response.json().await.expect("json");
    assert_eq!((saved["primaryColorHex"].as_str(), saved["primaryColorContrastHex"].as_str()), (Some("#ffff00"), Some("#000000")));
    assert_eq!(saved["secondaryColorContrastHex"], "#ffffff");
    let css = theme_css(&app).await;
    assert!(
        css.contains(".lk-widget .lk-primary, .lkp-button.lkp-primary { background: #ffff00; border-color: #ffff00; color: #000000; }"),
        "{css}"
    );
    assert!(!css.contains("--lk-color-primary: #ffff00"), "yellow never becomes link text on white: {css}");
    assert!(css.contains("--lk-dark-color-primary: #ffff00"), "it reads on the dark card: {css}");
    assert!(css.contains("body.latchkey-hosted { background: #102030; color: #ffffff; }"), "{css}");

    for (member, value) in [("primaryColorHex", json!("red")), ("emailTemplateTouchPointVariant", json!("SOMETIMES"))] {
        let mut bad = theme.clone();
        bad[member] = value;
        let response = put(&app, &path, &bad).await;
        assert_eq!(response.status(), 400, "{member}");
        assert_eq!(response.json::<Value>().await.expect("json")["errorCode"], "E0000001");
    }
    let mut unknown = theme.clone();
    unknown["evil"] = json!(true);
    assert_eq!(put(&app, &path, &unknown).await.status(), 400, "unknown members are refused");
    assert_eq!(app.admin_get("/api/v1/brands/other/themes").await.status(), 404);
    assert_eq!(app.admin_get("/api/v1/brands/default/themes/nope").await.status(), 404);
    let anonymous = app.http.get(format!("{}{path}", app.base)).send().await.expect("request");
    assert_eq!(anonymous.status(), 401);
}

async fn logos_and_favicons_are_png_or_jpeg_by_their_bytes_and_reach_the_pages(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let id = the_theme(&app).await["id"].as_str().expect("id").to_owned();
    let base = format!("/api/v1/brands/default/themes/{id}");
    let favicon = app.http.get(format!("{}/branding/v1/favicon", app.base)).send().await.expect("request");
    assert_eq!(favicon.headers()["content-type"], "image/svg+xml", "a default favicon, no 404");
    assert_eq!(app.http.get(format!("{}/branding/v1/logo", app.base)).send().await.expect("request").status(), 404);

    let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>";
    let refused = upload(&app, &format!("{base}/logo"), "logo.svg", "image/svg+xml", svg).await;
    assert_eq!(refused.status(), 400);
    let refused = upload(&app, &format!("{base}/logo"), "logo.png", "image/png", svg).await;
    assert_eq!(refused.status(), 400, "the bytes decide, not the claimed type");

    let response = upload(&app, &format!("{base}/logo"), "logo.png", "image/png", PNG).await;
    assert_eq!(response.status(), 201);
    let url = response.json::<Value>().await.expect("json")["url"].as_str().expect("url").to_owned();
    assert!(url.starts_with(&format!("{}/branding/v1/logo?v=", app.base)), "{url}");
    let logo = app.http.get(&url).send().await.expect("request");
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.headers()["x-content-type-options"], "nosniff");
    assert_eq!(logo.headers()["content-security-policy"], "default-src 'none'; sandbox");
    assert_eq!(logo.bytes().await.expect("bytes").as_ref(), PNG);
    assert!(the_theme(&app).await["logo"].as_str().is_some_and(|l| l.contains("/branding/v1/logo")));
    assert!(theme_css(&app).await.contains("--lk-logo: url(\"/branding/v1/logo?v="), "the widget shows it");

    // Every hosted page loads the theme and the favicon.
    let page = app.http.get(format!("{}/", app.base)).send().await.expect("request").text().await.expect("html");
    assert!(page.contains("href=\"/branding/v1/theme.css\"") && page.contains("rel=\"icon\" href=\"/branding/v1/favicon\""), "{page}");

    let response = upload(&app, &format!("{base}/favicon"), "favicon.png", "image/png", PNG).await;
    assert_eq!(response.status(), 201);
    let favicon = app.http.get(format!("{}/branding/v1/favicon", app.base)).send().await.expect("request");
    assert_eq!(favicon.headers()["content-type"], "image/png");

    let deleted = app
        .http
        .delete(format!("{}{base}/logo", app.base))
        .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
        .send()
        .await
        .expect("request");
    assert_eq!(deleted.status(), 204);
    assert_eq!(app.http.get(format!("{}/branding/v1/logo", app.base)).send().await.expect("request").status(), 404);
    assert!(the_theme(&app).await["logo"].is_null());
}

async fn the_full_theme_email_variant_puts_the_brand_colour_and_logo_in_the_default_emails_header(
    backend: latchkey_store::testing::Backend,
) {
    let app = spawn_app(backend).await;
    let theme = the_theme(&app).await;
    let path = format!("/api/v1/brands/default/themes/{}", theme["id"].as_str().expect("id"));
    let user = app.create_user("branded@example.com").await;
    let reset = format!("/api/v1/users/{}/lifecycle/reset_password", user["id"].as_str().expect("id"));

    // The default variant keeps the default look.
    assert_eq!(app.admin_post(&reset, json!({})).await.status(), 200);
    let plain = app.wait_for_mail("branded@example.com", 1).await.remove(0).html.expect("an HTML part");
    assert!(!plain.contains("#ff6600") && !plain.contains("/branding/v1/logo"), "{plain}");

    let mut full = theme.clone();
    full["primaryColorHex"] = json!("#ff6600");
    full["emailTemplateTouchPointVariant"] = json!("FULL_THEME");
    assert_eq!(put(&app, &path, &full).await.status(), 200);
    assert_eq!(upload(&app, &format!("{path}/logo"), "logo.png", "image/png", PNG).await.status(), 201);
    assert_eq!(app.admin_post(&reset, json!({})).await.status(), 200);
    let branded = app.wait_for_mail("branded@example.com", 2).await.remove(1).html.expect("an HTML part");
    assert!(branded.contains("background-color:#ff6600") && branded.contains("color:#000000"), "the header in the brand colour: {branded}");
    assert!(branded.contains(&format!("<img src=\"{}/branding/v1/logo?v=", app.base)), "the logo, by absolute URL: {branded}");
}
