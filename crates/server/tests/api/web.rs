//! The web surface route by route (security-checklist WEB-2, WEB-4, WEB-6, WEB-7, ADM-1, OA-9).
//! The routes are read from the server's own router, not listed here, so a route added
//! tomorrow is swept without editing this file.
use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app, TestApp, ADMIN_TOKEN};
use crate::hosted::authorize_url;

both_backends!(
    every_route_answers_with_the_security_headers,
    html_pages_get_a_fresh_nonce_and_load_only_first_party_resources,
    every_admin_route_refuses_missing_wrong_and_bearer_tokens,
    cors_echoes_only_exact_origins_varies_and_skips_pages_and_admin,
    the_widget_is_the_same_bytes_for_everyone_and_matches_its_sri,
    the_openapi_document_lists_every_api_route,
    every_cookie_authenticated_form_refuses_cross_site_posts,
);

/// The origin of the test clients' redirect URI: the one registered web origin.
const ORIGIN: &str = "http://127.0.0.1:7777";

/// Every path the server routes, read from axum's route table (its `Debug` output lists each
/// route's path after its `RouteId`). The paths below must be among them, so a change of that
/// output fails here instead of sweeping nothing.
pub fn routed_paths(app: &TestApp) -> Vec<String> {
    let router = latchkey_server::http::router(app.state.clone(), false);
    let table = format!("{router:?}");
    let mut paths: Vec<String> = table
        .split("RouteId(")
        .filter_map(|part| part.split_once("): \"").map(|(_, rest)| rest.split('"').next().unwrap_or_default().to_owned()))
        // The fallback's own catch-all route is no route of ours.
        .filter(|path| path.starts_with('/') && !path.contains("__private__axum"))
        .collect();
    paths.sort();
    paths.dedup();
    for known in [
        "/",
        "/api/v1/users",
        "/api/v1/users/{id}/factors/{factor}",
        "/oauth2/v1/clients/{client_id}",
        "/idp/idx/identify",
        "/oauth2/default/v1/authorize",
        "/signin/reset-password",
        "/account",
        "/widget/v1/{file}",
        "/openapi.json",
    ] {
        assert!(paths.iter().any(|p| p == known), "{known} is missing from the route table read from the router: {paths:?}");
    }
    assert!(paths.len() >= 60, "the route table looks truncated: {paths:?}");
    paths
}

/// A routed path with each `{parameter}` replaced by `value`.
fn concrete(path: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map(|e| start + e + 1).unwrap_or(rest.len());
        out.push_str(value);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The admin API: the management routes under `/api/` and RFC 7591/7592 client management.
fn is_admin(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/oauth2/v1/clients")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

/// The directives of a Content-Security-Policy, by name.
fn csp_directives(csp: &str) -> Vec<(String, String)> {
    csp.split(';')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| {
            let (name, value) = d.split_once(' ').unwrap_or((d, ""));
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect()
}

/// What an HTML response must carry (WEB-2, WEB-4): a CSP that runs only nonce'd scripts and
/// loads nothing from another origin, no framing, no plug-ins, no `<base>`, forms only to this
/// origin; COOP; UTF-8.
pub fn html_problems(what: &str, response: &reqwest::Response) -> Vec<String> {
    let mut problems = Vec::new();
    let csp = header(response, "content-security-policy");
    let directives = csp_directives(csp);
    let directive = |name: &str| directives.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    for (name, expected) in [("default-src", "'none'"), ("object-src", "'none'"), ("base-uri", "'none'"), ("frame-ancestors", "'none'")] {
        if directive(name) != Some(expected) {
            problems.push(format!("{what}: CSP {name} is {:?}, not {expected} ({csp})", directive(name)));
        }
    }
    match directive("script-src") {
        Some(v) if v == "'none'" || (v.starts_with("'nonce-") && !v.contains(' ')) => {}
        other => problems.push(format!("{what}: CSP script-src is {other:?}, not one nonce or 'none'")),
    }
    if directive("form-action") != Some("'self'") {
        problems.push(format!("{what}: CSP form-action is {:?}", directive("form-action")));
    }
    for (name, value) in &directives {
        if value.contains("unsafe-") || value.contains('*') || value.contains("http:") || value.contains("https:") {
            problems.push(format!("{what}: CSP {name} allows {value}"));
        }
    }
    if header(response, "cross-origin-opener-policy") != "same-origin" {
        problems.push(format!("{what}: Cross-Origin-Opener-Policy is {:?}", header(response, "cross-origin-opener-policy")));
    }
    if !header(response, "content-type").to_ascii_lowercase().replace(' ', "").contains(";charset=utf-8") {
        problems.push(format!("{what}: HTML without charset=utf-8: {:?}", header(response, "content-type")));
    }
    problems
}

/// What every response must carry (WEB-4), whatever its status.
fn common_problems(what: &str, path: &str, response: &reqwest::Response) -> Vec<String> {
    let mut problems = Vec::new();
    if response.status().is_server_error() {
        problems.push(format!("{what}: {}", response.status()));
    }
    if header(response, "x-content-type-options") != "nosniff" {
        problems.push(format!("{what}: no nosniff"));
    }
    if header(response, "referrer-policy") != "no-referrer" {
        problems.push(format!("{what}: Referrer-Policy {:?}", header(response, "referrer-policy")));
    }
    if header(response, "x-frame-options") != "DENY" {
        problems.push(format!("{what}: X-Frame-Options {:?}", header(response, "x-frame-options")));
    }
    // Only the versioned, public assets and the public signing keys may be cached; everything
    // else is no-store.
    let asset = path.starts_with("/widget/v1/") || path.starts_with("/branding/v1/") || path.ends_with("/v1/keys");
    if !asset && !header(response, "cache-control").contains("no-store") {
        problems.push(format!("{what}: Cache-Control {:?}", header(response, "cache-control")));
    }
    // No banner says what runs here or which version.
    for banner in ["server", "x-powered-by", "x-aspnet-version", "x-runtime", "x-version", "via"] {
        if response.headers().contains_key(banner) {
            problems.push(format!("{what}: a {banner} header: {:?}", header(response, banner)));
        }
    }
    for (name, value) in response.headers() {
        let value = value.to_str().unwrap_or_default().to_ascii_lowercase();
        if value.contains("axum") || value.contains("hyper") || value.contains("latchkey/") {
            problems.push(format!("{what}: {name} names the software: {value}"));
        }
    }
    let content_type = header(response, "content-type").to_ascii_lowercase();
    if content_type.starts_with("text/") && !content_type.replace(' ', "").contains(";charset=utf-8") {
        problems.push(format!("{what}: text without charset=utf-8: {content_type}"));
    }
    problems
}

/// Every routed path, with and without the admin token, under every method (parameters filled
/// with a value no record has): security headers on every answer, TRACE → 405, no 5xx, and on
/// every HTML answer the page headers. The HTML pages found must include the ones we know.
async fn every_route_answers_with_the_security_headers(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let mut problems = Vec::new();
    let mut html = BTreeSet::new();
    let mut paths: Vec<(String, String)> = routed_paths(&app).into_iter().map(|p| (concrete(&p, "lk0nosuchrecord0000"), p)).collect();
    paths.push(("/no/such/route".to_owned(), "/no/such/route".to_owned()));
    for (path, routed) in &paths {
        for method in ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "TRACE"] {
            for admin in [false, true] {
                let mut request = app.http.request(Method::from_bytes(method.as_bytes()).expect("method"), format!("{}{path}", app.base));
                if admin {
                    request = request.header("Authorization", format!("SSWS {ADMIN_TOKEN}"));
                }
                let response = request.send().await.expect("request");
                let what = format!("{method} {path}{}", if admin { " (admin)" } else { "" });
                problems.extend(common_problems(&what, path, &response));
                // With the token, a refused admin call is Okta's error, whatever refused it
                // (a path, query or body the extractors could not read included).
                let status = response.status();
                if admin && is_admin(routed) && status.is_client_error() && status != 405 && method != "HEAD" {
                    let content_type = header(&response, "content-type").to_owned();
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    if !content_type.starts_with("application/json") || body.get("errorCode").is_none() {
                        problems.push(format!("{what}: {status} not in Okta's error shape ({content_type}): {body}"));
                    }
                    continue;
                }
                if method == "TRACE" && response.status() != 405 && routed != "/no/such/route" {
                    problems.push(format!("{what}: TRACE answered {}", response.status()));
                }
                if header(&response, "content-type").starts_with("text/html") {
                    html.insert(routed.clone());
                    problems.extend(html_problems(&what, &response));
                }
            }
        }
    }
    // The pages with real parameters, not only their error pages.
    for url in [authorize_url(&app, &[]), format!("{}/", app.base)] {
        let response = app.http.get(&url).send().await.expect("page");
        assert_eq!(response.status(), 200, "{url}");
        problems.extend(common_problems(&url, "/", &response));
        problems.extend(html_problems(&url, &response));
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    for page in [
        "/",
        "/oauth2/default/v1/authorize",
        "/oauth2/v1/logout",
        "/signin/callback",
        "/signin/reset-password",
        "/signin/set-password",
        "/account",
        "/account/not-me",
    ] {
        assert!(html.contains(page), "{page} answered no HTML page in the crawl: {html:?}");
    }
}

fn nonce_of(csp: &str) -> String {
    let start = csp.find("'nonce-").expect("a nonce in the CSP") + "'nonce-".len();
    csp[start..].split('\'').next().expect("nonce").to_owned()
}

/// WEB-2, LNK-4: each HTML answer gets its own nonce, every script tag carries that nonce and
/// no other, and every resource the page names is on this origin (a relative path).
async fn html_pages_get_a_fresh_nonce_and_load_only_first_party_resources(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let mut seen = BTreeSet::new();
    for _ in 0..3 {
        let response = app.http.get(authorize_url(&app, &[])).send().await.expect("page");
        assert_eq!(response.status(), 200);
        let nonce = nonce_of(header(&response, "content-security-policy"));
        assert!(nonce.len() >= 22, "a nonce of at least 128 bits: {nonce}");
        let body = response.text().await.expect("html");
        let scripts = body.matches("<script").count();
        let nonced = body.matches(&format!("nonce=\"{nonce}\"")).count();
        let config = body.matches("type=\"application/json\"").count();
        assert_eq!(scripts, nonced + config, "every executable script carries this response's nonce: {body}");
        assert!(seen.insert(nonce), "a nonce was reused");
        let elsewhere = third_party_references(&body);
        assert!(elsewhere.is_empty(), "{elsewhere:?}");
    }
}

/// Every `src` and `href` of a page that is not a path on this origin (LNK-4: a link page
/// loads nothing from anyone else, who would learn the page's address).
pub fn third_party_references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\"", "src='", "href='", "action=\""] {
        let quote = if attribute.ends_with('\'') { '\'' } else { '"' };
        for value in html.split(attribute).skip(1).map(|rest| rest.split(quote).next().unwrap_or_default()) {
            if !value.starts_with('/') || value.starts_with("//") {
                found.push(format!("{attribute}{value}"));
            }
        }
    }
    if html.contains("@import") || html.contains("url(") {
        found.push("a stylesheet import".to_owned());
    }
    found
}

/// ADM-1, ADM-4: every admin route and method refuses no credential, a wrong token, the right
/// token under another scheme or in the query, and near misses of the token. A route only
/// answers 405 (its path exists, not the method) or Okta's 401 — before any body is parsed.
/// The OpenAPI document's admin operations are all among the routes swept.
async fn every_admin_route_refuses_missing_wrong_and_bearer_tokens(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let user = app.create_user("sweep@example.com").await;
    let id = user["id"].as_str().expect("id").to_owned();
    let admin: Vec<String> = routed_paths(&app).into_iter().filter(|p| is_admin(p)).collect();
    let doc: Value = app.http.get(format!("{}/openapi.json", app.base)).send().await.expect("doc").json().await.expect("json");
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("item") {
            if op.get("security").is_some() {
                assert!(admin.contains(path), "{method} {path} is an admin operation in the OpenAPI document but not swept");
            }
        }
    }
    let near = &ADMIN_TOKEN[..ADMIN_TOKEN.len() - 1];
    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_TOKEN}"))
    };
    let credentials: Vec<(String, Option<String>)> = vec![
        ("nothing".to_owned(), None),
        ("a wrong token".to_owned(), Some("SSWS wrong-token-0123456789abcdefghijklmnopqrs".to_owned())),
        ("the token as Bearer".to_owned(), Some(format!("Bearer {ADMIN_TOKEN}"))),
        ("the token as Basic".to_owned(), Some(format!("Basic {basic}"))),
        ("the token without a scheme".to_owned(), Some(ADMIN_TOKEN.to_owned())),
        ("a prefix of the token".to_owned(), Some(format!("SSWS {near}"))),
        ("the token and more".to_owned(), Some(format!("SSWS {ADMIN_TOKEN}x"))),
        ("an empty SSWS".to_owned(), Some("SSWS ".to_owned())),
    ];
    let mut problems = Vec::new();
    let mut refused = 0;
    for routed in &admin {
        let path = concrete(routed, &id);
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            for (what, authorization) in &credentials {
                // The token in the query too: it is never read from there (ADM-4).
                let separator = if path.contains('?') { '&' } else { '?' };
                let mut request = app
                    .http
                    .request(method.clone(), format!("{}{path}{separator}token={ADMIN_TOKEN}&apiKey={ADMIN_TOKEN}", app.base))
                    .header("Cookie", format!("latchkey_sid={ADMIN_TOKEN}"))
                    .json(&json!({}));
                if let Some(value) = authorization {
                    request = request.header("Authorization", value);
                }
                let response = request.send().await.expect("request");
                match response.status().as_u16() {
                    405 => {}
                    401 => {
                        refused += 1;
                        let body: Value = response.json().await.unwrap_or(Value::Null);
                        if body["errorCode"] != "E0000011" {
                            problems.push(format!("{method} {path} with {what}: 401 without Okta's E0000011: {body}"));
                        }
                    }
                    other => problems.push(format!("{method} {path} with {what}: {other}")),
                }
            }
        }
    }
    assert!(problems.is_empty(), "{} admin calls were not refused:\n{}", problems.len(), problems.join("\n"));
    assert!(refused >= admin.len() * credentials.len(), "every admin path has a method that reached the check");
    // The same sweep with the real token reaches the handlers (so the refusals above are the
    // check's, not the route's).
    let response = app.admin_get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(response.status(), 200);
}

/// WEB-6, OA-9: CORS echoes only an exact registered origin, every answer of the CORS-enabled
/// API says `Vary: Origin`, and no page, authorize or admin route answers a preflight or a
/// request from a registered origin with CORS headers. The widget's assets are `*` without
/// credentials.
async fn cors_echoes_only_exact_origins_varies_and_skips_pages_and_admin(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let introspect = |origin: Option<&'static str>| {
        let mut request = app.http.post(format!("{}/idp/idx/introspect", app.base)).json(&json!({"interactionHandle": "nothing"}));
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send()
    };
    let allowed = introspect(Some(ORIGIN)).await.expect("request");
    assert_eq!(header(&allowed, "access-control-allow-origin"), ORIGIN);
    assert_eq!(header(&allowed, "access-control-allow-credentials"), "true");
    for origin in [None, Some(ORIGIN), Some("https://127.0.0.1:7777")] {
        let response = introspect(origin).await.expect("request");
        let vary: Vec<String> =
            response.headers().get_all("vary").iter().filter_map(|v| v.to_str().ok()).map(str::to_ascii_lowercase).collect();
        assert!(vary.iter().any(|v| v.split(',').any(|p| p.trim() == "origin")), "Vary: Origin with {origin:?}: {vary:?}");
    }
    // Look-alikes of the registered origin: the https variant, a trailing slash, the scheme's
    // case, the default port spelt out, a path, a suffix and a prefix host, userinfo.
    for evil in [
        "https://127.0.0.1:7777",
        "http://127.0.0.1:7777/",
        "HTTP://127.0.0.1:7777",
        "http://127.0.0.1:7777/login",
        "http://127.0.0.1:77770",
        "http://127.0.0.1:777",
        "http://127.0.0.1:7777.evil.test",
        "http://evil.127.0.0.1:7777",
        "http://user@127.0.0.1:7777",
        "null",
    ] {
        let response = app
            .http
            .request(Method::OPTIONS, format!("{}/idp/idx/introspect", app.base))
            .header("Origin", evil)
            .header("Access-Control-Request-Method", "POST")
            .send()
            .await
            .expect("preflight");
        assert!(response.headers().get("access-control-allow-origin").is_none(), "preflight from {evil} allowed");
        let response = app
            .http
            .post(format!("{}/idp/idx/introspect", app.base))
            .header("Origin", evil)
            .json(&json!({"interactionHandle": "nothing"}))
            .send()
            .await
            .expect("request");
        assert!(response.headers().get("access-control-allow-origin").is_none(), "request from {evil} allowed");
    }
    // Every route, preflight and plain GET from the registered origin.
    let mut echoed = BTreeSet::new();
    let mut problems = Vec::new();
    for routed in routed_paths(&app) {
        let path = concrete(&routed, "lk0nosuchrecord0000");
        let preflight = app
            .http
            .request(Method::OPTIONS, format!("{}{path}", app.base))
            .header("Origin", ORIGIN)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "authorization, content-type")
            .send()
            .await
            .expect("preflight");
        let get = app.http.get(format!("{}{path}", app.base)).header("Origin", ORIGIN).send().await.expect("get");
        for response in [&preflight, &get] {
            let acao = header(response, "access-control-allow-origin");
            if acao == ORIGIN {
                echoed.insert(routed.clone());
            } else if acao == "*"
                && (!routed.starts_with("/widget/v1/") || response.headers().contains_key("access-control-allow-credentials"))
            {
                problems.push(format!(
                    "{routed}: Access-Control-Allow-Origin: * (credentials: {:?})",
                    header(response, "access-control-allow-credentials")
                ));
            }
            if header(response, "content-type").starts_with("text/html") && !acao.is_empty() {
                problems.push(format!("{routed}: an HTML page with CORS"));
            }
        }
    }
    for routed in &echoed {
        let page = routed.contains("/authorize")
            || routed.contains("/logout")
            || routed.starts_with("/signin")
            || routed.starts_with("/account")
            || routed == "/";
        if is_admin(routed) || page {
            problems.push(format!("{routed} answers the registered origin with CORS"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(
        echoed.contains("/idp/idx/introspect") && echoed.contains("/oauth2/default/v1/token"),
        "the protocol endpoints do CORS: {echoed:?}"
    );
}

/// WEB-7: the widget's script and stylesheets are one immutable file each, the same bytes
/// whoever asks (no cookie, another user's session cookie, an admin token, another origin),
/// with no cookie set and no credentials allowed; `sri.json` holds their SHA-384, which is
/// what a page embedding them from another origin puts in `integrity`.
async fn the_widget_is_the_same_bytes_for_everyone_and_matches_its_sri(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("widget-a@example.com").await;
    app.create_user("widget-b@example.com").await;
    let (_, a) = crate::oidc_support::hosted_sign_in(&app, "widget-a@example.com", "").await;
    let (_, b) = crate::oidc_support::hosted_sign_in(&app, "widget-b@example.com", "").await;
    let (a, b) = (a.expect("session a"), b.expect("session b"));
    assert_ne!(a, b);
    let sri: Value = app.http.get(format!("{}/widget/v1/sri.json", app.base)).send().await.expect("sri").json().await.expect("json");
    for file in ["latchkey-sign-in.js", "latchkey-sign-in.css", "latchkey-pages.css"] {
        let url = format!("{}/widget/v1/{file}", app.base);
        let mut bodies = Vec::new();
        for (cookie, authorization, origin) in [
            (None, None, None),
            (Some(format!("latchkey_sid={a}")), None, Some(ORIGIN)),
            (Some(format!("latchkey_sid={b}")), None, Some("https://other.example")),
            (None, Some(format!("SSWS {ADMIN_TOKEN}")), None),
        ] {
            let mut request = app.http.get(&url);
            if let Some(cookie) = cookie {
                request = request.header("Cookie", cookie);
            }
            if let Some(authorization) = authorization {
                request = request.header("Authorization", authorization);
            }
            if let Some(origin) = origin {
                request = request.header("Origin", origin);
            }
            let response = request.send().await.expect("asset");
            assert_eq!(response.status(), 200, "{file}");
            assert!(response.headers().get("set-cookie").is_none(), "{file} sets a cookie");
            assert_eq!(header(&response, "access-control-allow-origin"), "*", "{file}");
            assert!(response.headers().get("access-control-allow-credentials").is_none(), "{file} allows credentials");
            assert!(header(&response, "cache-control").contains("immutable"), "{file}");
            assert!(!header(&response, "vary").to_ascii_lowercase().contains("cookie"), "{file} varies by cookie");
            bodies.push(response.bytes().await.expect("bytes"));
        }
        assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{file} differs between callers");
        if let Some(expected) = sri.get(file) {
            assert_eq!(expected.as_str().expect("sri"), latchkey_server::http::widget::sri(&bodies[0]), "{file}'s SRI");
        } else {
            assert_eq!(file, "latchkey-pages.css", "sri.json lists {file}");
        }
    }
}

/// INP-2: schemathesis (`tests/openapi/run.sh`) fuzzes what `/openapi.json` lists, so an API
/// route missing from it is never fuzzed. Every route of the router's API prefixes must be in
/// the document (this test found the factor, theme and System Log routes and the widget's
/// strength check missing), and the document lists no path the router does not serve.
async fn the_openapi_document_lists_every_api_route(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let doc: Value = app.http.get(format!("{}/openapi.json", app.base)).send().await.expect("doc").json().await.expect("json");
    let documented: BTreeSet<String> = doc["paths"].as_object().expect("paths").keys().cloned().collect();
    let api: BTreeSet<String> = routed_paths(&app)
        .into_iter()
        .filter(|p| {
            ["/api/", "/oauth2/", "/idp/", "/.well-known/"].iter().any(|prefix| p.starts_with(prefix))
                || p == "/widget/v1/password-strength"
        })
        .collect();
    let missing: BTreeSet<&String> = api.iter().filter(|p| !documented.contains(*p)).collect();
    assert!(missing.is_empty(), "API routes the OpenAPI document (and so schemathesis) leaves out: {missing:?}");
    let stale: Vec<&String> = documented.iter().filter(|p| !api.contains(*p)).collect();
    assert!(stale.is_empty(), "documented paths the router does not serve: {stale:?}");
}

/// WEB-1: every form route of the pages (the router's paths outside the OpenAPI document that
/// take a POST) refuses a cross-site post even when the browser sends a live session cookie and
/// a matching CSRF cookie and field: only the Origin / Sec-Fetch-Site check stands in the way,
/// and it holds on every one. The account is unchanged afterwards.
async fn every_cookie_authenticated_form_refuses_cross_site_posts(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "forms@example.com";
    app.create_user(login).await;
    let (_, sid) = crate::oidc_support::hosted_sign_in(&app, login, "").await;
    let sid = sid.expect("a session");
    let doc: Value = app.http.get(format!("{}/openapi.json", app.base)).send().await.expect("doc").json().await.expect("json");
    let documented = doc["paths"].as_object().expect("paths");
    let csrf = "double-submitted-csrf-value-0123456789abcdef";
    let mut forms = Vec::new();
    for routed in routed_paths(&app).into_iter().filter(|p| !documented.contains_key(p) && !p.starts_with("/widget/")) {
        let path = concrete(&routed, "lk0nosuchrecord0000");
        for (origin, fetch_site) in [
            (Some("https://evil.test"), None),
            (Some("null"), Some("cross-site")),
            (None, Some("cross-site")),
            (Some(ORIGIN), Some("same-site")),
        ] {
            let mut request =
                app.http.post(format!("{}{path}", app.base)).header("Cookie", format!("latchkey_sid={sid}; latchkey_csrf={csrf}")).form(&[
                    ("csrf", csrf),
                    ("token", "lk0nosuchrecord0000"),
                    ("password", "a replacement passphrase for the form test"),
                    ("confirm", "a replacement passphrase for the form test"),
                    ("current", crate::helpers::PASSWORD),
                    ("new", "a replacement passphrase for the form test"),
                    ("name", "renamed"),
                    ("code", "123456"),
                    ("factor", "lk0nosuchrecord0000"),
                ]);
            if let Some(origin) = origin {
                request = request.header("Origin", origin);
            }
            if let Some(site) = fetch_site {
                request = request.header("Sec-Fetch-Site", site);
            }
            let response = request.send().await.expect("post");
            match response.status().as_u16() {
                405 => break,
                403 => {
                    if !forms.contains(&routed) {
                        forms.push(routed.clone());
                    }
                }
                other => panic!("POST {path} from {origin:?} ({fetch_site:?}) answered {other}"),
            }
        }
    }
    for form in ["/signin/set-password", "/account/not-me", "/account/totp", "/account/password", "/account/factors/remove"] {
        assert!(forms.iter().any(|f| f == form), "{form} was not found as a form route: {forms:?}");
    }
    assert_eq!(app.sign_in(login, crate::helpers::PASSWORD).await.0, 200, "the password is unchanged");
}
