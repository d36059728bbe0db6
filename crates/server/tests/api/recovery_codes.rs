//! Recovery codes: attempt limits, expiry, resend, and races (security-checklist OTP-*, §3).
use std::sync::Arc;

use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{remediation_names, spawn_app, spawn_app_with, Flow, TestApp, PASSWORD};

both_backends!(
    five_wrong_codes_kill_the_code,
    an_expired_code_fails,
    resend_supersedes_the_previous_code,
    fifty_parallel_answers_of_one_code_give_exactly_one_success,
    hundred_parallel_wrong_answers_never_count_past_the_limit,
    malformed_codes_get_400_and_do_not_count,
    one_address_guessing_codes_across_accounts_is_throttled,
    suspension_and_an_email_change_end_live_codes_and_grants,
    a_password_set_elsewhere_ends_other_transactions_reset_grants,
    four_transactions_of_five_wrong_codes_back_off_with_one_notice,
    answering_code_one_while_code_two_is_issued_lets_exactly_one_win,
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

const NEW_PASSWORD: &str = "a wholly new passphrase for the garden";

/// The answer as a client sees it, with the `Retry-After` it carried.
async fn answer_raw(app: &TestApp, flow: &Flow, passcode: &str) -> (u16, Option<i64>, Value) {
    let response = app
        .http
        .post(format!("{}/idp/idx/challenge/answer", app.base))
        .header("Content-Type", "application/ion+json; okta-version=1.0.0")
        .json(&json!({"stateHandle": flow.state_handle, "credentials": {"passcode": passcode}}))
        .send()
        .await
        .expect("answer");
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    (status, retry_after, response.json().await.expect("json"))
}

async fn user_id(app: &TestApp, login: &str) -> String {
    app.create_user(login).await["id"].as_str().expect("id").to_owned()
}

/// OTP-5: suspending an account (even when it is unsuspended at once) ends its live code and a
/// reset grant already given; changing its email ends the code mailed to the old address.
async fn suspension_and_an_email_change_end_live_codes_and_grants(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| s.recovery.mail_min_gap_secs = 0).await;
    let lifecycle = |id: &str, action: &str| format!("/api/v1/users/{id}/lifecycle/{action}");

    // A live code, then suspend and unsuspend.
    let id = user_id(&app, "suspended-code@example.com").await;
    let (flow, _) = app.start_recovery("suspended-code@example.com", "s").await;
    let code = app.code_from_mail("suspended-code@example.com", 1).await;
    assert_eq!(app.admin_post(&lifecycle(&id, "suspend"), json!({})).await.status(), 200);
    assert_eq!(app.admin_post(&lifecycle(&id, "unsuspend"), json!({})).await.status(), 200);
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(status, 401, "the code died with the suspension: {body}");
    assert_ne!(remediation_names(&body), ["reset-authenticator"]);

    // A reset grant, then suspend and unsuspend: the password cannot be set from it.
    let id = user_id(&app, "suspended-grant@example.com").await;
    let (flow, _) = app.start_recovery("suspended-grant@example.com", "s").await;
    let code = app.code_from_mail("suspended-grant@example.com", 1).await;
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!((status, remediation_names(&body)), (200, vec!["reset-authenticator".to_owned()]), "{body}");
    assert_eq!(app.admin_post(&lifecycle(&id, "suspend"), json!({})).await.status(), 200);
    assert_eq!(app.admin_post(&lifecycle(&id, "unsuspend"), json!({})).await.status(), 200);
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": NEW_PASSWORD}})).await;
    assert_ne!(status, 200, "the grant died with the suspension: {body}");
    assert_eq!(app.sign_in("suspended-grant@example.com", NEW_PASSWORD).await.0, 401);
    assert_eq!(app.sign_in("suspended-grant@example.com", PASSWORD).await.0, 200, "the password is unchanged");

    // A live code, then the address changes: the code mailed to the old address is dead, and
    // a new recovery mails only the new address.
    let id = user_id(&app, "moving@example.com").await;
    let (flow, _) = app.start_recovery("moving@example.com", "s").await;
    let code = app.code_from_mail("moving@example.com", 1).await;
    let response = app.admin_post(&format!("/api/v1/users/{id}"), json!({"profile": {"email": "moved@example.com"}})).await;
    assert_eq!(response.status(), 200);
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(status, 401, "the code mailed to the old address died with the change: {body}");
    app.start_recovery("moving@example.com", "s").await;
    app.wait_for_mail("moved@example.com", 1).await;
    app.drain_outbox().await;
    assert_eq!(app.sink.messages_to("moving@example.com").len(), 1, "nothing more to the old address");
}

/// OTP-5: two transactions of one account both reach the reset step; a password set in one
/// (or by an administrator) ends the other's grant.
async fn a_password_set_elsewhere_ends_other_transactions_reset_grants(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| s.recovery.mail_min_gap_secs = 0).await;
    let verified = |login: &'static str, n: usize| {
        let app = &app;
        async move {
            let (flow, _) = app.start_recovery(login, "s").await;
            let code = app.code_from_mail(login, n).await;
            let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
            assert_eq!((status, remediation_names(&body)), (200, vec!["reset-authenticator".to_owned()]), "{body}");
            flow
        }
    };
    app.create_user("two-grants@example.com").await;
    let first = verified("two-grants@example.com", 1).await;
    let second = verified("two-grants@example.com", 2).await;
    let (status, body) = app.step(&second, "challenge/answer", json!({"credentials": {"passcode": NEW_PASSWORD}})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        app.step(&first, "challenge/answer", json!({"credentials": {"passcode": "the first transaction's own choice"}})).await;
    assert_ne!(status, 200, "the other transaction's grant ended with the password change: {body}");
    assert_eq!(app.sign_in("two-grants@example.com", NEW_PASSWORD).await.0, 200);
    assert_eq!(app.sign_in("two-grants@example.com", "the first transaction's own choice").await.0, 401);

    let id = user_id(&app, "admin-overtakes@example.com").await;
    let granted = verified("admin-overtakes@example.com", 1).await;
    let response = app
        .admin_post(
            &format!("/api/v1/users/{id}"),
            json!({"profile": {}, "credentials": {"password": {"value": "an administrator chose this passphrase"}}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let (status, body) = app.step(&granted, "challenge/answer", json!({"credentials": {"passcode": NEW_PASSWORD}})).await;
    assert_ne!(status, 200, "an administrator's password ends the grant: {body}");
    assert_eq!(app.sign_in("admin-overtakes@example.com", "an administrator chose this passphrase").await.0, 200);
}

/// OTP-8 over HTTP: four transactions of five wrong codes each (20 failures on one identifier)
/// start the back-off: the next answer, even the right code, gets 429 with Retry-After of 15
/// minutes; after it a failure doubles it; exactly one notice is mailed. An unknown identifier
/// answers the same sequence.
async fn four_transactions_of_five_wrong_codes_back_off_with_one_notice(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| {
        s.recovery.mail_min_gap_secs = 0;
        s.recovery.mail_per_hour = 20;
        s.recovery.mail_per_day = 50;
    })
    .await;
    app.create_user("guessed@example.com").await;
    let app = &app;
    for login in ["guessed@example.com", "never-registered@example.com"] {
        let real = login.starts_with("guessed");
        // The newest code, once `n` emails reached the real account (an unknown one gets none).
        let code_after = |n: usize| async move {
            if real {
                app.code_from_mail(login, n).await
            } else {
                "000000".to_owned()
            }
        };
        let mut seen = Vec::new();
        for t in 0..4 {
            let (flow, _) = app.start_recovery(login, "s").await;
            let code = code_after(t + 1).await;
            for _ in 0..5 {
                let (status, retry, _) = answer_raw(app, &flow, &wrong_code(&code)).await;
                seen.push((status, retry.is_some()));
            }
        }
        assert_eq!(seen, vec![(401, false); 20], "{login}: twenty counted failures");
        // Four codes and the notice, then a fifth code.
        let (flow, _) = app.start_recovery(login, "s").await;
        let code = code_after(6).await;
        let (status, retry, body) = answer_raw(app, &flow, &code).await;
        assert_eq!(status, 429, "{login}: backing off, the right code is not evaluated: {body}");
        let retry = retry.expect("Retry-After");
        assert!((840..=900).contains(&retry), "{login}: 15 minutes, got {retry}");
        // After the back-off, one more failure doubles it.
        app.advance_clock(std::time::Duration::from_secs(901)).await;
        let (flow, _) = app.start_recovery(login, "s").await;
        let code = code_after(7).await;
        let (status, _, _) = answer_raw(app, &flow, &wrong_code(&code)).await;
        assert_eq!(status, 401);
        let (status, retry, _) = answer_raw(app, &flow, &code).await;
        assert_eq!(status, 429);
        let retry = retry.expect("Retry-After");
        assert!((1740..=1800).contains(&retry), "{login}: doubled to 30 minutes, got {retry}");
    }
    app.drain_outbox().await;
    let mut notices: Vec<String> = app
        .state
        .store
        .outbox_messages(None, 100)
        .await
        .expect("outbox")
        .into_iter()
        .filter(|m| m.kind == "AccountLockout")
        .map(|m| format!("{:?}", m.status))
        .collect();
    notices.sort();
    assert_eq!(notices, ["Sent", "Suppressed"], "one notice for the real account, one suppressed decoy for the unknown identifier");
    let subjects: Vec<String> = app.sink.messages_to("guessed@example.com").into_iter().filter_map(|m| m.subject).collect();
    assert_eq!(subjects.len(), 7, "six codes and one notice: {subjects:?}");
}

/// §3 row 5: code #1 answered while code #2 is being issued. Either the answer wins (the
/// transaction is at the reset step and no second code is mailed) or the resend wins (code #1
/// is refused, code #2 works); never both, and never neither.
async fn answering_code_one_while_code_two_is_issued_lets_exactly_one_win(backend: latchkey_store::testing::Backend) {
    let app = Arc::new(spawn_app_with(backend, |s| s.recovery.mail_min_gap_secs = 0).await);
    for round in 0..40 {
        let login = format!("raced{round}@example.com");
        app.create_user(&login).await;
        let (flow, _) = app.start_recovery(&login, "s").await;
        let first = app.code_from_mail(&login, 1).await;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let answer = {
            let (app, flow, barrier, first) = (app.clone(), flow.clone(), barrier.clone(), first.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": first}})).await
            })
        };
        let resend = {
            let (app, flow, barrier) = (app.clone(), flow.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                app.step(&flow, "challenge/resend", json!({})).await
            })
        };
        let (answered, answer_body) = answer.await.expect("join");
        let (resent, resend_body) = resend.await.expect("join");
        assert!(
            (answered == 200) != (resent == 200),
            "round {round}: exactly one wins: answer {answered} {answer_body}, resend {resent} {resend_body}"
        );
        app.assert_store_invariants().await;
        if answered == 200 {
            assert_eq!(remediation_names(&answer_body), ["reset-authenticator"]);
            app.drain_outbox().await;
            assert_eq!(app.sink.messages_to(&login).len(), 1, "round {round}: no second code after the answer won");
            let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": NEW_PASSWORD}})).await;
            assert_eq!(status, 200, "{body}");
        } else {
            assert_eq!(answered, 401, "round {round}: {answer_body}");
            let second = app.code_from_mail(&login, 2).await;
            let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": second}})).await;
            assert_eq!((status, remediation_names(&body)), (200, vec!["reset-authenticator".to_owned()]), "round {round}: {body}");
        }
    }
}
