//! Security-checklist §3.10 at the scale of a deployment: a stream of recovery starts while a
//! process is killed with SIGKILL (no drain, no rollback hook, a send possibly half done) and
//! restarted on its port. Every challenge that answered 200 committed its email to the
//! outbox in the same transaction, so every one must reach the sink; a message may arrive
//! twice only as a redelivery (the same Message-ID) after its sender died.
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::client::{email_authenticator_id, retry_once, Reply};
use crate::harness::{epoch_ms, Cluster, PROCESSES};
use crate::SERIAL;

/// Concurrent clients in the stream.
const CLIENTS: usize = 4;
/// The stream goes on after the last restart until this many users were started.
const MIN_USERS: u64 = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The challenge answered 200: the email is committed.
    Committed,
    /// Some answer never came: the email may or may not exist.
    Unknown,
}

/// One user's recovery start through HAProxy. Every step but the challenge is retried once
/// when no answer came; the challenge is not, so a 200 means exactly one committed email.
async fn start_recovery(cluster: &Cluster, login: &str) -> Outcome {
    let Ok((flow, _)) = cluster.try_begin("openid", "crash").await else { return Outcome::Unknown };
    let step = |path: &'static str, body: serde_json::Value| {
        let flow = flow.clone();
        async move { retry_once(|| cluster.try_step(&flow, path, body.clone())).await }
    };
    let ok = |reply: &Result<Reply, _>| matches!(reply, Ok(r) if r.status == 200);
    let recover = step("recover", json!({})).await;
    if !ok(&recover) {
        return Outcome::Unknown;
    }
    let identify = step("identify", json!({"identifier": login})).await;
    let Ok(Some(id)) = identify.map(|r| if r.status == 200 { email_authenticator_id(&r.body) } else { None }) else {
        return Outcome::Unknown;
    };
    match cluster.try_step(&flow, "challenge", json!({"authenticator": {"id": id}})).await {
        Ok(reply) if reply.status == 200 => Outcome::Committed,
        Ok(reply) => panic!("the challenge of {login} answered {}: {}", reply.status, reply.body),
        Err(_) => Outcome::Unknown,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_process_loses_nothing() {
    let _turn = SERIAL.lock().await;
    let kills: usize = std::env::var("LATCHKEY_CLUSTER_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let seed: u64 = std::env::var("LATCHKEY_CLUSTER_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
    println!("cluster crash test: {kills} kills, LATCHKEY_CLUSTER_SEED={seed}");
    let cluster = Arc::new(Cluster::start(&[]).await);

    let stop = Arc::new(AtomicBool::new(false));
    let next_user = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (cluster, stop, next_user) = (cluster.clone(), stop.clone(), next_user.clone());
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    let login = format!("stream{}@example.com", next_user.fetch_add(1, Ordering::SeqCst));
                    // A user whose creation got no answer may or may not exist: skip it (its
                    // recovery is never started).
                    match retry_once(|| cluster.try_create_user(&login)).await {
                        Ok(reply) if reply.status == 200 => {}
                        _ => continue,
                    }
                    outcomes.push((login.clone(), start_recovery(&cluster, &login).await));
                }
                outcomes
            })
        })
        .collect();

    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut last_restart_ms = 0;
    for kill in 0..kills {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(300..1500))).await;
        let victim = rng.gen_range(0..PROCESSES);
        cluster.kill(victim);
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..500))).await;
        cluster.restart(victim).await;
        last_restart_ms = epoch_ms();
        println!("kill {}: process {victim} killed and restarted", kill + 1);
    }
    // A last stretch of traffic with every process back, and enough users in all to prove
    // something on a loaded machine.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while next_user.load(Ordering::SeqCst) < MIN_USERS && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let mut outcomes = Vec::new();
    for client in clients {
        outcomes.extend(client.await.expect("a client task"));
    }

    let lease_taken_over = cluster.drain_outbox().await;
    let committed: Vec<&String> = outcomes.iter().filter(|(_, o)| *o == Outcome::Committed).map(|(login, _)| login).collect();
    let unknown = outcomes.len() - committed.len();
    assert!(committed.len() >= 10, "the stream committed too little to prove anything: {} of {}", committed.len(), outcomes.len());
    for login in &committed {
        cluster.sink.wait_for_count(Some(login), 1, Duration::from_secs(30)).await.expect("every committed ForgotPassword is delivered");
    }
    // Per recipient: how many copies of each Message-ID arrived.
    let mut copies: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for message in cluster.sink.messages() {
        let to = message.rcpt_to.first().cloned().unwrap_or_default();
        *copies.entry(to).or_default().entry(message.message_id.clone().unwrap_or_default()).or_default() += 1;
    }
    for (login, _) in &outcomes {
        let distinct = copies.get(login).map_or(0, BTreeMap::len);
        assert!(distinct <= 1, "{login} got {distinct} different emails for one recovery start");
    }
    let duplicates: usize = copies.values().flat_map(BTreeMap::values).map(|n| n - 1).sum();
    assert!(duplicates == 0 || kills > 0, "a duplicate without a crash");
    let last_email_ms = cluster.sink.messages().iter().map(|m| m.received_at_ms).max().unwrap_or(0);
    println!(
        "cluster crash test: {} recovery starts, {} committed and delivered, {unknown} without an answer, \
         {duplicates} duplicate deliveries, lease of a killed process taken over by moving the clock: {lease_taken_over}; \
         last email {} ms after the last restart",
        outcomes.len(),
        committed.len(),
        i128::from(last_email_ms) - i128::from(last_restart_ms),
    );
}
