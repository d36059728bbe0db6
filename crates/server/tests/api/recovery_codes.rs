//! Recovery codes: attempt limits, expiry, resend, and races (security-checklist OTP-*, §3).
use std::sync::Arc;

use serde_json::json;

use crate::both_backends;
use crate::helpers::{remediation_names, spawn_app, spawn_app_with};

both_backends!(
    five_wrong_codes_kill_the_code,
    an_expired_code_fails,
    resend_supersedes_the_previous_code,
    fifty_parallel_answers_of_one_code_give_exactly_one_success,
    hundred_parallel_wrong_answers_never_count_past_the_limit,
    malformed_codes_get_400_and_do_not_count,
    one_address_guessing_codes_across_accounts_is_throttled,
);

fn wrong_code(code: &str) -> String {
    let first = code.chars().next().and_then(|c| c.to_digit(10)).unwrap_or(0);
    format!("{}{}", (first + 1) % 10, &code[1..])
}

async fn five_wrong_codes_kill_the_code(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("five@example.com").await;
    let (flow, _) = app.start_recovery("five@example.com", "s").await;
    let code = app.code_from_mail("five@example.com", 1).await;
    for _ in 0..5 {
        let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": wrong_code(&code)}})).await;
        assert_eq!(status, 401);
        let message = &body["remediation"]["value"][0]["value"][0]["form"]["value"][0]["messages"]["value"][0];
        assert_eq!(message["i18n"]["key"], "api.authn.error.PASSCODE_INVALID", "{body}");
    }
    let (status, _) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(status, 401, "the right code after five wrong ones is refused");
}

async fn an_expired_code_fails(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("late@example.com").await;
    let (flow, _) = app.start_recovery("late@example.com", "s").await;
    let code = app.code_from_mail("late@example.com", 1).await;
    // OTP-3: past the default ten-minute lifetime by the database clock (the test clock).
    app.advance_clock(std::time::Duration::from_secs(601)).await;
    let (status, _) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(status, 401);
}

async fn resend_supersedes_the_previous_code(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| s.recovery.mail_min_gap_secs = 0).await;
    app.create_user("resend@example.com").await;
    let (flow, _) = app.start_recovery("resend@example.com", "s").await;
    let first = app.code_from_mail("resend@example.com", 1).await;
    let (status, body) = app.step(&flow, "challenge/resend", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(remediation_names(&body), ["challenge-authenticator"]);
    let second = app.code_from_mail("resend@example.com", 2).await;
    if first != second {
        let (status, _) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": first}})).await;
        assert_eq!(status, 401, "the superseded code is refused");
    }
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": second}})).await;
    assert_eq!(status, 200, "{body}");
}

async fn fifty_parallel_answers_of_one_code_give_exactly_one_success(backend: latchkey_store::testing::Backend) {
    let app = Arc::new(spawn_app(backend).await);
    app.create_user("race@example.com").await;
    let (flow, _) = app.start_recovery("race@example.com", "s").await;
    let code = app.code_from_mail("race@example.com", 1).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let answers = (0..50).map(|_| {
        let (app, flow, code, barrier) = (app.clone(), flow.clone(), code.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await.0
        })
    });
    let statuses: Vec<u16> = futures::future::join_all(answers).await.into_iter().map(|r| r.expect("join")).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 200 || (400..500).contains(s)), "{statuses:?}");
}

async fn hundred_parallel_wrong_answers_never_count_past_the_limit(backend: latchkey_store::testing::Backend) {
    let app = Arc::new(spawn_app(backend).await);
    app.create_user("flood@example.com").await;
    let (flow, _) = app.start_recovery("flood@example.com", "s").await;
    let code = app.code_from_mail("flood@example.com", 1).await;
    let wrong = wrong_code(&code);
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let answers = (0..100).map(|_| {
        let (app, flow, wrong, barrier) = (app.clone(), flow.clone(), wrong.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": wrong}})).await.0
        })
    });
    let statuses: Vec<u16> = futures::future::join_all(answers).await.into_iter().map(|r| r.expect("join")).collect();
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    let tx = app
        .state
        .store
        .interaction_by_handle(&latchkey_domain::secret::sha256_hex(&flow.interaction_handle), app.state.store.now().await.expect("now"))
        .await
        .expect("query")
        .expect("tx");
    let attempts: i64 = app.state.store.recovery_codes_of(&tx.id).await.expect("codes").iter().map(|(_, a)| *a).sum();
    assert_eq!(attempts, 5, "exactly five attempts were counted");
    let (status, _) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(status, 401);
}

async fn malformed_codes_get_400_and_do_not_count(backend: latchkey_store::testing::Backend) {
    let app = spawn_app(backend).await;
    app.create_user("malformed@example.com").await;
    let (flow, _) = app.start_recovery("malformed@example.com", "s").await;
    let code = app.code_from_mail("malformed@example.com", 1).await;
    for bad in ["12345", "1234567", "abcdef", "123456789"] {
        let (status, _) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": bad}})).await;
        assert_eq!(status, 400, "{bad}");
    }
    for _ in 0..4 {
        app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": wrong_code(&code)}})).await;
    }
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(status, 200, "four counted failures leave the fifth try: {body}");
}

async fn one_address_guessing_codes_across_accounts_is_throttled(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| s.otp.per_ip_failures_per_hour = 3).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let login = format!("spray{i}@example.com");
        app.create_user(&login).await;
        let (flow, _) = app.start_recovery(&login, "s").await;
        let (status, _) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": "000000"}})).await;
        statuses.push(status);
    }
    assert_eq!(statuses, [401, 401, 401, 429]);
}
