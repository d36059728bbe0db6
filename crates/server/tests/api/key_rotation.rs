//! Signing-key rotation (shared/README "Keys"): the new key is published before it signs, and a
//! token signed before the rotation keeps verifying against JWKS until it expires.
use std::time::Duration;

use crate::both_backends;
use crate::helpers::{spawn_app_with, PUBLIC_CLIENT};
use crate::oidc_support::{jwks, tokens_for, verify_with_jwks};

both_backends!(a_rotated_key_is_published_first_and_the_old_one_stays_for_its_tokens);

async fn a_rotated_key_is_published_first_and_the_old_one_stays_for_its_tokens(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| {
        s.keys.publish_delay_secs = 4;
        s.keys.jwks_cache_secs = 1;
        s.keys.reload_secs = 1;
    })
    .await;
    app.create_user("keys@example.com").await;
    let before = tokens_for(&app, "keys@example.com", "openid").await;
    let old_token = before["id_token"].as_str().expect("id").to_owned();
    let (old_kid, _) = verify_with_jwks(&app, &old_token, PUBLIC_CLIENT).await;

    let state = &app.state;
    let now = state.store.now().await.expect("now");
    let new = latchkey_server::crypto::rotation::rotate(&state.store, &state.master_key, &state.settings.rotation_policy(), now)
        .await
        .expect("rotate");
    latchkey_server::crypto::rotation::reload(state).await.expect("reload");
    let kids: Vec<String> = jwks(&app).await.iter().filter_map(|k| k["kid"].as_str().map(str::to_owned)).collect();
    assert!(kids.contains(&new.id) && kids.contains(&old_kid), "both keys are published at once: {kids:?}");

    let ring = state.keys().await;
    let signer = ring.active_signing_key(now).expect("a signing key");
    assert_eq!(signer.kid, old_kid, "the new key does not sign before its publication delay");
    let during = tokens_for(&app, "keys@example.com", "openid").await;
    let (kid, _) = verify_with_jwks(&app, during["id_token"].as_str().expect("id"), PUBLIC_CLIENT).await;
    if state.store.now().await.expect("now") < new.sign_from {
        assert_eq!(kid, old_kid, "tokens issued before sign_from use the old key");
    }

    let wait = new.sign_from - state.store.now().await.expect("now") + 300;
    tokio::time::sleep(Duration::from_millis(u64::try_from(wait).unwrap_or(0))).await;
    latchkey_server::crypto::rotation::reload(state).await.expect("reload");
    let after = tokens_for(&app, "keys@example.com", "openid").await;
    let (kid, _) = verify_with_jwks(&app, after["id_token"].as_str().expect("id"), PUBLIC_CLIENT).await;
    assert_eq!(kid, new.id, "the new key signs once published long enough");
    let (kid, _) = verify_with_jwks(&app, &old_token, PUBLIC_CLIENT).await;
    assert_eq!(kid, old_kid, "a token signed before the rotation still verifies");

    let now = state.store.now().await.expect("now");
    let old =
        state.store.live_keys("signing", now).await.expect("keys").into_iter().find(|k| k.id == old_kid).expect("the old key is live");
    let lifetime = latchkey_server::config::ms(state.settings.tokens.access_token_secs);
    assert!(old.retire_at.is_some_and(|at| at >= new.sign_from + lifetime), "the old key retires only after its last token expired");
}
