//! `DELETE /api/v1/users/{id}/sessions` (Okta's "clear user sessions"): every browser session of
//! the user ends; refresh and access tokens end only with `oauthTokens=true`.
use serde_json::Value;

use crate::both_backends;
use crate::helpers::{spawn_app, TestApp, ADMIN_TOKEN};
use crate::oidc_support::{authorize, hosted_sign_in, query_of, refresh, tokens_for, userinfo, SID};

both_backends!(
    clearing_sessions_ends_every_session_and_keeps_tokens_by_default,
    clearing_sessions_with_oauth_tokens_also_ends_refresh_and_access_tokens,
    clearing_sessions_of_an_unknown_user_is_okta_not_found,
);

async fn clear_sessions(app: &TestApp, user: &str, query: &str) -> reqwest::Response {
    app.http
        .delete(format!("{}/api/v1/users/{user}/sessions{query}", app.base))
        .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
        .send()
        .await
        .expect("request")
}

async fn session_is_live(app: &TestApp, sid: &str) -> bool {
    query_of(&authorize(app, &[("prompt", "none")], &format!("{SID}={sid}")).await).contains_key("code")
}

async fn clearing_sessions_ends_every_session_and_keeps_tokens_by_default(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "clearsessions@example.com";
    let user = app.create_user(login).await;
    let (_, first) = hosted_sign_in(&app, login, "").await;
    let (_, second) = hosted_sign_in(&app, login, "").await;
    let sessions = [first.expect("session"), second.expect("session")];
    let tokens = tokens_for(&app, login, "openid offline_access").await;
    for sid in &sessions {
        assert!(session_is_live(&app, sid).await, "live before");
    }

    let response = clear_sessions(&app, user["id"].as_str().expect("id"), "").await;
    assert_eq!(response.status(), 204);
    assert_eq!(response.text().await.expect("body"), "");

    for sid in &sessions {
        assert!(!session_is_live(&app, sid).await, "every session ends");
    }
    let (status, body) = refresh(&app, tokens["refresh_token"].as_str().expect("rt")).await;
    assert_eq!(status, 200, "without oauthTokens the refresh token lives on: {body}");
    assert_eq!(userinfo(&app, tokens["access_token"].as_str().expect("at")).await.status(), 200, "and so do access tokens");
    // `oauthTokens=false` said out loud is the same.
    assert_eq!(clear_sessions(&app, login, "?oauthTokens=false").await.status(), 204);
    let (status, _) = refresh(&app, body["refresh_token"].as_str().expect("rotated rt")).await;
    assert_eq!(status, 200);
}

async fn clearing_sessions_with_oauth_tokens_also_ends_refresh_and_access_tokens(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "cleartokens@example.com";
    let user = app.create_user(login).await;
    let (_, sid) = hosted_sign_in(&app, login, "").await;
    let sid = sid.expect("session");
    let tokens = tokens_for(&app, login, "openid offline_access").await;
    let access = tokens["access_token"].as_str().expect("at");
    assert_eq!(userinfo(&app, access).await.status(), 200);

    let response = clear_sessions(&app, user["id"].as_str().expect("id"), "?oauthTokens=true").await;
    assert_eq!(response.status(), 204);

    assert!(!session_is_live(&app, &sid).await, "the session ends");
    let (status, body) = refresh(&app, tokens["refresh_token"].as_str().expect("rt")).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "the refresh token is revoked");
    assert_eq!(userinfo(&app, access).await.status(), 401, "access tokens issued before are refused");

    // A typo is refused rather than read as `false`.
    let response = clear_sessions(&app, login, "?oauthTokens=ture").await;
    assert_eq!(response.status(), 400);
    assert_eq!(response.json::<Value>().await.expect("json")["errorCode"], "E0000001");
}

async fn clearing_sessions_of_an_unknown_user_is_okta_not_found(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let response = clear_sessions(&app, "00unoSuchUser", "").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["errorCode"], "E0000007");
    assert_eq!(body["errorSummary"], "Not found: Resource not found: 00unoSuchUser (User)");

    let unauthenticated = app.http.delete(format!("{}/api/v1/users/00unoSuchUser/sessions", app.base)).send().await.expect("request");
    assert_eq!(unauthenticated.status(), 401, "SSWS like every admin route");
}
