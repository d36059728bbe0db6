//! The hashing queue is bounded (security-checklist STO-2): with every hashing slot busy and
//! `password.hashing_queue_max` requests waiting, the next request that needs Argon2 gets 503
//! with `Retry-After` at once, in its protocol's shape, instead of waiting and holding memory.
//!
//! One slot, no waiting places and a deliberately slow hash (t = 40) make the burst below
//! overlap a running hash for certain: a burst of requests fired together cannot all be
//! admitted one after another. Without the bound every request would wait its turn (the queue
//! timeout is far longer than the burst) and none would get 503.
use futures::future::join_all;
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{spawn_app_with, ADMIN_TOKEN};

both_backends!(a_full_hashing_queue_answers_503_with_retry_after_in_each_protocols_shape);

const BURST: usize = 8;

async fn a_full_hashing_queue_answers_503_with_retry_after_in_each_protocols_shape(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, one_slot_and_no_place_to_wait).await;

    // IDX: password sign-ins (unknown accounts still verify against the dummy hash).
    let mut flows = Vec::new();
    for i in 0..BURST {
        flows.push(app.interact(&format!("busy-{i}")).await);
    }
    let answers = join_all(flows.iter().enumerate().map(|(i, flow)| {
        let body = json!({"stateHandle": flow.state_handle, "identifier": format!("busy{i}@example.com"), "credentials": {"passcode": "not the password of anyone"}});
        send(app.http.post(format!("{}/idp/idx/identify", app.base)).json(&body))
    }))
    .await;
    let busy = check_burst("IDX sign-in", &answers, 401);
    for (_, retry_after, body) in busy {
        assert!(retry_after.is_some_and(|secs| secs >= 1), "Retry-After on the IDX 503");
        assert_eq!(body["messages"]["value"][0]["i18n"]["key"], "E0000009", "the IDX envelope: {body}");
    }

    // The management API: creating users with a password (policy check and hash).
    let answers = join_all((0..BURST).map(|i| {
        let login = format!("created{i}@example.com");
        let body = json!({"profile": {"login": login, "email": login}, "credentials": {"password": {"value": crate::helpers::PASSWORD}}});
        send(
            app.http
                .post(format!("{}/api/v1/users?activate=true", app.base))
                .header("Authorization", format!("SSWS {ADMIN_TOKEN}"))
                .json(&body),
        )
    }))
    .await;
    let busy = check_burst("admin user creation", &answers, 200);
    for (_, retry_after, body) in busy {
        assert!(retry_after.is_some_and(|secs| secs >= 1), "Retry-After on the admin 503");
        assert_eq!(body["errorCode"], "E0000010", "the Okta error shape: {body}");
    }

    // The queue empties again: a request alone is served.
    let flow = app.interact("after").await;
    let (status, body) = app
        .step(&flow, "identify", json!({"identifier": "after@example.com", "credentials": {"passcode": "not the password of anyone"}}))
        .await;
    assert_eq!(status, 401, "a lone sign-in after the burst is hashed and refused as usual: {body}");
}

/// One hashing slot, no place to wait, and a hash slow enough (t = 40) to overlap the burst.
fn one_slot_and_no_place_to_wait(settings: &mut latchkey_server::config::Settings) {
    settings.password.hashing_concurrency = 1;
    settings.password.hashing_queue_max = 0;
    settings.password.argon2_iterations = 40;
}

async fn send(request: reqwest::RequestBuilder) -> (u16, Option<u64>, Value) {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    (status, retry_after, response.json().await.unwrap_or(Value::Null))
}

/// Every answer is either the ordinary one (`served`) or 503, and both kinds occur: one request
/// held the only slot while the others found no place to wait. Returns the 503s.
fn check_burst<'a>(what: &str, answers: &'a [(u16, Option<u64>, Value)], served: u16) -> Vec<&'a (u16, Option<u64>, Value)> {
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert!(statuses.iter().all(|s| *s == served || *s == 503), "{what}: {statuses:?}");
    assert!(statuses.contains(&served), "{what}: at least one request is hashed: {statuses:?}");
    let busy: Vec<_> = answers.iter().filter(|a| a.0 == 503).collect();
    assert!(!busy.is_empty(), "{what}: a burst with one slot and no waiting place gets 503s: {statuses:?}");
    busy
}
