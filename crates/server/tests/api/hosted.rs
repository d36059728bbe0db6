//! The hosted pages without a browser: authorize, callback, the default recovery link, and the
//! `authorization_code` grant. (The widget itself is driven in Chromium by the e2e suite.)
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{challenge_for, interaction_code, spawn_app, TestApp, PASSWORD, PUBLIC_CLIENT, REDIRECT_URI, VERIFIER};

both_backends!(
    authorize_refuses_unknown_redirects_without_redirecting,
    authorize_refuses_a_payload_list_of_redirect_look_alikes,
    hosted_sign_in_and_reset_each_issue_a_new_session_id,
    authorize_errors_after_validation_go_back_to_the_client,
    the_hosted_flow_ends_with_an_authorization_code_for_the_client,
    the_reset_link_page_continues_only_in_the_browser_that_started,
    head_requests_and_link_scanners_change_nothing,
    the_link_page_is_the_same_for_a_valid_a_wrong_and_an_expired_code,
);

pub fn authorize_url(app: &TestApp, extra: &[(&str, &str)]) -> String {
    let challenge = challenge_for(VERIFIER);
    let mut url = url::Url::parse(&format!("{}/v1/authorize", app.issuer())).expect("url");
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in [
            ("client_id", PUBLIC_CLIENT),
            ("redirect_uri", REDIRECT_URI),
            ("response_type", "code"),
            ("scope", "openid email profile"),
            ("state", "hosted-state/?&="),
            ("nonce", "hosted-nonce"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ] {
            if let Some((_, value)) = extra.iter().find(|(key, _)| *key == k) {
                if !value.is_empty() {
                    q.append_pair(k, value);
                }
            } else {
                q.append_pair(k, v);
            }
        }
        for (k, v) in extra.iter().filter(|(k, _)| {
            !["client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge", "code_challenge_method"]
                .contains(k)
        }) {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

pub fn page_config(html: &str) -> Value {
    let start = html.find("id=\"latchkey-config\">").expect("config script") + "id=\"latchkey-config\">".len();
    let end = html[start..].find("</script>").expect("end") + start;
    serde_json::from_str(&html[start..end]).expect("config JSON")
}

async fn authorize_refuses_unknown_redirects_without_redirecting(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    for bad in ["http://127.0.0.1:7777/login/callback/", "https://evil.test/cb", "http://127.0.0.1:7777/login/callback?x=1"] {
        let response = app.http.get(authorize_url(&app, &[("redirect_uri", bad)])).send().await.expect("req");
        assert_eq!(response.status(), 400, "{bad}");
        assert!(response.headers().get("location").is_none());
    }
    let response = app.http.get(authorize_url(&app, &[("client_id", "nobody")])).send().await.expect("req");
    assert_eq!(response.status(), 400);
}

async fn authorize_errors_after_validation_go_back_to_the_client(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    for (extra, expected) in [
        (vec![("response_type", "token")], "unsupported_response_type"),
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (vec![("code_challenge", "")], "invalid_request"),
        (vec![("prompt", "none")], "login_required"),
    ] {
        let response = app.http.get(authorize_url(&app, &extra)).send().await.expect("req");
        assert_eq!(response.status(), 303, "{extra:?}");
        let location = url::Url::parse(response.headers()["location"].to_str().expect("str")).expect("url");
        let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
        assert_eq!(q.get("error").map(String::as_str), Some(expected), "{extra:?}");
        assert_eq!(q.get("state").map(String::as_str), Some("hosted-state/?&="));
        assert_eq!(q.get("iss"), Some(&app.issuer()));
    }
}

async fn the_hosted_flow_ends_with_an_authorization_code_for_the_client(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("hosted@example.com").await;
    let response = app.http.get(authorize_url(&app, &[])).header("Accept-Language", "fr-CA,fr;q=0.9").send().await.expect("req");
    assert_eq!(response.status(), 200);
    let csp = response.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    assert!(csp.contains("script-src 'nonce-") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(response.headers()["set-cookie"].to_str().expect("cookie").contains("HttpOnly"));
    let html = response.text().await.expect("html");
    let config = page_config(&html);
    assert_eq!(config["language"], "fr");
    let handle = config["interactionHandle"].as_str().expect("handle");

    // What the widget does on that page.
    let (_, state) = app.introspect(handle).await;
    let (status, body) = app
        .idx(
            "identify",
            json!({"identifier": "hosted@example.com", "credentials": {"passcode": PASSWORD}, "stateHandle": state["stateHandle"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let code = interaction_code(&body);
    assert_eq!(app.exchange(&code).await.1["error"], "invalid_grant", "an authorize-flow code is not an interaction_code grant");

    let response = app.http.get(format!("{}/signin/callback?interaction_code={code}&state=forged", app.base)).send().await.expect("req");
    assert_eq!(response.status(), 303);
    let location = url::Url::parse(response.headers()["location"].to_str().expect("str")).expect("url");
    assert!(location.as_str().starts_with(REDIRECT_URI));
    let q: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(q["state"], "hosted-state/?&=", "the state comes from the transaction, not the URL");
    assert_eq!(q["iss"], app.issuer());
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", PUBLIC_CLIENT),
        ("code", q["code"].as_str()),
        ("code_verifier", VERIFIER),
        ("redirect_uri", REDIRECT_URI),
    ];
    let (status, tokens) = app.token(&form).await;
    assert_eq!(status, 200, "{tokens}");
    let (status, again) = app.token(&form).await;
    assert_eq!((status, again["error"].as_str()), (400, Some("invalid_grant")), "single use");
}

async fn the_reset_link_page_continues_only_in_the_browser_that_started(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("hostedreset@example.com").await;
    let response = app.http.get(authorize_url(&app, &[])).send().await.expect("req");
    let cookie = response.headers()["set-cookie"].to_str().expect("cookie").split(';').next().expect("pair").to_owned();
    let config = page_config(&response.text().await.expect("html"));
    let handle = config["interactionHandle"].as_str().expect("handle").to_owned();
    let (_, state) = app.introspect(&handle).await;
    let sh = state["stateHandle"].clone();
    app.idx("recover", json!({"stateHandle": sh})).await;
    app.idx("identify", json!({"identifier": "hostedreset@example.com", "stateHandle": sh})).await;
    app.idx(
        "challenge",
        json!({"authenticator": {"id": crate::helpers::email_authenticator_id(&app.introspect(&handle).await.1)}, "stateHandle": sh}),
    )
    .await;
    let mail = app.wait_for_mail("hostedreset@example.com", 1).await.remove(0);
    let link =
        crate::helpers::extract_link(mail.text.as_deref().expect("text"), &format!("{}/signin/reset-password?", app.base)).expect("link");

    // A scanner or another browser: no cookie → the page gets no transaction, only the code.
    for _ in 0..3 {
        let other = app.http.get(&link).send().await.expect("req");
        assert_eq!(other.status(), 200);
        assert_eq!(other.headers()["referrer-policy"], "no-referrer");
        // LNK-4: never cached, and everything it loads is first party (the CSP says so and
        // the markup names only paths on this origin).
        assert_eq!(other.headers()["cache-control"], "no-store");
        let problems = crate::web::html_problems("the link page", &other);
        assert!(problems.is_empty(), "{problems:?}");
        let html = other.text().await.expect("html");
        assert!(crate::web::third_party_references(&html).is_empty(), "{html}");
        let other_config = page_config(&html);
        assert!(other_config.get("interactionHandle").is_none());
        assert_eq!(other_config["otp"].as_str().map(str::len), Some(6));
    }
    // The browser that started it.
    let same = app.http.get(&link).header("Cookie", &cookie).send().await.expect("req");
    assert_eq!(same.headers()["cache-control"], "no-store");
    assert!(crate::web::html_problems("the link page", &same).is_empty());
    let same_config = page_config(&same.text().await.expect("html"));
    assert_eq!(same_config["interactionHandle"].as_str(), Some(handle.as_str()));
    // None of those GETs consumed or counted anything: the code still works.
    let otp = same_config["otp"].as_str().expect("otp").to_owned();
    let (status, body) = app.idx("challenge/answer", json!({"credentials": {"passcode": otp}, "stateHandle": sh})).await;
    assert_eq!(status, 200, "{body}");
}

/// OA-1: a payload list of redirect URIs that differ from a registered one only in a way some
/// parser, normaliser or prefix check would forgive. Each gets the 400 page at /authorize,
/// never a Location, and the page does not make the payload a link; interact refuses each with
/// `invalid_request`.
async fn authorize_refuses_a_payload_list_of_redirect_look_alikes(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let registered = app
        .admin_post("/oauth2/v1/clients", json!({"client_name": "Good", "redirect_uris": ["https://good.example/cb"], "grant_types": ["authorization_code", "interaction_code"], "token_endpoint_auth_method": "none"}))
        .await;
    assert_eq!(registered.status(), 201);
    let good: Value = registered.json().await.expect("json");
    let good_id = good["client_id"].as_str().expect("client_id").to_owned();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            PUBLIC_CLIENT,
            vec![
                "http://127.0.0.1:7777/LOGIN/callback",
                "http://127.0.0.1:7777/login/Callback",
                "http://127.0.0.1:7777/login/callback/../x",
                "http://127.0.0.1:7777/login/x/../callback",
                "http://127.0.0.1:7777/login/./callback",
                "http://127.0.0.1:7777/login%2Fcallback",
                "http://127.0.0.1:7777/login/callback%2F..%2Fx",
                "http://127.0.0.1:7777/login/callback%00",
                "http://127.0.0.1:7777/login/callback%20",
                "http://127.0.0.1:7777/login/callback?",
                "http://127.0.0.1:7777/login/callback#",
                "http://127.0.0.1:7777/login/callbackx",
                "http://127.0.0.1:7777/login/callback;x",
                "https://127.0.0.1:7777/login/callback",
                "http://127.0.0.1:7778/login/callback",
                "http://127.0.0.1/login/callback",
                "http://localhost:7777/login/callback",
                "http://[::1]:7777/login/callback",
                "http://127.0.0.1:7777@evil.test/login/callback",
                "http://evil.test@127.0.0.1:7777/login/callback",
                "http://127.0.0.1:7777.evil.test/login/callback",
                "//127.0.0.1:7777/login/callback",
                "/login/callback",
                " http://127.0.0.1:7777/login/callback",
                "http://127.0.0.1:7777/login/callback\n",
                "http://127.0.0.1:7777\\@evil.test/login/callback",
                "javascript://127.0.0.1:7777/login/callback%0aalert(1)",
            ],
        ),
        (
            good_id.as_str(),
            vec![
                "https://good.evil/cb",
                "https://good.example.evil.test/cb",
                "https://evil.test/good.example/cb",
                "https://evil.test/?https://good.example/cb",
                "https://good.example@evil.test/cb",
                "https://evil.test#@good.example/cb",
                "https://good.example/CB",
                "https://good.example/cb/",
                "https://good.example/cb/../x",
                "https://good.example/cb%2F..%2Fx",
                "https://good.example/cb?next=https://evil.test",
                "https://good.example/cb#x",
                "https://good.example:8443/cb",
                "http://good.example/cb",
                "https://xgood.example/cb",
                "https://good.example./cb",
                "HTTPS://GOOD.EXAMPLE/CB",
            ],
        ),
    ];
    for (client_id, payloads) in cases {
        for bad in payloads {
            let response = app.http.get(authorize_url(&app, &[("client_id", client_id), ("redirect_uri", bad)])).send().await.expect("req");
            assert_eq!(response.status(), 400, "{bad} for {client_id}");
            assert!(response.headers().get("location").is_none(), "{bad} redirected");
            let html = response.text().await.expect("html");
            assert!(crate::web::third_party_references(&html).is_empty(), "{bad} became a link on the error page");
            // The widget's way in, interact, compares the same way.
            let challenge = challenge_for(VERIFIER);
            let response = app
                .interact_raw(&[
                    ("client_id", client_id),
                    ("scope", "openid"),
                    ("redirect_uri", bad),
                    ("code_challenge", challenge.as_str()),
                    ("code_challenge_method", "S256"),
                    ("state", "s"),
                ])
                .await;
            assert_eq!(response.status(), 400, "interact with {bad} for {client_id}");
            let body: Value = response.json().await.expect("json");
            assert_eq!(body["error"], "invalid_request", "interact with {bad}: {body}");
        }
    }
    // The registered one is accepted, so the refusals are the comparison's.
    let response = app
        .http
        .get(authorize_url(&app, &[("client_id", good_id.as_str()), ("redirect_uri", "https://good.example/cb")]))
        .send()
        .await
        .expect("req");
    assert_eq!(response.status(), 200);
    let challenge = challenge_for(VERIFIER);
    for (client_id, redirect_uri) in [(good_id.as_str(), "https://good.example/cb"), (PUBLIC_CLIENT, REDIRECT_URI)] {
        let response = app
            .interact_raw(&[
                ("client_id", client_id),
                ("scope", "openid"),
                ("redirect_uri", redirect_uri),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
                ("state", "s"),
            ])
            .await;
        assert_eq!(response.status(), 200, "interact with the registered {redirect_uri}");
    }
}

/// SES-2: Latchkey's own session id is new after every authentication: a hosted sign-in in a
/// browser that already holds a session gets another id, and a hosted password reset in that
/// browser gets a third and ends the one it held (the reset ends every session).
async fn hosted_sign_in_and_reset_each_issue_a_new_session_id(backend: latchkey_store::testing::Backend) {
    use crate::oidc_support::{authorize, hosted_sign_in, query_of, set_cookie, SID};
    let app = spawn_app(backend).await;
    let login = "ses2@example.com";
    app.create_user(login).await;
    let (_, first) = hosted_sign_in(&app, login, "").await;
    let first = first.expect("a session");
    // A planted id in the browser, then a sign-in: never adopted.
    let planted = "planted-session-id-0123456789abcdefghijklmnop";
    let (_, second) = hosted_sign_in(&app, login, &format!("{SID}={planted}")).await;
    let second = second.expect("a session");
    assert_ne!(second, planted);
    let (_, third) = hosted_sign_in(&app, login, &format!("{SID}={second}")).await;
    let third = third.expect("a session");
    assert_ne!(third, second, "a sign-in over a live session issues a new id");
    assert_ne!(third, first);

    // A hosted reset in the browser that holds `third`.
    let page = authorize(&app, &[("prompt", "login")], &format!("{SID}={third}")).await;
    assert_eq!(page.status(), 200);
    let tx = set_cookie(&page, "latchkey_tx").expect("the transaction cookie");
    let handle = page_config(&page.text().await.expect("html"))["interactionHandle"].as_str().expect("handle").to_owned();
    let (_, state) = app.introspect(&handle).await;
    let sh = state["stateHandle"].clone();
    assert_eq!(app.idx("recover", json!({"stateHandle": sh})).await.0, 200);
    assert_eq!(app.idx("identify", json!({"identifier": login, "stateHandle": sh})).await.0, 200);
    let authenticator = crate::helpers::email_authenticator_id(&app.introspect(&handle).await.1);
    assert_eq!(app.idx("challenge", json!({"authenticator": {"id": authenticator}, "stateHandle": sh})).await.0, 200);
    let code = app.code_from_mail(login, 1).await;
    let (status, body) = app.idx("challenge/answer", json!({"credentials": {"passcode": code}, "stateHandle": sh})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        app.idx("challenge/answer", json!({"credentials": {"passcode": "a brand new passphrase for ses2"}, "stateHandle": sh})).await;
    assert_eq!(status, 200, "{body}");
    let callback = app
        .http
        .get(format!("{}/signin/callback?interaction_code={}", app.base, interaction_code(&body)))
        .header("Cookie", format!("{SID}={third}; latchkey_tx={tx}"))
        .send()
        .await
        .expect("callback");
    assert_eq!(callback.status(), 303);
    let after_reset = set_cookie(&callback, SID).expect("a session after the reset");
    for old in [&first, &second, &third] {
        assert_ne!(&after_reset, old, "the reset's session reuses an old id");
        let response = authorize(&app, &[("prompt", "none")], &format!("{SID}={old}")).await;
        assert_eq!(query_of(&response)["error"], "login_required", "a session from before the reset outlived it");
    }
    let response = authorize(&app, &[("prompt", "none")], &format!("{SID}={after_reset}")).await;
    assert!(query_of(&response).contains_key("code"), "the new session is live");
    app.drain_outbox().await;
}

/// PRE-1: HEAD requests and mail scanners (their user agents, a tampered code in the link, the
/// starting browser's own cookie) verify, consume and count nothing: the code has no attempt,
/// the transaction is still at its challenge, no email is queued, and the code then redeems.
async fn head_requests_and_link_scanners_change_nothing(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "scanned@example.com";
    app.create_user(login).await;
    let (flow, _) = app.start_recovery(login, "scanned-state").await;
    let mail = app.wait_for_mail(login, 1).await.remove(0);
    let link =
        crate::helpers::extract_link(mail.text.as_deref().expect("text"), &format!("{}/signin/reset-password?", app.base)).expect("link");
    let otp = url::Url::parse(&link).expect("url").query_pairs().find(|(k, _)| k == "otp").map(|(_, v)| v.into_owned()).expect("otp");
    let tampered = link.replace(&format!("otp={otp}"), "otp=000000");
    app.drain_outbox().await;
    let outbox_before = app.state.store.outbox_messages(None, 50).await.expect("outbox").len();

    let scanners = [
        "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0) Microsoft Office Protection",
        "Barracuda Sentinel (EE)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "curl/8.5.0",
        "",
    ];
    for agent in scanners {
        for url in [&link, &tampered] {
            let head = app.http.head(url.as_str()).header("User-Agent", agent).send().await.expect("head");
            assert!(head.status().is_success() || head.status() == 405, "HEAD {agent:?}: {}", head.status());
            let get = app.http.get(url.as_str()).header("User-Agent", agent).send().await.expect("get");
            assert_eq!(get.status(), 200, "GET {agent:?}");
        }
    }

    let now = app.state.store.now().await.expect("now");
    let tx = app
        .state
        .store
        .interaction_by_handle(&latchkey_domain::secret::sha256_hex(&flow.interaction_handle), now)
        .await
        .expect("query")
        .expect("the transaction");
    let codes = app.state.store.recovery_codes_of(&tx.id).await.expect("codes");
    assert_eq!(codes.iter().map(|(_, attempts)| *attempts).collect::<Vec<_>>(), [0], "one code, no attempt counted");
    assert_eq!(app.state.store.live_code_count(now).await.expect("live"), 1, "still live");
    let key = latchkey_domain::interaction::CounterKey::Identifier(login.to_owned());
    assert_eq!(app.state.store.otp_failures(&key).await.expect("counter"), 0, "no failure counted");
    let (_, state) = app.introspect(&flow.interaction_handle).await;
    assert_eq!(crate::helpers::remediation_names(&state), ["challenge-authenticator"], "still at the challenge");
    app.drain_outbox().await;
    assert_eq!(app.state.store.outbox_messages(None, 50).await.expect("outbox").len(), outbox_before, "nothing queued");

    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": otp}})).await;
    assert_eq!(status, 200, "{body}");
}

/// PRE-2: the link page never looks the code up, so whoever opens a link (a scanner, another
/// browser) learns nothing from it about the code: a valid, a wrong and an expired code give
/// the same status, the same headers (but the CSP nonce and the request id) and the same page with only the code's
/// digits different.
async fn the_link_page_is_the_same_for_a_valid_a_wrong_and_an_expired_code(backend: latchkey_store::testing::Backend) {
    let app = crate::helpers::spawn_app_with(backend, |_| {}).await;
    app.create_user("samepage@example.com").await;
    let (_flow, _) = app.start_recovery("samepage@example.com", "same-page").await;
    let mail = app.wait_for_mail("samepage@example.com", 1).await.remove(0);
    let link =
        crate::helpers::extract_link(mail.text.as_deref().expect("text"), &format!("{}/signin/reset-password?", app.base)).expect("link");
    let url = url::Url::parse(&link).expect("url");
    let valid = url.query_pairs().find(|(k, _)| k == "otp").map(|(_, v)| v.into_owned()).expect("otp");
    let wrong = if valid == "000000" { "111111".to_owned() } else { "000000".to_owned() };
    let with_otp = |otp: &str| {
        let mut u = url.clone();
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| if k == "otp" { (k.into_owned(), otp.to_owned()) } else { (k.into_owned(), v.into_owned()) })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
        u
    };
    // The CSP nonce is fresh per response and the code is echoed; everything else must match.
    let normalise = |html: String, otp: &str| -> String { without_nonces(&html.replace(otp, "OTP")) };
    let page = |u: url::Url, otp: String| {
        let app = &app;
        let normalise = &normalise;
        async move {
            let response = app.http.get(u).send().await.expect("request");
            let status = response.status().as_u16();
            let mut headers: Vec<(String, String)> = response
                .headers()
                .iter()
                .filter(|(name, _)| !matches!(name.as_str(), "date" | "content-security-policy" | "content-length" | "x-request-id"))
                .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or_default().to_owned()))
                .collect();
            headers.sort();
            (status, headers, normalise(response.text().await.expect("html"), &otp))
        }
    };
    let first = page(with_otp(&valid), valid.clone()).await;
    assert_eq!(first.0, 200);
    assert_eq!(page(with_otp(&wrong), wrong.clone()).await, first, "a wrong code gets the valid code's page");
    app.advance_clock(std::time::Duration::from_secs(601)).await;
    assert_eq!(page(with_otp(&valid), valid.clone()).await, first, "an expired code gets the same page too");
}

/// The page with every `nonce="…"` value (attribute and CSP source) replaced by `N`.
fn without_nonces(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(at) = rest.find("nonce") {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        // nonce="value" or nonce-value (in a CSP inside the page, if any).
        let after = &tail["nonce".len()..];
        let (sep, value_start) = if let Some(v) = after.strip_prefix("=\"") {
            ("=\"", v)
        } else if let Some(v) = after.strip_prefix('-') {
            ("-", v)
        } else {
            ("", after)
        };
        let end = value_start
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=' || c == '_' || c == '-'))
            .unwrap_or(value_start.len());
        out.push_str("nonce");
        out.push_str(sep);
        out.push('N');
        rest = &value_start[end..];
    }
    out.push_str(rest);
    out
}
