//! The `refresh_token` grant (security-checklist OA-7): rotation on every use, reuse revokes the
//! family, only with `offline_access`; and a replayed authorization code revokes what it
//! produced (OA-2).
use crate::both_backends;
use crate::helpers::{spawn_app, CONFIDENTIAL_CLIENT, PUBLIC_CLIENT, REDIRECT_URI, VERIFIER};
use crate::oidc_support::{code_form, hosted_sign_in, introspect_token, refresh, tokens_for, userinfo, verify_with_jwks};

both_backends!(
    refresh_rotates_and_reuse_revokes_the_whole_family,
    no_refresh_token_without_offline_access,
    a_replayed_code_fails_and_revokes_its_tokens,
    wrong_verifier_redirect_and_client_are_invalid_grant_for_authorization_codes,
    codes_expire_after_sixty_seconds_and_only_their_client_redeems_them,
);

async fn refresh_rotates_and_reuse_revokes_the_whole_family(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("rotate@example.com").await;
    let tokens = tokens_for(&app, "rotate@example.com", "openid profile offline_access").await;
    let rt1 = tokens["refresh_token"].as_str().expect("rt1").to_owned();
    let (_, first_claims) = verify_with_jwks(&app, tokens["id_token"].as_str().expect("id"), PUBLIC_CLIENT).await;

    let (status, second) = refresh(&app, &rt1).await;
    assert_eq!(status, 200, "{second}");
    let rt2 = second["refresh_token"].as_str().expect("rt2").to_owned();
    assert_ne!(rt1, rt2, "rotated");
    let (_, claims) = verify_with_jwks(&app, second["id_token"].as_str().expect("id"), PUBLIC_CLIENT).await;
    assert_eq!(claims["sub"], first_claims["sub"]);
    assert_eq!(claims["auth_time"], first_claims["auth_time"], "auth_time is the original sign-in's");
    assert!(claims.get("nonce").is_none());

    let (status, narrowed) = app
        .token(&[("grant_type", "refresh_token"), ("client_id", PUBLIC_CLIENT), ("refresh_token", &rt2), ("scope", "openid email")])
        .await;
    assert_eq!((status, narrowed["error"].as_str()), (400, Some("invalid_scope")), "a refresh cannot widen the scopes");
    assert_eq!(introspect_token(&app, &rt2).await["active"], true, "a refused scope does not spend the token");

    // Another client cannot use (or burn) the token.
    let (status, _) = app
        .token(&[
            ("grant_type", "refresh_token"),
            ("client_id", CONFIDENTIAL_CLIENT),
            ("client_secret", crate::helpers::CONFIDENTIAL_SECRET),
            ("refresh_token", &rt2),
        ])
        .await;
    assert_eq!(status, 400);
    assert_eq!(introspect_token(&app, &rt2).await["active"], true);

    let (status, body) = refresh(&app, &rt1).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "reuse of a rotated token");
    let (status, body) = refresh(&app, &rt2).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "the whole family is revoked");
    assert_eq!(introspect_token(&app, &rt2).await["active"], false);
}

async fn no_refresh_token_without_offline_access(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("offline@example.com").await;
    let tokens = tokens_for(&app, "offline@example.com", "openid email").await;
    assert!(tokens.get("refresh_token").is_none());
    let (status, body) = refresh(&app, "not-a-refresh-token").await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
}

async fn a_replayed_code_fails_and_revokes_its_tokens(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("replay@example.com").await;
    let offline = {
        // The hosted flow with offline_access, so the replay has a refresh token to revoke.
        let page = crate::oidc_support::authorize(&app, &[("scope", "openid email offline_access")], "").await;
        let config = crate::hosted::page_config(&page.text().await.expect("html"));
        let (_, state) = app.introspect(config["interactionHandle"].as_str().expect("handle")).await;
        let (_, body) = app
            .idx("identify", serde_json::json!({"identifier": "replay@example.com", "credentials": {"passcode": crate::helpers::PASSWORD}, "stateHandle": state["stateHandle"]}))
            .await;
        crate::helpers::interaction_code(&body)
    };
    let (status, tokens) = app.token(&code_form(&offline)).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().expect("at");
    let refresh_token = tokens["refresh_token"].as_str().expect("rt");
    assert_eq!(userinfo(&app, access).await.status(), 200);

    let (status, body) = app.token(&code_form(&offline)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "single use");
    assert_eq!(userinfo(&app, access).await.status(), 401, "the first access token is revoked");
    assert_eq!(introspect_token(&app, access).await["active"], false);
    assert_eq!(refresh(&app, refresh_token).await.1["error"], "invalid_grant", "the first refresh token is revoked");
}

async fn wrong_verifier_redirect_and_client_are_invalid_grant_for_authorization_codes(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("badgrant@example.com").await;
    let wrong = "ffffffffffffffffffffffffffffffffffffffffffff";
    for (verifier, redirect) in [(wrong, REDIRECT_URI), (VERIFIER, "http://127.0.0.1:7777/login/callback/")] {
        let (code, _) = hosted_sign_in(&app, "badgrant@example.com", "").await;
        let form = [
            ("grant_type", "authorization_code"),
            ("client_id", PUBLIC_CLIENT),
            ("code", code.as_str()),
            ("code_verifier", verifier),
            ("redirect_uri", redirect),
        ];
        let (status, body) = app.token(&form).await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{verifier} {redirect}");
    }
    // PKCE `plain` and a missing challenge are refused at the start (OA-3).
    for (challenge, method) in [(crate::helpers::challenge_for(VERIFIER), "plain"), (String::new(), "S256")] {
        let response = app
            .interact_raw(&[
                ("client_id", PUBLIC_CLIENT),
                ("scope", "openid"),
                ("redirect_uri", REDIRECT_URI),
                ("code_challenge", &challenge),
                ("code_challenge_method", method),
                ("state", "s"),
            ])
            .await;
        assert_eq!(response.status(), 400, "{method}");
    }
}

/// OA-2: an authorization code and an interaction code are refused 61 s after they were issued
/// (the controllable clock); another client, even authenticated, cannot redeem a code, and its
/// attempt spends it.
async fn codes_expire_after_sixty_seconds_and_only_their_client_redeems_them(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    let login = "codeage@example.com";
    app.create_user(login).await;
    let (code, _) = hosted_sign_in(&app, login, "").await;
    let (_, body) = app.sign_in(login, crate::helpers::PASSWORD).await;
    let interaction = crate::helpers::interaction_code(&body);
    app.advance_clock(std::time::Duration::from_secs(61)).await;
    let (status, body) = app.token(&code_form(&code)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "an authorization code at 61 s: {body}");
    let (status, body) = app.exchange(&interaction).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "an interaction code at 61 s: {body}");

    let (code, _) = hosted_sign_in(&app, login, "").await;
    let other = [
        ("grant_type", "authorization_code"),
        ("client_id", CONFIDENTIAL_CLIENT),
        ("client_secret", crate::helpers::CONFIDENTIAL_SECRET),
        ("code", code.as_str()),
        ("code_verifier", VERIFIER),
        ("redirect_uri", REDIRECT_URI),
    ];
    let (status, body) = app.token(&other).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "another client: {body}");
    assert!(body.get("access_token").is_none());
    let (status, body) = app.token(&code_form(&code)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "the misuse spent the code: {body}");

    // Within its 60 s a fresh code redeems (the clock moved past the others, not this one).
    let (code, _) = hosted_sign_in(&app, login, "").await;
    app.advance_clock(std::time::Duration::from_secs(55)).await;
    let (status, body) = app.token(&code_form(&code)).await;
    assert_eq!(status, 200, "{body}");
}
