//! userinfo, revocation, introspection, RP-initiated logout and discovery (security-checklist
//! OA-8, WEB-5; RFC 7009, 7662; OIDC Core §5.3, RP-Initiated Logout 1.0).
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app, spawn_app_with, ClientSettings, PUBLIC_CLIENT, REDIRECT_URI};
use crate::oidc_support::{authorize, hosted_sign_in, introspect_token, query_of, set_cookie, tokens_for, userinfo, SID};

both_backends!(
    userinfo_answers_by_scope_and_refuses_everything_but_live_access_tokens,
    revoked_access_tokens_are_refused_until_they_expire,
    logout_redirects_only_to_registered_uris_and_ends_the_session,
    discovery_lists_every_oidc_endpoint,
);

const LOGOUT_URI: &str = "http://127.0.0.1:7777/signed-out";

async fn userinfo_answers_by_scope_and_refuses_everything_but_live_access_tokens(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("userinfo@example.com").await;
    let tokens = tokens_for(&app, "userinfo@example.com", "openid email").await;
    let access = tokens["access_token"].as_str().expect("at");
    let response = userinfo(&app, access).await;
    assert_eq!(response.status(), 200);
    let claims: Value = response.json().await.expect("json");
    assert_eq!(claims["email"], "userinfo@example.com");
    assert!(claims.get("given_name").is_none(), "profile claims only with the profile scope");
    let post = app.http.post(format!("{}/v1/userinfo", app.issuer())).bearer_auth(access).send().await.expect("post");
    assert_eq!(post.status(), 200);
    // The org server's userinfo refuses the default server's token (audience and issuer).
    let org = app.http.get(format!("{}/oauth2/v1/userinfo", app.base)).bearer_auth(access).send().await.expect("org");
    assert_eq!(org.status(), 401);

    let id_token = tokens["id_token"].as_str().expect("id");
    let [header, payload, _] = <[&str; 3]>::try_from(access.split('.').collect::<Vec<_>>()).expect("three parts");
    let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"at+jwt"}"#);
    let decoded: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("claims");
    let mut expired = decoded.clone();
    expired["exp"] = json!(1);
    let expired_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&expired).expect("json"));
    // HS256 "signed" with the public key: the classic algorithm-confusion forgery.
    let jwk = &crate::oidc_support::jwks(&app).await[0];
    let hs_header = json!({"alg": "HS256", "typ": "at+jwt", "kid": jwk["kid"]});
    let hs = jsonwebtoken::encode(
        &serde_json::from_value::<jsonwebtoken::Header>(hs_header).expect("header"),
        &decoded,
        &jsonwebtoken::EncodingKey::from_secret(jwk["n"].as_str().expect("n").as_bytes()),
    )
    .expect("hs256");
    for (what, token) in [
        ("an ID token", id_token.to_owned()),
        ("alg=none", format!("{none_header}.{payload}.")),
        (
            "an expired token with a broken signature",
            format!("{header}.{expired_payload}.{}", access.rsplit('.').next().unwrap_or_default()),
        ),
        ("HS256 with the public key", hs),
        ("garbage", "garbage".to_owned()),
    ] {
        assert_eq!(userinfo(&app, &token).await.status(), 401, "{what}");
    }
    let missing = app.http.get(format!("{}/v1/userinfo", app.issuer())).send().await.expect("no token");
    assert_eq!(missing.status(), 401);
    assert!(missing.headers()["www-authenticate"].to_str().expect("str").starts_with("Bearer"));
}

async fn revoked_access_tokens_are_refused_until_they_expire(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("revoke@example.com").await;
    let tokens = tokens_for(&app, "revoke@example.com", "openid offline_access").await;
    let access = tokens["access_token"].as_str().expect("at");
    let refresh_token = tokens["refresh_token"].as_str().expect("rt");
    let active = introspect_token(&app, access).await;
    assert_eq!((active["active"].as_bool(), active["client_id"].as_str()), (Some(true), Some(PUBLIC_CLIENT)));
    assert_eq!(introspect_token(&app, refresh_token).await["token_type"], "refresh_token");

    // Introspection and revocation need client authentication (OA-6).
    let anonymous = app.http.post(format!("{}/v1/introspect", app.issuer())).form(&[("token", access)]).send().await.expect("req");
    assert_eq!(anonymous.status(), 401);
    let wrong = app
        .http
        .post(format!("{}/v1/revoke", app.issuer()))
        .basic_auth(crate::helpers::CONFIDENTIAL_CLIENT, Some("wrong"))
        .form(&[("token", access)])
        .send()
        .await
        .expect("req");
    assert_eq!(wrong.status(), 401);

    for token in [access, refresh_token, "unknown-token"] {
        let response = app
            .http
            .post(format!("{}/v1/revoke", app.issuer()))
            .form(&[("client_id", PUBLIC_CLIENT), ("token", token)])
            .send()
            .await
            .expect("revoke");
        assert_eq!(response.status(), 200, "RFC 7009 answers 200 for every token");
    }
    assert_eq!(userinfo(&app, access).await.status(), 401);
    assert_eq!(introspect_token(&app, access).await, json!({"active": false}));
    assert_eq!(introspect_token(&app, refresh_token).await, json!({"active": false}));
}

async fn logout_redirects_only_to_registered_uris_and_ends_the_session(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| {
        s.clients.push(ClientSettings {
            client_id: "logout-client".to_owned(),
            redirect_uris: vec![REDIRECT_URI.to_owned()],
            post_logout_redirect_uris: vec![LOGOUT_URI.to_owned()],
            ..ClientSettings::default()
        });
        if let Some(public) = s.clients.iter_mut().find(|c| c.client_id == PUBLIC_CLIENT) {
            public.post_logout_redirect_uris = vec![LOGOUT_URI.to_owned()];
        }
    })
    .await;
    app.create_user("logout@example.com").await;
    let (code, sid) = hosted_sign_in(&app, "logout@example.com", "").await;
    let cookie = format!("{SID}={}", sid.expect("session"));
    let (_, tokens) = app.token(&crate::oidc_support::code_form(&code)).await;
    let id_token = tokens["id_token"].as_str().expect("id");
    let logout = |params: Vec<(&str, &str)>| {
        let url = url::Url::parse_with_params(&format!("{}/v1/logout", app.issuer()), params).expect("url");
        app.http.get(url).header("Cookie", &cookie).send()
    };
    for bad in [
        LOGOUT_URI.to_owned() + "/",
        "https://evil.test/signed-out".to_owned(),
        "http://127.0.0.1:7777/signed-out?x=1".to_owned(),
        "//evil.test".to_owned(),
    ] {
        let response = logout(vec![("id_token_hint", id_token), ("post_logout_redirect_uri", &bad), ("state", "s")]).await.expect("req");
        assert_eq!(response.status(), 400, "{bad}");
        assert!(response.headers().get("location").is_none(), "no redirect to {bad}");
    }
    let response = logout(vec![("post_logout_redirect_uri", LOGOUT_URI)]).await.expect("req");
    assert!(response.headers().get("location").is_none(), "no id_token_hint, no redirect");
    assert!(query_of(&authorize(&app, &[("prompt", "none")], &cookie).await).contains_key("code"), "refused logouts end nothing");

    let response =
        logout(vec![("id_token_hint", id_token), ("post_logout_redirect_uri", LOGOUT_URI), ("state", "bye/?&=")]).await.expect("req");
    assert_eq!(response.status(), 303);
    let location = response.headers()["location"].to_str().expect("str").to_owned();
    assert!(location.starts_with(LOGOUT_URI), "{location}");
    assert_eq!(query_of(&response)["state"], "bye/?&=");
    assert_eq!(set_cookie(&response, SID).as_deref(), Some(""), "the cookie is cleared");
    assert_eq!(
        query_of(&authorize(&app, &[("prompt", "none")], &cookie).await)["error"],
        "login_required",
        "the session ended on the server"
    );
}

async fn discovery_lists_every_oidc_endpoint(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    for base in [format!("{}/oauth2", app.base), app.issuer()] {
        let url = if base.ends_with("/oauth2") {
            format!("{}/.well-known/openid-configuration", app.base)
        } else {
            format!("{base}/.well-known/openid-configuration")
        };
        let doc: Value = app.http.get(url).send().await.expect("req").json().await.expect("json");
        for (key, path) in [
            ("userinfo_endpoint", "userinfo"),
            ("revocation_endpoint", "revoke"),
            ("introspection_endpoint", "introspect"),
            ("end_session_endpoint", "logout"),
        ] {
            assert_eq!(doc[key], format!("{base}/v1/{path}"), "{key}");
        }
        assert_eq!(doc["grant_types_supported"], json!(["authorization_code", "interaction_code", "refresh_token"]));
        assert_eq!(doc["response_types_supported"], json!(["code"]));
    }
}
