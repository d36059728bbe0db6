//! The hosted pages without a browser: authorize, callback, the default recovery link, and the
//! `authorization_code` grant. (The widget itself is driven in Chromium by the e2e suite.)
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{challenge_for, interaction_code, spawn_app, TestApp, PASSWORD, PUBLIC_CLIENT, REDIRECT_URI, VERIFIER};

both_backends!(
    authorize_refuses_unknown_redirects_without_redirecting,
    authorize_errors_after_validation_go_back_to_the_client,
    the_hosted_flow_ends_with_an_authorization_code_for_the_client,
    the_reset_link_page_continues_only_in_the_browser_that_started,
    head_requests_and_link_scanners_change_nothing,
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
        let other_config = page_config(&other.text().await.expect("html"));
        assert!(other_config.get("interactionHandle").is_none());
        assert_eq!(other_config["otp"].as_str().map(str::len), Some(6));
    }
    // The browser that started it.
    let same = app.http.get(&link).header("Cookie", &cookie).send().await.expect("req");
    let same_config = page_config(&same.text().await.expect("html"));
    assert_eq!(same_config["interactionHandle"].as_str(), Some(handle.as_str()));
    // None of those GETs consumed or counted anything: the code still works.
    let otp = same_config["otp"].as_str().expect("otp").to_owned();
    let (status, body) = app.idx("challenge/answer", json!({"credentials": {"passcode": otp}, "stateHandle": sh})).await;
    assert_eq!(status, 200, "{body}");
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
