//! Security-checklist §3.3, §3.4 and §3.6 with the requests spread over the processes: the
//! account-wide code cap, one reset grant spent once, and a reset racing the old credential.
//! Each race opens its requests behind a barrier; the database is read afterwards.
use std::sync::Arc;

use serde_json::json;
use sqlx::PgConnection;

use crate::client::{interaction_code, remediation_names, Flow, Reply, NEW_PASSWORD, PASSWORD};
use crate::harness::{Cluster, PROCESSES};
use crate::{code_from_mail, recover_by_email, SERIAL};

fn jwt_claims(token: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT payload");
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("claims")
}

fn statuses(replies: &[Reply]) -> Vec<u16> {
    replies.iter().map(|r| r.status).collect()
}

fn wrong_code(code: &str) -> String {
    let first = code.chars().next().and_then(|c| c.to_digit(10)).unwrap_or(0);
    format!("{}{}", (first + 1) % 10, &code[1..])
}

async fn otp_failures(db: &mut PgConnection, subject_key: &str) -> i64 {
    sqlx::query_scalar("SELECT otp_failures FROM subject_counters WHERE subject_key = $1")
        .bind(subject_key)
        .fetch_optional(db)
        .await
        .expect("read a counter")
        .unwrap_or(0)
}

/// A new transaction brought to `reset-authenticator` with the code mailed as the `mail`-th
/// message to `login`.
pub async fn reset_grant(cluster: &Cluster, login: &str, mail: usize) -> Flow {
    let flow = cluster.begin("openid", "grant").await;
    let replies = recover_by_email(cluster, &flow, login).await.expect("recovery start");
    assert_eq!(replies.last().expect("challenge").status, 200);
    let code = code_from_mail(cluster, login, mail).await;
    let answer = cluster.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(answer.status, 200, "the code: {}", answer.body);
    assert_eq!(remediation_names(&answer.body), ["reset-authenticator"]);
    flow
}

/// A sign-in and its exchange with `scope`: the token response, or the refused sign-in.
pub async fn sign_in_tokens(cluster: &Cluster, login: &str, password: &str, scope: &str) -> Reply {
    let signed_in = cluster.sign_in(login, password, scope).await;
    if signed_in.status != 200 {
        return signed_in;
    }
    cluster.exchange(&interaction_code(&signed_in.body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn password_races_across_processes_hold() {
    let _turn = SERIAL.lock().await;
    // Ten guesses per code (the most allowed), so two codes reach the account-wide back-off
    // threshold of 20; eight codes for one address within the hour.
    let cluster = Arc::new(
        Cluster::start(&[
            ("LATCHKEY_OTP__MAX_ATTEMPTS", "10"),
            ("LATCHKEY_RECOVERY__MAIL_MIN_GAP_SECS", "0"),
            ("LATCHKEY_RECOVERY__MAIL_PER_HOUR", "20"),
            ("LATCHKEY_RECOVERY__MAIL_PER_DAY", "20"),
            // §3.6's 30 sign-ins for one identifier at once are counted before they are verified:
            // room for all of them, so every one races the reset instead of being throttled.
            ("LATCHKEY_SIGNIN__FREE_FAILURES", "40"),
        ])
        .await,
    );
    let mut db = cluster.db().await;
    four_transactions_of_wrong_codes_count_twenty_in_total(&cluster, &mut db).await;
    one_reset_grant_sets_one_password(&cluster, &mut db).await;
    a_reset_ends_what_the_old_password_started_during_it(&cluster, &mut db).await;
}

/// 100 wrong codes at once for one account: 25 at each of `flows`, spread over the processes.
async fn wrong_codes_at_once(cluster: &Arc<Cluster>, flows: &[(Flow, String)]) -> Vec<Reply> {
    let guesses: Vec<(Flow, String)> = flows.iter().flat_map(|(flow, guess)| (0..25).map(|_| (flow.clone(), guess.clone()))).collect();
    let barrier = Arc::new(tokio::sync::Barrier::new(guesses.len()));
    let calls = guesses.into_iter().map(|(flow, guess)| {
        let (cluster, barrier) = (cluster.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            cluster.step(&flow, "challenge/answer", json!({"credentials": {"passcode": guess}})).await
        })
    });
    let replies: Vec<Reply> = futures::future::join_all(calls).await.into_iter().map(|r| r.expect("join")).collect();
    let processes: std::collections::BTreeSet<_> = replies.iter().map(|r| r.served_by.as_str()).collect();
    assert_eq!(processes.len(), PROCESSES, "{processes:?}");
    assert!(replies.iter().all(|r| r.status == 401 || r.status == 429), "{:?}", statuses(&replies));
    replies
}

/// §3.3: 4 transactions × 25 wrong codes at once for one account, over the processes → at most
/// `otp.account_backoff_after` = 20 evaluated in total (then 429), and every evaluation counted
/// once on the identifier, on the account and on its code. A new challenge supersedes the
/// account's earlier code, so only the newest transaction's code is live in a burst (answers to
/// the others are refused uncounted: nothing is left to guess there); the bursts repeat with
/// fresh transactions until the account backs off, and one more burst must be all 429.
async fn four_transactions_of_wrong_codes_count_twenty_in_total(cluster: &Arc<Cluster>, db: &mut PgConnection) {
    let login = "capped@example.com";
    let user = cluster.create_user(login).await;
    let user_id = user["id"].as_str().expect("user id").to_owned();
    let (mut refused, mut throttled) = (0, 0);
    let mut flows = Vec::new();
    for burst in 0..2 {
        flows.clear();
        for i in 0..4 {
            let flow = cluster.begin("openid", "cap").await;
            let replies = recover_by_email(cluster, &flow, login).await.expect("recovery start");
            assert_eq!(replies.last().expect("challenge").status, 200);
            // Each code is read only once it arrived, so the newest mail is this one's.
            let code = code_from_mail(cluster, login, burst * 4 + i + 1).await;
            flows.push((flow, wrong_code(&code)));
        }
        let replies = wrong_codes_at_once(cluster, &flows).await;
        refused += replies.iter().filter(|r| r.status == 401).count();
        throttled += replies.iter().filter(|r| r.status == 429).count();
    }
    let last = wrong_codes_at_once(cluster, &flows).await;
    assert!(last.iter().all(|r| r.status == 429), "after the back-off: {:?}", statuses(&last));
    // Every evaluated guess is one attempt on its code: the codes' sum is the evaluated count.
    let evaluated: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(attempts), 0)::BIGINT FROM recovery_codes WHERE user_id = $1")
        .bind(&user_id)
        .fetch_one(&mut *db)
        .await
        .expect("sum the attempts");
    let identifier = otp_failures(db, &format!("identifier:{login}")).await;
    let account = otp_failures(db, &format!("user:{user_id}")).await;
    println!(
        "§3.3: 300 wrong codes in 3 bursts of 4 transactions × 25: {refused} answered 401, {} answered 429; {evaluated} \
         evaluated, counted {identifier} on the identifier and {account} on the account",
        throttled + last.len()
    );
    assert!(evaluated <= 20, "{evaluated} wrong codes evaluated past the account-wide back-off");
    assert_eq!(evaluated, 20, "two bursts at codes of ten guesses reach the threshold");
    assert_eq!((identifier, account), (evaluated, evaluated), "every evaluated guess counted once on the identifier and the account");
    assert!(i64::try_from(refused).expect("a count") >= evaluated, "every evaluated guess answered 401");
}

/// §3.4: one reset grant, two new passwords sent at once to two processes → one 200, one
/// stored password, one PasswordChanged notice. Three rounds, each on a fresh account.
async fn one_reset_grant_sets_one_password(cluster: &Arc<Cluster>, db: &mut PgConnection) {
    for round in 0..3 {
        let login = format!("twice{round}@example.com");
        cluster.create_user(&login).await;
        let flow = reset_grant(cluster, &login, 1).await;
        let passwords = [format!("first candidate passphrase {round}"), format!("second candidate passphrase {round}")];
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let calls = passwords.iter().enumerate().map(|(i, password)| {
            let (cluster, barrier, flow, password) = (cluster.clone(), barrier.clone(), flow.clone(), password.clone());
            tokio::spawn(async move {
                let base = cluster.direct_url((round + i) % PROCESSES);
                barrier.wait().await;
                cluster.step_at(&base, &flow, "challenge/answer", json!({"credentials": {"passcode": password}})).await
            })
        });
        let replies: Vec<Reply> = futures::future::join_all(calls).await.into_iter().map(|r| r.expect("join")).collect();
        let winners: Vec<usize> = (0..2).filter(|&i| replies[i].status == 200).collect();
        assert_eq!(winners.len(), 1, "round {round}: {:?}", statuses(&replies));
        let (winner, loser) = (winners[0], 1 - winners[0]);
        assert!((400..500).contains(&replies[loser].status), "round {round}: {}", replies[loser].body);
        let won = sign_in_tokens(cluster, &login, &passwords[winner], "openid").await;
        assert_eq!(won.status, 200, "round {round}: the winner's password: {}", won.body);
        let lost = cluster.sign_in(&login, &passwords[loser], "openid").await;
        assert_eq!(lost.status, 401, "round {round}: the loser's password: {}", lost.body);
        let old = cluster.sign_in(&login, PASSWORD, "openid").await;
        assert_eq!(old.status, 401, "round {round}: the old password: {}", old.body);
        cluster.drain_outbox().await;
        let notices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'PasswordChanged' AND recipient = $1")
            .bind(&login)
            .fetch_one(&mut *db)
            .await
            .expect("count notices");
        assert_eq!(notices, 1, "round {round}: one PasswordChanged notice");
        // The code and one notice: nothing else reached the sink.
        assert_eq!(cluster.sink.messages_to(&login).len(), 2, "round {round}: the code and one notice were delivered");
    }
}

/// §3.6: 30 old-password sign-ins (each exchanged for tokens) and 20 refreshes of an earlier
/// refresh token race the reset's commit. Afterwards every refresh token that existed or was
/// issued during the race is refused, and so is the old password.
async fn a_reset_ends_what_the_old_password_started_during_it(cluster: &Arc<Cluster>, db: &mut PgConnection) {
    let login = "raced@example.com";
    let user = cluster.create_user(login).await;
    let user_id = user["id"].as_str().expect("user id").to_owned();
    let earlier = sign_in_tokens(cluster, login, PASSWORD, "openid offline_access").await;
    assert_eq!(earlier.status, 200, "{}", earlier.body);
    let earlier = earlier.body["refresh_token"].as_str().expect("a refresh token").to_owned();
    let reset = reset_grant(cluster, login, 1).await;
    let mut sign_ins = Vec::new();
    for _ in 0..30 {
        sign_ins.push(cluster.begin("openid offline_access", "old").await);
    }

    let barrier = Arc::new(tokio::sync::Barrier::new(30 + 20 + 1));
    let mut calls = Vec::new();
    for flow in sign_ins {
        let (cluster, barrier) = (cluster.clone(), barrier.clone());
        calls.push(tokio::spawn(async move {
            barrier.wait().await;
            let signed_in = cluster.step(&flow, "identify", json!({"identifier": login, "credentials": {"passcode": PASSWORD}})).await;
            if signed_in.status != 200 {
                return ("sign-in", signed_in);
            }
            ("exchange", cluster.exchange(&interaction_code(&signed_in.body)).await)
        }));
    }
    for _ in 0..20 {
        let (cluster, barrier, token) = (cluster.clone(), barrier.clone(), earlier.clone());
        calls.push(tokio::spawn(async move {
            barrier.wait().await;
            ("refresh", cluster.refresh(&token).await)
        }));
    }
    let setter = {
        let (cluster, barrier) = (cluster.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            // Into the middle of the burst rather than ahead of it.
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            cluster.step(&reset, "challenge/answer", json!({"credentials": {"passcode": NEW_PASSWORD}})).await
        })
    };
    let replies: Vec<(&str, Reply)> = futures::future::join_all(calls).await.into_iter().map(|r| r.expect("join")).collect();
    let set = setter.await.expect("join");
    assert_eq!(set.status, 200, "the reset: {}", set.body);

    let mut issued = vec![earlier.clone()];
    issued.extend(replies.iter().filter_map(|(_, r)| r.body["refresh_token"].as_str().map(str::to_owned)));
    let count = |kind: &str, status: u16| replies.iter().filter(|(k, r)| *k == kind && r.status == status).count();
    println!(
        "§3.6: old-password sign-ins refused {}, exchanged {} (refused {}); refreshes rotated {} (refused {}); \
         {} refresh tokens tried afterwards",
        count("sign-in", 401) + count("sign-in", 429),
        count("exchange", 200),
        count("exchange", 400),
        count("refresh", 200),
        count("refresh", 400),
        issued.len(),
    );
    for (kind, reply) in &replies {
        assert!([200, 400, 401].contains(&reply.status), "{kind}: {} {}", reply.status, reply.body["messages"]);
    }
    for token in &issued {
        let again = cluster.refresh(token).await;
        assert_eq!(
            (again.status, again.body["error"].as_str()),
            (400, Some("invalid_grant")),
            "a refresh token of the old credential survived the reset"
        );
    }
    let old = cluster.sign_in(login, PASSWORD, "openid").await;
    assert_eq!(old.status, 401, "the old password after the reset: {}", old.body);
    let changed_at: i64 = sqlx::query_scalar("SELECT password_changed_at FROM users WHERE id = $1")
        .bind(&user_id)
        .fetch_one(&mut *db)
        .await
        .expect("the account row");
    // Sessions end row by row. A refresh token stored by an exchange that committed after the
    // reset is refused at use (its sign-in predates the change), which the loop above proved.
    let live: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND ended_at IS NULL AND auth_time < $2")
        .bind(&user_id)
        .bind(changed_at)
        .fetch_one(&mut *db)
        .await
        .expect("count what the old credential started");
    assert_eq!(live, 0, "sessions older than the password change still live");
    // Access tokens are JWTs: every one issued during the race for an old sign-in is refused
    // from the change on, whenever it was minted (second precision, as the bearer check).
    for (_, reply) in replies.iter().filter(|(kind, r)| *kind == "exchange" && r.status == 200) {
        let token = reply.body["access_token"].as_str().expect("an access token");
        let claims = jwt_claims(token);
        if claims["auth_time"].as_i64().expect("auth_time") < changed_at / 1000 {
            let userinfo =
                cluster.http.get(format!("{}/oauth2/default/v1/userinfo", cluster.url)).bearer_auth(token).send().await.expect("userinfo");
            assert_eq!(userinfo.status(), 401, "an access token of a sign-in before the reset: {claims}");
        }
    }
    let new = sign_in_tokens(cluster, login, NEW_PASSWORD, "openid").await;
    assert_eq!(new.status, 200, "the new password: {}", new.body);
}
