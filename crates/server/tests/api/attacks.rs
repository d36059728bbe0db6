//! Attack sequences found against the recovery flow, each kept as a regression test
//! (issue: "an account takeover in recovery and ten more findings").
//!
//! Every step of these sequences is individually legal; the bugs lived between steps. The
//! invariant they pin: a code opens the reset step only for the account it was mailed to, in
//! the transaction and at the step it was issued for.
use serde_json::{json, Value};

use crate::both_backends;
use crate::helpers::{email_authenticator_id, remediation_names, spawn_app_with, Flow, TestApp, PASSWORD};

both_backends!(
    answering_with_ones_own_code_after_re_identifying_as_the_victim_is_refused,
    cancel_ends_the_codes_of_the_transaction,
    a_code_from_one_transaction_is_refused_in_another,
    re_identifying_without_cancel_is_refused_and_codes_stay_bound,
    forged_host_headers_never_change_the_emailed_links,
    look_alike_identifiers_never_select_or_mail_another_account,
);

const NEW_PASSWORD: &str = "an entirely different passphrase 42";

/// recover → identify `who` → choose Email, on an existing transaction.
async fn recover_as(app: &TestApp, flow: &Flow, who: &str) -> Value {
    let (status, body) = app.step(flow, "recover", json!({})).await;
    assert_eq!(status, 200, "recover: {body}");
    let (status, body) = app.step(flow, "identify", json!({"identifier": who})).await;
    assert_eq!(status, 200, "identify: {body}");
    let (status, body) = app.step(flow, "challenge", json!({"authenticator": {"id": email_authenticator_id(&body)}})).await;
    assert_eq!(status, 200, "challenge: {body}");
    body
}

async fn answer(app: &TestApp, flow: &Flow, code: &str) -> (u16, Value) {
    app.step(flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await
}

/// The victim's password must still be the original one, and the attacker's guess must not work.
async fn assert_victim_untouched(app: &TestApp, victim: &str) {
    let (status, body) = app.sign_in(victim, PASSWORD).await;
    assert_eq!(status, 200, "the victim still signs in with the original password: {body}");
    let (status, _) = app.sign_in(victim, NEW_PASSWORD).await;
    assert_eq!(status, 401, "the attacker's password does not open the victim's account");
    app.assert_store_invariants().await;
}

/// Finding 1 (critical). In one transaction: the attacker identifies as themself and receives a
/// code, cancels, identifies as the victim; the victim's code row in that transaction is then
/// superseded by a second recovery of the victim; the attacker answers with their own code.
/// Before the fix this reached `reset-authenticator` for the victim.
async fn answering_with_ones_own_code_after_re_identifying_as_the_victim_is_refused(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| s.recovery.mail_min_gap_secs = 0).await;
    app.create_user("attacker@example.com").await;
    app.create_user("victim@example.com").await;

    let flow = app.interact("takeover").await;
    recover_as(&app, &flow, "attacker@example.com").await;
    let own_code = app.code_from_mail("attacker@example.com", 1).await;
    let (status, _) = app.step(&flow, "cancel", json!({})).await;
    assert_eq!(status, 200);
    recover_as(&app, &flow, "victim@example.com").await;
    app.wait_for_mail("victim@example.com", 1).await;
    // A second recovery of the victim elsewhere supersedes the victim's code in `flow`.
    app.start_recovery("victim@example.com", "elsewhere").await;
    app.wait_for_mail("victim@example.com", 2).await;

    let (status, body) = answer(&app, &flow, &own_code).await;
    assert_ne!(remediation_names(&body), ["reset-authenticator"], "the attacker's code opened the victim's reset: {body}");
    assert_eq!(status, 401, "{body}");
    // Whatever the attacker sends next, the victim's password cannot be set from this transaction.
    let (status, body) = answer(&app, &flow, NEW_PASSWORD).await;
    assert_ne!(status, 200, "{body}");
    assert_victim_untouched(&app, "victim@example.com").await;
}

/// Cancel keeps the transaction (the app's state and PKCE stay valid) but ends its codes: a
/// code issued before cancel answers nothing after it, even for the same account.
async fn cancel_ends_the_codes_of_the_transaction(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| s.recovery.mail_min_gap_secs = 0).await;
    app.create_user("canceller@example.com").await;
    let flow = app.interact("cancel").await;
    recover_as(&app, &flow, "canceller@example.com").await;
    let first = app.code_from_mail("canceller@example.com", 1).await;
    let (status, _) = app.step(&flow, "cancel", json!({})).await;
    assert_eq!(status, 200);
    // Back at the challenge for the same account: only the newly mailed code counts.
    recover_as(&app, &flow, "canceller@example.com").await;
    let second = app.code_from_mail("canceller@example.com", 2).await;
    if first != second {
        let (status, body) = answer(&app, &flow, &first).await;
        assert_eq!(status, 401, "a code from before cancel is dead: {body}");
    }
    let (status, body) = answer(&app, &flow, &second).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(remediation_names(&body), ["reset-authenticator"]);
}

/// OTP-6: a code is bound to the transaction that asked for it. The attacker's own live code,
/// answered in a transaction about the victim, is a wrong code.
async fn a_code_from_one_transaction_is_refused_in_another(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| s.recovery.mail_min_gap_secs = 0).await;
    app.create_user("mallory@example.com").await;
    app.create_user("alice@example.com").await;
    let (mine, _) = app.start_recovery("mallory@example.com", "mine").await;
    let own_code = app.code_from_mail("mallory@example.com", 1).await;
    let (theirs, _) = app.start_recovery("alice@example.com", "theirs").await;
    app.wait_for_mail("alice@example.com", 1).await;
    let (status, body) = answer(&app, &theirs, &own_code).await;
    assert_eq!(status, 401, "{body}");
    assert_victim_untouched(&app, "alice@example.com").await;
    // The code still works where it belongs (a failed use elsewhere did not spend it).
    let (status, body) = answer(&app, &mine, &own_code).await;
    assert_eq!(status, 200, "{body}");
}

/// Identify is only offered at the identify steps: a client cannot swap the subject of a
/// challenge by posting identify again without cancel.
async fn re_identifying_without_cancel_is_refused_and_codes_stay_bound(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| s.recovery.mail_min_gap_secs = 0).await;
    app.create_user("first@example.com").await;
    app.create_user("second@example.com").await;
    let flow = app.interact("swap").await;
    recover_as(&app, &flow, "first@example.com").await;
    let code = app.code_from_mail("first@example.com", 1).await;
    let (status, body) = app.step(&flow, "identify", json!({"identifier": "second@example.com"})).await;
    assert_eq!(status, 400, "identify at the challenge step is stale: {body}");
    let (status, body) = answer(&app, &flow, &code).await;
    assert_eq!(status, 200, "{body}");
    // The grant is for the account the code was mailed to.
    let (status, body) = app.step(&flow, "challenge/answer", json!({"credentials": {"passcode": NEW_PASSWORD}})).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app.sign_in("first@example.com", NEW_PASSWORD).await;
    assert_eq!(status, 200);
    assert_victim_untouched(&app, "second@example.com").await;
}

/// REC-5: the emailed links come from configuration, never from `Host` or `X-Forwarded-Host`.
async fn forged_host_headers_never_change_the_emailed_links(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    app.create_user("hosted@example.com").await;
    let flow = app.interact("forged-host").await;
    let forged = |path: &str, body: Value| {
        let mut body = body;
        body["stateHandle"] = Value::String(flow.state_handle.clone());
        app.http
            .post(format!("{}/idp/idx/{path}", app.base))
            .header("Host", "evil.test")
            .header("X-Forwarded-Host", "evil.test")
            .header("X-Forwarded-Proto", "https")
            .header("Forwarded", "host=evil.test;proto=https")
            .json(&body)
            .send()
    };
    forged("recover", json!({})).await.expect("recover");
    let body: Value = forged("identify", json!({"identifier": "hosted@example.com"})).await.expect("identify").json().await.expect("json");
    let response = forged("challenge", json!({"authenticator": {"id": email_authenticator_id(&body)}})).await.expect("challenge");
    assert_eq!(response.status(), 200);
    let mails = app.wait_for_mail("hosted@example.com", 1).await;
    for part in [mails[0].text.as_deref().unwrap_or_default(), mails[0].html.as_deref().unwrap_or_default()] {
        assert!(!part.contains("evil.test"), "a forged host reached the email: {part}");
    }
    let text = mails[0].text.as_deref().unwrap_or_default();
    let public_url = app.state.public_url.clone();
    assert!(text.contains(&format!("{public_url}/signin/reset-password?")), "the link is the configured one: {text}");
}

/// REC-4: a look-alike of the victim's address (dotless `ı`, a homoglyph or punycode domain)
/// selects only an account registered under exactly that form, or none; forms that fold to the
/// victim's canonical one (fullwidth, case) select the victim, and the mail goes to the stored
/// address, never to the typed string.
async fn look_alike_identifiers_never_select_or_mail_another_account(backend: latchkey_store::testing::Backend) {
    let app = spawn_app_with(backend, |s| s.recovery.mail_min_gap_secs = 0).await;
    let victim = "victim@example.com";
    let dotless = "v\u{131}ctim@example.com";
    app.create_user(victim).await;
    app.create_user(dotless).await;

    // The look-alike account is an account of its own: its code opens only it.
    let (flow, _) = app.start_recovery(dotless, "lookalike").await;
    let code = app.code_from_mail(dotless, 1).await;
    let (status, body) = answer(&app, &flow, &code).await;
    assert_eq!((status, remediation_names(&body)), (200, vec!["reset-authenticator".to_owned()]), "{body}");
    let (status, body) = answer(&app, &flow, NEW_PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(app.sign_in(dotless, NEW_PASSWORD).await.0, 200);
    assert_victim_untouched(&app, victim).await;

    // Unregistered look-alikes select nothing: no code opens anything, nobody is mailed.
    for lookalike in
        ["victim@ex\u{430}mple.com", "victim@xn--exmple-cua.com", "v\u{131}ctim@xn--exmple-cua.com", "victim@example.com.evil.test"]
    {
        let (flow, _) = app.start_recovery(lookalike, "lookalike").await;
        for code in ["000000", "123456"] {
            assert_eq!(answer(&app, &flow, code).await.0, 401, "{lookalike}");
        }
    }
    // Variants of the victim's own canonical form select the victim, mailed at the stored address.
    let fullwidth = "\u{ff56}\u{ff49}\u{ff43}\u{ff54}\u{ff49}\u{ff4d}@\u{ff45}\u{ff58}\u{ff41}\u{ff4d}\u{ff50}\u{ff4c}\u{ff45}.com";
    for (n, variant) in [fullwidth, "VICTIM@Example.COM"].into_iter().enumerate() {
        app.start_recovery(variant, "variant").await;
        app.wait_for_mail(victim, n + 1).await;
    }
    app.drain_outbox().await;
    let mut recipients: Vec<String> = app.sink.messages().into_iter().flat_map(|m| m.rcpt_to).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients, [victim.to_owned(), dotless.to_owned()], "only stored addresses are ever mailed");
    assert_eq!(app.sink.messages_to(victim).len(), 2, "the two variants' codes, nothing from the look-alikes");
    assert_eq!(app.sink.messages_to(dotless).len(), 2, "its own code and its PasswordChanged notice");
}
