//! The races of security-checklist §3 with the requests spread over three processes
//! (§3.9): every limit holds in total, not per process. Each race opens its requests behind a
//! barrier, and the database is read afterwards.
use std::sync::Arc;

use serde_json::{json, Value};
use sqlx::PgConnection;

use crate::client::{interaction_code, remediation_names, Flow, Reply, PASSWORD};
use crate::harness::{db_now, Cluster};
use crate::{code_from_mail, recover_by_email, SERIAL};

/// `n` copies of one IDX step at once; the statuses and which processes answered.
async fn at_once(cluster: &Arc<Cluster>, n: usize, flow: &Flow, path: &'static str, body: Value) -> Vec<Reply> {
    let barrier = Arc::new(tokio::sync::Barrier::new(n));
    let calls = (0..n).map(|_| {
        let (cluster, flow, body, barrier) = (cluster.clone(), flow.clone(), body.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            cluster.step(&flow, path, body).await
        })
    });
    futures::future::join_all(calls).await.into_iter().map(|r| r.expect("join")).collect()
}

fn statuses(replies: &[Reply]) -> Vec<u16> {
    replies.iter().map(|r| r.status).collect()
}

/// Every process took part, or the race proved nothing about processes.
fn assert_spread(replies: &[Reply]) {
    let processes: std::collections::BTreeSet<_> = replies.iter().map(|r| r.served_by.as_str()).collect();
    assert_eq!(processes.len(), crate::harness::PROCESSES, "{processes:?}");
}

fn wrong_code(code: &str) -> String {
    let first = code.chars().next().and_then(|c| c.to_digit(10)).unwrap_or(0);
    format!("{}{}", (first + 1) % 10, &code[1..])
}

/// The transaction's row id, found by the digest of its interaction handle.
async fn interaction_id(db: &mut PgConnection, flow: &Flow) -> String {
    sqlx::query_scalar("SELECT id FROM interactions WHERE handle_digest = $1")
        .bind(latchkey_domain::secret::sha256_hex(&flow.interaction_handle))
        .fetch_one(db)
        .await
        .expect("the interaction row")
}

/// A user with a recovery started and its first code read from the sink.
async fn recovery_with_code(cluster: &Cluster, login: &str) -> (Flow, String) {
    cluster.create_user(login).await;
    let flow = cluster.begin("openid", "race").await;
    let replies = recover_by_email(cluster, &flow, login).await.expect("recovery start");
    let challenge = replies.last().expect("challenge");
    assert_eq!(challenge.status, 200, "challenge: {}", challenge.body);
    (flow, code_from_mail(cluster, login, 1).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn races_across_processes_hold() {
    let _turn = SERIAL.lock().await;
    // (c) needs resends without the 30 s gap between mails.
    let cluster = Arc::new(Cluster::start(&[("LATCHKEY_RECOVERY__MAIL_MIN_GAP_SECS", "0")]).await);
    let mut db = cluster.db().await;
    one_code_answered_fifty_times_opens_one_reset(&cluster, &mut db).await;
    hundred_wrong_answers_count_five(&cluster, &mut db).await;
    parallel_resends_leave_one_live_code(&cluster, &mut db).await;
    thirty_recoveries_of_one_identifier_stay_within_the_mail_budget(&cluster, &mut db).await;
    twenty_refreshes_of_one_token_rotate_once(&cluster, &mut db).await;
    the_sign_in_throttle_counts_every_process(&cluster).await;
}

/// (a), §3.1: 50 right answers to one code → exactly one reset step; one consumption.
async fn one_code_answered_fifty_times_opens_one_reset(cluster: &Arc<Cluster>, db: &mut PgConnection) {
    let (flow, code) = recovery_with_code(cluster, "fifty@example.com").await;
    let replies = at_once(cluster, 50, &flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_spread(&replies);
    let winners: Vec<&Reply> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", statuses(&replies));
    assert_eq!(remediation_names(&winners[0].body), ["reset-authenticator"]);
    assert!(replies.iter().all(|r| r.status == 200 || (400..500).contains(&r.status)), "{:?}", statuses(&replies));
    let id = interaction_id(db, &flow).await;
    let consumed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE interaction_id = $1 AND consumed_at IS NOT NULL")
        .bind(&id)
        .fetch_one(&mut *db)
        .await
        .expect("count consumed codes");
    assert_eq!(consumed, 1);
}

/// (b), §3.2: 100 wrong answers to one code → 5 counted on the code and on the identifier.
async fn hundred_wrong_answers_count_five(cluster: &Arc<Cluster>, db: &mut PgConnection) {
    let login = "hundred@example.com";
    let (flow, code) = recovery_with_code(cluster, login).await;
    let replies = at_once(cluster, 100, &flow, "challenge/answer", json!({"credentials": {"passcode": wrong_code(&code)}})).await;
    assert_spread(&replies);
    assert!(replies.iter().all(|r| r.status == 401), "{:?}", statuses(&replies));
    let id = interaction_id(db, &flow).await;
    let attempts: i64 = sqlx::query_scalar("SELECT COALESCE(SUM(attempts), 0)::BIGINT FROM recovery_codes WHERE interaction_id = $1")
        .bind(&id)
        .fetch_one(&mut *db)
        .await
        .expect("sum the attempts");
    assert_eq!(attempts, 5, "the code counted exactly five attempts");
    let failures: i64 = sqlx::query_scalar("SELECT otp_failures FROM subject_counters WHERE subject_key = $1")
        .bind(format!("identifier:{login}"))
        .fetch_one(&mut *db)
        .await
        .expect("the identifier's counter");
    assert_eq!(failures, 5, "the identifier counted exactly five failures");
    let right = cluster.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(right.status, 401, "the right code after the flood: {}", right.body);
}

/// (c), §3.5/3.7: parallel resends of one transaction → exactly one live code, and no more
/// mail than the identifier's hourly budget (`recovery.mail_per_hour` = 5).
async fn parallel_resends_leave_one_live_code(cluster: &Arc<Cluster>, db: &mut PgConnection) {
    let login = "resends@example.com";
    let (flow, _) = recovery_with_code(cluster, login).await;
    let replies = at_once(cluster, 20, &flow, "challenge/resend", json!({})).await;
    assert_spread(&replies);
    assert!(replies.iter().any(|r| r.status == 200), "{:?}", statuses(&replies));
    // A resend that lost the step's compare-and-set to another one is told to continue from
    // the current step; one refused by the mail limits gets 429. Neither issues a code.
    let lost_the_race = |r: &Reply| r.status == 400 && r.body["messages"]["value"][0]["i18n"]["key"] == "api.idx.step.unavailable";
    assert!(replies.iter().all(|r| r.status == 200 || r.status == 429 || lost_the_race(r)), "{:?}", statuses(&replies));
    let id = interaction_id(db, &flow).await;
    let user_id: String = sqlx::query_scalar("SELECT user_id FROM interactions WHERE id = $1")
        .bind(&id)
        .fetch_one(&mut *db)
        .await
        .expect("the transaction's account");
    let now = db_now(db).await;
    let live: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND consumed_at IS NULL AND superseded = 0 AND expires_at > $2",
    )
    .bind(&user_id)
    .bind(now)
    .fetch_one(&mut *db)
    .await
    .expect("count live codes");
    assert_eq!(live, 1, "exactly one live code for the account");
    cluster.drain_outbox().await;
    let mails = cluster.sink.messages_to(login).len();
    assert!((2..=5).contains(&mails), "the first mail, at least one resend, at most the hourly budget of 5: {mails}");
    // The live code is the newest one mailed, and it opens the reset.
    let code = code_from_mail(cluster, login, mails).await;
    let answer = cluster.step(&flow, "challenge/answer", json!({"credentials": {"passcode": code}})).await;
    assert_eq!(answer.status, 200, "the newest code: {}", answer.body);
}

/// §3.7: 30 transactions choose Email for one identifier at once → the mail budget
/// (`recovery.mail_per_hour` = 5) holds in total. Every challenge answers alike (a refused
/// first challenge gets a code row nobody knows, so its answers are evaluated the same way),
/// so the proof is in the database and the sink: one logged send per email, at most five.
async fn thirty_recoveries_of_one_identifier_stay_within_the_mail_budget(cluster: &Arc<Cluster>, db: &mut PgConnection) {
    let login = "thirty@example.com";
    cluster.create_user(login).await;
    let mut flows = Vec::new();
    for i in 0..30 {
        let flow = cluster.begin("openid", &format!("thirty-{i}")).await;
        assert_eq!(cluster.step(&flow, "recover", json!({})).await.status, 200);
        let identify = cluster.step(&flow, "identify", json!({"identifier": login})).await;
        assert_eq!(identify.status, 200, "{}", identify.body);
        let id = crate::client::email_authenticator_id(&identify.body).expect("the email authenticator");
        flows.push((flow, id));
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(flows.len()));
    let calls = flows.into_iter().map(|(flow, id)| {
        let (cluster, barrier) = (cluster.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            cluster.step(&flow, "challenge", json!({"authenticator": {"id": id}})).await
        })
    });
    let replies: Vec<Reply> = futures::future::join_all(calls).await.into_iter().map(|r| r.expect("join")).collect();
    assert_spread(&replies);
    assert!(replies.iter().all(|r| r.status == 200), "{:?}", statuses(&replies));
    cluster.drain_outbox().await;
    let mails = cluster.sink.messages_to(login).len();
    assert!((1..=5).contains(&mails), "at least one email, at most the hourly budget of 5: {mails}");
    let logged: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recovery_mail_log WHERE subject_key = $1")
        .bind(format!("identifier:{login}"))
        .fetch_one(&mut *db)
        .await
        .expect("count logged sends");
    assert_eq!(usize::try_from(logged).expect("a count"), mails, "one logged send per email");
}

/// (d), §3.8: 20 refreshes of one refresh token at once → exactly one new token.
async fn twenty_refreshes_of_one_token_rotate_once(cluster: &Arc<Cluster>, db: &mut PgConnection) {
    let login = "refresher@example.com";
    let user = cluster.create_user(login).await;
    let signed_in = cluster.sign_in(login, PASSWORD, "openid offline_access").await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    let tokens = cluster.exchange(&interaction_code(&signed_in.body)).await;
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let refresh_token = tokens.body["refresh_token"].as_str().expect("a refresh token with offline_access").to_owned();

    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let calls = (0..20).map(|_| {
        let (cluster, token, barrier) = (cluster.clone(), refresh_token.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            cluster.refresh(&token).await
        })
    });
    let replies: Vec<Reply> = futures::future::join_all(calls).await.into_iter().map(|r| r.expect("join")).collect();
    assert_spread(&replies);
    assert_eq!(replies.iter().filter(|r| r.status == 200).count(), 1, "{:?}", statuses(&replies));
    assert!(replies.iter().all(|r| r.status == 200 || r.body["error"] == "invalid_grant"), "{:?}", statuses(&replies));
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM refresh_tokens WHERE user_id = $1")
        .bind(user["id"].as_str().expect("user id"))
        .fetch_one(&mut *db)
        .await
        .expect("count refresh tokens");
    assert_eq!(rows, 2, "the original and exactly one successor");
    // Reusing the rotated token still revokes the family, whichever process sees it.
    let reuse = cluster.refresh(&refresh_token).await;
    assert_eq!((reuse.status, reuse.body["error"].as_str()), (400, Some("invalid_grant")));
    let winner = replies.iter().find(|r| r.status == 200).expect("the winner");
    let successor = cluster.refresh(winner.body["refresh_token"].as_str().expect("the successor")).await;
    assert_eq!((successor.status, successor.body["error"].as_str()), (400, Some("invalid_grant")), "the family is revoked");
}

/// (e): wrong passwords for one identifier, spread over the processes → the sixth (after
/// `signin.free_failures` = 5) is throttled, as on one process.
async fn the_sign_in_throttle_counts_every_process(cluster: &Arc<Cluster>) {
    let login = "throttled@example.com";
    cluster.create_user(login).await;
    // Transactions first, then the six identify steps back to back: round robin sends each
    // to the next process.
    let mut flows = Vec::new();
    for _ in 0..6 {
        flows.push(cluster.begin("openid", "throttle").await);
    }
    let mut replies = Vec::new();
    for flow in &flows {
        let body = json!({"identifier": login, "credentials": {"passcode": "definitely the wrong password"}});
        replies.push(cluster.step(flow, "identify", body).await);
    }
    assert_spread(&replies);
    assert_eq!(statuses(&replies), [401, 401, 401, 401, 401, 429]);
}

/// The sign-in throttle against a burst: 20 wrong passwords for one identifier at once, over
/// the processes, evaluate at most `signin.free_failures` = 5 of them. `Store::begin_sign_in`
/// counts each attempt under the counters' lock before the Argon2 verification (a success
/// clears it), so a burst cannot pass the gate between a check and a later count.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_wrong_passwords_is_throttled_in_total() {
    let _turn = SERIAL.lock().await;
    let cluster = Arc::new(Cluster::start(&[]).await);
    let login = "burst@example.com";
    cluster.create_user(login).await;
    let mut flows = Vec::new();
    for _ in 0..20 {
        flows.push(cluster.begin("openid", "burst").await);
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(flows.len()));
    let calls = flows.into_iter().map(|flow| {
        let (cluster, barrier) = (cluster.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            let body = json!({"identifier": login, "credentials": {"passcode": "definitely the wrong password"}});
            cluster.step(&flow, "identify", body).await
        })
    });
    let replies: Vec<Reply> = futures::future::join_all(calls).await.into_iter().map(|r| r.expect("join")).collect();
    assert_spread(&replies);
    let evaluated = replies.iter().filter(|r| r.status == 401).count();
    assert!(evaluated <= 5, "{evaluated} of 20 parallel wrong passwords were evaluated: {:?}", statuses(&replies));
}
