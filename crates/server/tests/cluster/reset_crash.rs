//! Security-checklist §3.10 aimed inside the password change: batches of recoveries are brought
//! to the set-password step across the cluster, then their new passwords are sent to one
//! process, which is killed with SIGKILL while they hash and commit. `password_change::apply`
//! is one transaction, so afterwards every account is all-or-nothing: password changed ⇔ its
//! earlier session ended ⇔ its refresh token revoked ⇔ its recovery transaction at `success` ⇔
//! one PasswordChanged notice queued; and no code was accepted twice.
use std::sync::Arc;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use serde_json::json;
use sqlx::PgConnection;

use crate::client::{Flow, PASSWORD};
use crate::harness::{db_now, Cluster, PROCESSES};
use crate::password::{reset_grant, sign_in_tokens};
use crate::SERIAL;

/// Recoveries whose new passwords race each kill.
const BATCH: usize = 4;

/// One account brought to `reset-authenticator`, with a session and a refresh token of its own
/// from before (written directly: only their ending is under test).
struct Prepared {
    login: String,
    user_id: String,
    flow: Flow,
    changed_before: Option<i64>,
    new_password: String,
}

async fn prepare(cluster: &Cluster, login: String) -> Prepared {
    let user = cluster.create_user(&login).await;
    let user_id = user["id"].as_str().expect("user id").to_owned();
    let mut db = cluster.db().await;
    let now = db_now(&mut db).await;
    let day = 24 * 3600 * 1000;
    sqlx::query(
        "INSERT INTO sessions (id, token_digest, user_id, auth_time, created_at, idle_expires_at, expires_at) \
         VALUES ($1, $2, $3, $4, $4, $5, $5)",
    )
    .bind(format!("s-{user_id}"))
    .bind(format!("session-of-{user_id}"))
    .bind(&user_id)
    .bind(now)
    .bind(now + day)
    .execute(&mut db)
    .await
    .expect("a session from before");
    sqlx::query(
        "INSERT INTO refresh_tokens (id, token_digest, family_id, auth_server, client_id, user_id, scopes, auth_time, created_at, \
         idle_expires_at, family_expires_at) VALUES ($1, $2, $1, 'default', $3, $4, 'openid offline_access', $5, $5, $6, $6)",
    )
    .bind(format!("rt-{user_id}"))
    .bind(format!("refresh-of-{user_id}"))
    .bind(crate::harness::PUBLIC_CLIENT)
    .bind(&user_id)
    .bind(now)
    .bind(now + day)
    .execute(&mut db)
    .await
    .expect("a refresh token from before");
    let changed_before: Option<i64> = sqlx::query_scalar("SELECT password_changed_at FROM users WHERE id = $1")
        .bind(&user_id)
        .fetch_one(&mut db)
        .await
        .expect("the account row");
    let flow = reset_grant(cluster, &login, 1).await;
    // Nothing of the login in it, or the profile check refuses it.
    let new_password = format!("a fresh passphrase {}", latchkey_domain::secret::sha256_hex(&login).get(..12).unwrap_or_default());
    Prepared { login, user_id, flow, changed_before, new_password }
}

/// The set-password request sent to `base`; `None` when no answer came.
async fn set_password(cluster: &Cluster, base: &str, account: &Prepared) -> Option<u16> {
    let body = json!({"stateHandle": account.flow.state_handle, "credentials": {"passcode": account.new_password}});
    let response = cluster
        .http
        .post(format!("{base}/idp/idx/challenge/answer"))
        .header("Content-Type", "application/ion+json; okta-version=1.0.0")
        .header("Accept", "application/json")
        .body(serde_json::to_vec(&body).expect("json"))
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    (!(502..=504).contains(&status)).then_some(status)
}

/// What the database says about one account after the run.
#[derive(Debug, PartialEq, Eq)]
struct Finish {
    changed: bool,
    session_ended: bool,
    refresh_revoked: bool,
    closed: bool,
    notices: i64,
}

async fn finish_of(db: &mut PgConnection, account: &Prepared) -> Finish {
    let (changed_at, session_ended, refresh_revoked, step): (Option<i64>, bool, bool, String) = sqlx::query_as(
        "SELECT u.password_changed_at, \
         (SELECT ended_at IS NOT NULL FROM sessions WHERE id = 's-' || u.id), \
         (SELECT revoked_at IS NOT NULL FROM refresh_tokens WHERE id = 'rt-' || u.id), \
         (SELECT step FROM interactions WHERE handle_digest = $2) \
         FROM users u WHERE u.id = $1",
    )
    .bind(&account.user_id)
    .bind(latchkey_domain::secret::sha256_hex(&account.flow.interaction_handle))
    .fetch_one(&mut *db)
    .await
    .expect("the account's state");
    let notices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'PasswordChanged' AND recipient = $1")
        .bind(&account.login)
        .fetch_one(&mut *db)
        .await
        .expect("count notices");
    Finish { changed: changed_at != account.changed_before, session_ended, refresh_revoked, closed: step == "success", notices }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_inside_the_password_change_leaves_all_or_nothing() {
    let _turn = SERIAL.lock().await;
    let kills: usize = std::env::var("LATCHKEY_CLUSTER_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let seed: u64 = std::env::var("LATCHKEY_CLUSTER_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(rand::random);
    println!("reset crash test: {kills} kills, LATCHKEY_CLUSTER_SEED={seed}");
    let cluster = Arc::new(Cluster::start(&[]).await);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    // How long a set-password request takes here when nobody dies: the kills are aimed at it.
    let calibration = prepare(&cluster, "calibration@example.com".to_owned()).await;
    let started = Instant::now();
    assert_eq!(set_password(&cluster, &cluster.direct_url(0), &calibration).await, Some(200));
    let latency = started.elapsed();
    let mut accounts = vec![calibration];
    let mut answered = Vec::new();
    answered.push((0, Some(200)));

    for kill in 0..kills {
        let first = accounts.len();
        let batch: Vec<Prepared> =
            futures::future::join_all((0..BATCH).map(|i| prepare(&cluster, format!("reset{kill}-{i}@example.com"))).collect::<Vec<_>>())
                .await;
        accounts.extend(batch);
        let victim = rng.gen_range(0..PROCESSES);
        let base = cluster.direct_url(victim);
        // Four hashes queue behind each other on two cores: the kill lands between the first
        // commit and a while after the last would have begun.
        let delay = latency.mul_f64(rng.gen_range(0.5..(BATCH as f64)));
        let sends = accounts[first..].iter().map(|account| set_password(&cluster, &base, account));
        let killer = async {
            tokio::time::sleep(delay).await;
            cluster.kill(victim);
        };
        let (statuses, ()) = tokio::join!(futures::future::join_all(sends), killer);
        println!("kill {}: process {victim} killed {delay:?} after {BATCH} set-password requests: {statuses:?}", kill + 1);
        answered.extend(statuses.into_iter().enumerate().map(|(i, s)| (first + i, s)));
        cluster.restart(victim).await;
    }

    // Every queued notice is committed already; draining also proves the restarted processes
    // deliver what the killed one had leased.
    cluster.drain_outbox().await;
    let mut db = cluster.db().await;
    let (mut committed, mut rolled_back, mut committed_unanswered) = (0, 0, 0);
    for (i, status) in &answered {
        let account = &accounts[*i];
        let finish = finish_of(&mut db, account).await;
        let all = Finish {
            changed: finish.changed,
            session_ended: finish.changed,
            refresh_revoked: finish.changed,
            closed: finish.changed,
            notices: i64::from(finish.changed),
        };
        assert_eq!(finish, all, "{}: not all-or-nothing (answer {status:?})", account.login);
        match status {
            Some(200) => assert!(finish.changed, "{}: answered 200 but nothing committed", account.login),
            Some(other) => assert!(!finish.changed, "{}: answered {other} but committed", account.login),
            None => {}
        }
        let (password, expected) = if finish.changed { (account.new_password.as_str(), "new") } else { (PASSWORD, "old") };
        let signed_in = sign_in_tokens(&cluster, &account.login, password, "openid").await;
        assert_eq!(signed_in.status, 200, "{}: the {expected} password: {}", account.login, signed_in.body);
        if finish.changed {
            committed += 1;
            committed_unanswered += usize::from(status.is_none());
        } else {
            rolled_back += 1;
        }
    }
    // No code accepted twice: one consumption per transaction at most, and only where the
    // transaction moved on to the reset.
    let (double, stray): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM (SELECT interaction_id FROM recovery_codes WHERE consumed_at IS NOT NULL \
         GROUP BY interaction_id HAVING COUNT(*) > 1) d), \
         (SELECT COUNT(*) FROM recovery_codes c JOIN interactions i ON i.id = c.interaction_id \
         WHERE c.consumed_at IS NOT NULL AND i.step NOT IN ('recovery_reset', 'success'))",
    )
    .fetch_one(&mut db)
    .await
    .expect("check the consumed codes");
    assert_eq!((double, stray), (0, 0), "(transactions with two consumed codes, consumed codes of transactions that went nowhere)");
    let no_answer = answered.iter().filter(|(_, s)| s.is_none()).count();
    println!(
        "reset crash test: {} resets attempted, {committed} committed ({committed_unanswered} of them \
         without an answer), {rolled_back} rolled back; {no_answer} without an answer in all; \
         set-password latency {latency:?}",
        answered.len()
    );
}
