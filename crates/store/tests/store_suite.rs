//! One store test suite, run against SQLite and PostgreSQL (every test exists twice through
//! `both_backends!`). PostgreSQL must be reachable: the suite fails, never skips, without it.
use std::sync::Arc;

use latchkey_domain::audit::EventType;
use latchkey_domain::identifier::Login;
use latchkey_domain::interaction::{Step, Subject};
use latchkey_domain::recovery::AnswerOutcome;
use latchkey_domain::throttle::MailLimits;
use latchkey_domain::{EmailAddress, OtpPolicy, Profile, UserId, UserStatus};
use latchkey_store::testing::{fresh, Backend, TestDatabase};
use latchkey_store::{
    Audit, ChallengeOutcome, CodeCheck, CustomizationWrite, EventContext, NewChallenge, NewInteraction, NewMessage, NewPasswordToken,
    OutboxStatus, SignInCompletion, Store, StoreError,
};

/// A sealed-looking message for tests (the store never opens payloads).
fn message(id: &str) -> NewMessage {
    NewMessage {
        id: format!("{id}-{}", latchkey_domain::secret::okta_style_id("")),
        message_id: format!("<{id}@test>"),
        kind: "ForgotPassword".to_owned(),
        recipient: "someone@example.com".to_owned(),
        payload: "sealed".to_owned(),
        expires_at: None,
    }
}

/// A notice with a "Not you?" link nobody will follow.
fn notice(id: &str) -> latchkey_store::SecurityNotice {
    latchkey_store::SecurityNotice {
        message: message(id),
        token_digest: format!("not-me-{}", latchkey_domain::secret::okta_style_id("")),
        expires_at: i64::MAX,
    }
}

use latchkey_store::both_backends;

both_backends!(
    migrations_are_idempotent,
    a_database_from_the_old_migration_bookkeeping_is_adopted_once,
    an_edited_shipped_migration_stops_the_start,
    users_are_found_by_canonical_login_and_unique_email,
    duplicate_logins_conflict,
    interaction_steps_move_by_compare_and_set,
    fifty_parallel_right_answers_verify_exactly_once,
    hundred_parallel_wrong_answers_count_exactly_the_limit,
    a_new_code_supersedes_the_live_one,
    parallel_recovery_requests_respect_the_mail_limit,
    interaction_codes_redeem_once,
    outbox_claims_never_overlap,
    a_dead_owners_claims_are_taken_over_after_the_timeout_and_a_live_owners_never,
    only_the_owner_records_an_outcome,
    a_clean_shutdown_frees_its_claims_at_once,
    a_successful_send_releases_only_messages_deferred_by_an_outage,
    rate_buckets_count_every_hit,
    parallel_first_customizations_make_exactly_one_default,
    a_password_token_redeems_once_in_parallel,
    a_not_me_link_contains_the_account_once_in_parallel,
    processes_starting_together_keep_one_first_key,
    the_invariant_check_names_a_second_live_code_and_a_code_that_outlived_its_step,
    a_sign_in_that_a_password_change_overtook_completes_nothing_and_its_tokens_die,
    a_rehash_never_writes_back_over_a_password_changed_meanwhile,
);

async fn setup(backend: Backend) -> (TestDatabase, Store) {
    let db = fresh(backend).await;
    let store = Store::connect(&db.url).await.expect("connect and migrate");
    (db, store)
}

async fn user(store: &Store, login: &str) -> UserId {
    let id = UserId::generate();
    let profile = Profile {
        login: Login::parse(login).expect("login"),
        email: EmailAddress::parse(login).expect("email"),
        first_name: Some("Test".into()),
        last_name: None,
        locale: None,
    };
    let now = store.now().await.expect("now");
    store
        .insert_user(
            &latchkey_store::NewUser { id: id.clone(), status: UserStatus::Active, profile, password_hash: Some("$argon2id$x".into()) },
            &Audit::admin(&EventContext::system()),
            now,
        )
        .await
        .expect("insert user");
    id
}

async fn interaction(store: &Store) -> latchkey_store::InteractionRecord {
    let handle = latchkey_domain::BearerToken::generate();
    let state = latchkey_domain::BearerToken::generate();
    store
        .insert_interaction(&NewInteraction {
            handle_digest: &handle.digest(),
            state_handle_digest: &state.digest(),
            auth_server: latchkey_domain::oauth::AuthServer::Default,
            flow: latchkey_domain::interaction::Flow::Idx,
            client_id: "client",
            redirect_uri: "http://127.0.0.1/cb",
            scopes: "openid",
            oauth_state: "s",
            nonce: None,
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            lifetime: 30 * 60 * 1000,
        })
        .await
        .expect("insert interaction")
}

/// A transaction at the challenge step with a live code whose MAC is `mac`.
async fn challenged(store: &Store, user_id: &UserId, mac: &str) -> latchkey_store::InteractionRecord {
    let tx = interaction(store).await;
    let subject = Subject::new("x", Some(user_id.clone()));
    let step = Step::RecoveryChallenge { subject: subject.clone() };
    let now = store.now().await.expect("now");
    let outcome = store
        .issue_recovery_code(
            NewChallenge {
                interaction_id: &tx.id,
                expected_version: tx.version,
                next_step: &step,
                is_first: true,
                subject: &subject,
                code_mac: mac.to_owned(),
                code_lifetime: 600_000,
                limits: &MailLimits { min_gap: 0, per_hour: 1000, per_day: 1000 },
                compose: &|_| Ok(message("challenge")),
                context: &EventContext::system(),
            },
            now,
        )
        .await
        .expect("issue")
        .expect("the transaction had not moved");
    assert_eq!(outcome.outcome, ChallengeOutcome::Issued { mailed: true }, "the account exists, so its email is queued");
    assert_eq!((outcome.record.step.clone(), outcome.record.version), (step, tx.version + 1), "the store returns what it committed");
    outcome.record
}

/// One code attempt with the default policy, for the subject `challenged` uses.
async fn attempt(store: &Store, interaction_id: &str, mac: &str, now: i64) -> AnswerOutcome {
    let check = CodeCheck {
        interaction_id,
        submitted_mac: mac,
        subject_key: &Subject::new("x", None).identifier_key().storage_key(),
        policy: &OtpPolicy::default(),
        grant_lifetime: 600_000,
        context: &EventContext::system(),
    };
    let notice = |_: Option<&latchkey_store::UserRecord>| Ok(message("notice"));
    store.attempt_recovery_code(check, &notice, now).await.expect("attempt").expect("a live transaction").0
}

async fn migrations_are_idempotent(backend: Backend) {
    let (db, store) = setup(backend).await;
    store.close().await;
    let again = Store::connect(&db.url).await.expect("second connect migrates nothing and succeeds");
    again.ping().await.expect("ping");
}

/// A raw connection beside the store, for tests that fake an older database.
async fn raw(db: &TestDatabase) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(&db.url).await.expect("raw connection")
}

async fn a_database_from_the_old_migration_bookkeeping_is_adopted_once(backend: Backend) {
    let (db, store) = setup(backend).await;
    let id = user(&store, "kept@example.com").await;
    store.close().await;
    // What an earlier Latchkey left: its own table of versions, no `_sqlx_migrations`.
    let pool = raw(&db).await;
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(&pool).await.expect("versions");
    assert!(versions.len() >= 7, "{versions:?}");
    sqlx::query("CREATE TABLE latchkey_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)")
        .execute(&pool)
        .await
        .expect("old table");
    for version in &versions {
        sqlx::query("INSERT INTO latchkey_migrations (version, applied_at) VALUES ($1, 0)")
            .bind(version)
            .execute(&pool)
            .await
            .expect("row");
    }
    sqlx::query("DROP TABLE _sqlx_migrations").execute(&pool).await.expect("drop");
    // Re-applying any script would fail on its CREATE TABLE: the start succeeds only if the
    // history is adopted.
    let store = Store::connect(&db.url).await.expect("the old database starts");
    assert!(store.user_by_id(&id).await.expect("read").is_some(), "data is kept");
    let adopted: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version").fetch_all(&pool).await.expect("adopted");
    assert_eq!(adopted, versions);
    assert!(sqlx::query("SELECT version FROM latchkey_migrations").fetch_all(&pool).await.is_err(), "the old table is gone");
    store.close().await;
    Store::connect(&db.url).await.expect("and it starts again").close().await;
}

async fn an_edited_shipped_migration_stops_the_start(backend: Backend) {
    let (db, store) = setup(backend).await;
    store.close().await;
    let pool = raw(&db).await;
    sqlx::query("UPDATE _sqlx_migrations SET checksum = $1 WHERE version = 1").bind(vec![0_u8; 48]).execute(&pool).await.expect("tamper");
    let error = Store::connect(&db.url).await.expect_err("a changed migration is refused");
    assert!(error.to_string().contains("migration"), "{error}");
}

async fn users_are_found_by_canonical_login_and_unique_email(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let id = user(&store, "Jane@Example.com").await;
    let found = store.user_for_identifier("jane@example.com").await.expect("query").expect("found");
    assert_eq!(found.user.id, id);
    assert_eq!(found.user.profile.login.as_str(), "Jane@Example.com");
    assert!(store.user_for_identifier("nobody@example.com").await.expect("query").is_none());
    assert_eq!(store.user_by_id_or_login("JANE@EXAMPLE.COM").await.expect("query").map(|u| u.user.id), Some(id));
}

async fn duplicate_logins_conflict(backend: Backend) {
    let (_db, store) = setup(backend).await;
    user(&store, "dup@example.com").await;
    let now = store.now().await.expect("now");
    let profile = Profile {
        login: Login::parse("DUP@example.com").expect("login"),
        email: EmailAddress::parse("dup@example.com").expect("email"),
        first_name: None,
        last_name: None,
        locale: None,
    };
    let err = store
        .insert_user(
            &latchkey_store::NewUser { id: UserId::generate(), status: UserStatus::Active, profile, password_hash: None },
            &Audit::admin(&EventContext::system()),
            now,
        )
        .await
        .expect_err("conflict");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

async fn interaction_steps_move_by_compare_and_set(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let tx = interaction(&store).await;
    assert!(store.advance_interaction(&tx.id, tx.version, &Step::RecoveryIdentify).await.expect("advance").is_some());
    assert!(
        store.advance_interaction(&tx.id, tx.version, &Step::Identify).await.expect("stale").is_none(),
        "a stale version must not move"
    );
}

async fn fifty_parallel_right_answers_verify_exactly_once(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let user_id = user(&store, "race@example.com").await;
    let tx = challenged(&store, &user_id, "right").await;
    let store = Arc::new(store);
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let attempts = (0..50).map(|_| {
        let (store, tx, barrier) = (store.clone(), tx.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            let now = store.now().await.expect("now");
            attempt(&store, &tx.id, "right", now).await
        })
    });
    let outcomes: Vec<AnswerOutcome> = futures::future::join_all(attempts).await.into_iter().map(|r| r.expect("join")).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == AnswerOutcome::Verified).count(), 1, "{outcomes:?}");
}

async fn hundred_parallel_wrong_answers_count_exactly_the_limit(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let user_id = user(&store, "guess@example.com").await;
    let tx = challenged(&store, &user_id, "right").await;
    let store = Arc::new(store);
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let attempts = (0..100).map(|i| {
        let (store, tx, barrier) = (store.clone(), tx.clone(), barrier.clone());
        tokio::spawn(async move {
            barrier.wait().await;
            let now = store.now().await.expect("now");
            attempt(&store, &tx.id, &format!("wrong{i}"), now).await
        })
    });
    let outcomes: Vec<AnswerOutcome> = futures::future::join_all(attempts).await.into_iter().map(|r| r.expect("join")).collect();
    assert!(outcomes.iter().all(|o| *o == AnswerOutcome::Refused), "{outcomes:?}");
    let codes = store.recovery_codes_of(&tx.id).await.expect("codes");
    assert_eq!(codes.iter().map(|(_, attempts)| *attempts).sum::<i64>(), 5);
    let subject = Subject::new("x", Some(user_id.clone()));
    assert_eq!(store.otp_failures(&subject.identifier_key()).await.expect("failures"), 5);
    assert_eq!(store.otp_failures(&subject.account_key().expect("account")).await.expect("failures"), 5);
    let now = store.now().await.expect("now");
    let late = attempt(&store, &tx.id, "right", now).await;
    assert_eq!(late, AnswerOutcome::Refused, "the right code after five wrong ones must fail");
}

async fn a_new_code_supersedes_the_live_one(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let user_id = user(&store, "twice@example.com").await;
    let first = challenged(&store, &user_id, "first").await;
    let second = challenged(&store, &user_id, "second").await;
    let now = store.now().await.expect("now");
    assert_eq!(attempt(&store, &first.id, "first", now).await, AnswerOutcome::Refused);
    assert_eq!(store.live_code_count(now).await.expect("count"), 1, "one live code per account");
    assert_eq!(attempt(&store, &second.id, "second", now).await, AnswerOutcome::Verified);
}

async fn parallel_recovery_requests_respect_the_mail_limit(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let store = Arc::new(store);
    let limits = MailLimits { min_gap: 0, per_hour: 3, per_day: 10 };
    let barrier = Arc::new(tokio::sync::Barrier::new(30));
    let mut txs = Vec::new();
    for _ in 0..30 {
        let mut tx = interaction(&store).await;
        let subject = Subject::new("flood@example.com", None);
        assert!(store.advance_interaction(&tx.id, tx.version, &Step::RecoverySelect { subject }).await.expect("advance").is_some());
        tx.version += 1;
        txs.push(tx);
    }
    let requests = txs.into_iter().map(|tx| {
        let (store, barrier, limits) = (store.clone(), barrier.clone(), limits.clone());
        tokio::spawn(async move {
            let subject = Subject::new("flood@example.com", None);
            let step = Step::RecoveryChallenge { subject: subject.clone() };
            barrier.wait().await;
            let now = store.now().await.expect("now");
            store
                .issue_recovery_code(
                    NewChallenge {
                        interaction_id: &tx.id,
                        expected_version: tx.version,
                        next_step: &step,
                        is_first: true,
                        subject: &subject,
                        code_mac: "m".into(),
                        code_lifetime: 600_000,
                        limits: &limits,
                        compose: &|_| Ok(message("flood")),
                        context: &EventContext::system(),
                    },
                    now,
                )
                .await
                .expect("issue")
                .expect("the transaction had not moved")
                .outcome
        })
    });
    let outcomes: Vec<ChallengeOutcome> = futures::future::join_all(requests).await.into_iter().map(|r| r.expect("join")).collect();
    let issued = outcomes.iter().filter(|o| matches!(o, ChallengeOutcome::Issued { .. })).count();
    assert_eq!(issued, 3, "{outcomes:?}");
}

async fn interaction_codes_redeem_once(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let user_id = user(&store, "code@example.com").await;
    let tx = interaction(&store).await;
    let now = store.now().await.expect("now");
    let subject = Subject::new("code@example.com", Some(user_id.clone()));
    let done = SignInCompletion {
        interaction_id: &tx.id,
        expected_version: tx.version,
        subject: &subject,
        user_id: &user_id,
        code_digest: "digest",
        code_expires_at: now + 60_000,
        context: &EventContext::system(),
        verified_hash: "$argon2id$x",
        second_factor_window: 300_000,
        passkeys_available: false,
    };
    assert!(matches!(store.complete_sign_in(done, now).await.expect("complete"), latchkey_store::SignInCompleted::Done(_)));
    let store = Arc::new(store);
    let redemptions = (0..20).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store.redeem_interaction_code("digest", latchkey_domain::interaction::Flow::Idx, now).await.expect("redeem").is_some()
        })
    });
    let won: usize = futures::future::join_all(redemptions).await.into_iter().map(|r| usize::from(r.expect("join"))).sum();
    assert_eq!(won, 1);
}

async fn outbox_claims_never_overlap(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let now = store.now().await.expect("now");
    for i in 0..60 {
        let message = NewMessage {
            id: format!("m{i}"),
            message_id: format!("mid{i}"),
            kind: "ForgotPassword".into(),
            recipient: "a@example.com".into(),
            payload: "sealed".into(),
            expires_at: None,
        };
        store.enqueue_message(&message, now).await.expect("enqueue");
    }
    let store = Arc::new(store);
    let claims = (0..6).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let owner = format!("proc-{i}");
            store.outbox_heartbeat(&owner).await.expect("heartbeat");
            let mut mine = Vec::new();
            loop {
                let now = store.now().await.expect("now");
                let batch = store.claim_outbox(now, &owner, 60_000, 7).await.expect("claim");
                if batch.is_empty() {
                    break mine;
                }
                mine.extend(batch.into_iter().map(|m| m.id));
            }
        })
    });
    let mut all: Vec<String> = futures::future::join_all(claims).await.into_iter().flat_map(|r| r.expect("join")).collect();
    assert_eq!(all.len(), 60);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 60, "a message was claimed twice");
    assert!(store.outbox_messages(Some(OutboxStatus::Queued), 100).await.expect("list").iter().all(|m| m.attempts == 1));
}

/// Owner heartbeats are compared with the controllable clock, so time moves without sleeping.
const OWNER_TIMEOUT: i64 = 5_000;

async fn enqueue_n(store: &Store, n: usize) -> Vec<String> {
    let now = store.now().await.expect("now");
    let mut ids = Vec::new();
    for _ in 0..n {
        let m = message("owned");
        store.enqueue_message(&m, now).await.expect("enqueue");
        ids.push(m.id);
    }
    ids
}

async fn claim_as(store: &Store, owner: &str) -> Vec<String> {
    let now = store.now().await.expect("now");
    let mut ids: Vec<String> = store.claim_outbox(now, owner, OWNER_TIMEOUT, 100).await.expect("claim").into_iter().map(|m| m.id).collect();
    ids.sort();
    ids
}

async fn a_dead_owners_claims_are_taken_over_after_the_timeout_and_a_live_owners_never(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let store = store.with_test_clock();
    let mut ids = enqueue_n(&store, 3).await;
    ids.sort();
    store.outbox_heartbeat("dead").await.expect("heartbeat");
    assert_eq!(claim_as(&store, "dead").await, ids);

    // "dead" never beats again; "live" does, every simulated second.
    store.outbox_heartbeat("live").await.expect("heartbeat");
    assert!(claim_as(&store, "live").await.is_empty(), "the owner's heartbeat is still fresh");
    for _ in 0..4 {
        store.advance_test_clock(1_000).await.expect("advance");
        store.outbox_heartbeat("live").await.expect("heartbeat");
        assert!(claim_as(&store, "live").await.is_empty(), "taken over before the owner timeout");
    }
    store.advance_test_clock(1_500).await.expect("advance");
    store.outbox_heartbeat("live").await.expect("heartbeat");
    assert_eq!(claim_as(&store, "live").await, ids, "the dead owner's rows are claimed once its heartbeat is stale");
    let now = store.now().await.expect("now");
    for id in &ids {
        assert!(store.outbox_still_owned(id, "live", now, OWNER_TIMEOUT).await.expect("owned"));
        assert!(!store.outbox_still_owned(id, "dead", now, OWNER_TIMEOUT).await.expect("owned"));
        assert_eq!(store.outbox_message(id).await.expect("read").expect("row").attempts, 2);
    }

    // A live owner keeps its rows however much time passes, as long as it beats.
    store.outbox_heartbeat("other").await.expect("heartbeat");
    for _ in 0..20 {
        store.advance_test_clock(1_000).await.expect("advance");
        store.outbox_heartbeat("live").await.expect("heartbeat");
        store.outbox_heartbeat("other").await.expect("heartbeat");
        assert!(claim_as(&store, "other").await.is_empty(), "a live owner's rows were taken over");
    }
    // An owner whose own heartbeat is stale claims nothing, even rows nobody owns.
    enqueue_n(&store, 1).await;
    store.advance_test_clock(OWNER_TIMEOUT + 1).await.expect("advance");
    store.outbox_heartbeat("live").await.expect("heartbeat");
    assert!(claim_as(&store, "other").await.is_empty(), "a stale owner claimed");
}

async fn only_the_owner_records_an_outcome(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let store = store.with_test_clock();
    let ids = enqueue_n(&store, 1).await;
    let id = ids.first().expect("one message");
    store.outbox_heartbeat("first").await.expect("heartbeat");
    assert_eq!(claim_as(&store, "first").await.len(), 1);
    store.advance_test_clock(OWNER_TIMEOUT + 1).await.expect("advance");
    store.outbox_heartbeat("second").await.expect("heartbeat");
    assert_eq!(claim_as(&store, "second").await.len(), 1, "taken over from a stale owner");

    let now = store.now().await.expect("now");
    assert!(!store.mark_outbox_sent(id, "first", now).await.expect("mark"), "a former owner recorded a send");
    assert!(!store.mark_outbox_deferred(id, "first", now, "x", false, now).await.expect("mark"));
    assert!(!store.mark_outbox_failed(id, "first", "x", now).await.expect("mark"));
    assert_eq!(store.outbox_message(id).await.expect("read").expect("row").status, OutboxStatus::Queued);
    assert!(store.mark_outbox_sent(id, "second", now).await.expect("mark"));
    let row = store.outbox_message(id).await.expect("read").expect("row");
    assert_eq!(row.status, OutboxStatus::Sent);
    assert!(row.payload.is_none());
}

async fn a_clean_shutdown_frees_its_claims_at_once(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let mut ids = enqueue_n(&store, 2).await;
    ids.sort();
    store.outbox_heartbeat("stopping").await.expect("heartbeat");
    store.outbox_heartbeat("next").await.expect("heartbeat");
    assert_eq!(claim_as(&store, "stopping").await, ids);
    assert!(claim_as(&store, "next").await.is_empty());
    store.retire_outbox_owner("stopping").await.expect("retire");
    assert_eq!(claim_as(&store, "next").await, ids, "rows of a retired owner wait for nothing");
}

async fn a_successful_send_releases_only_messages_deferred_by_an_outage(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let ids = enqueue_n(&store, 2).await;
    let (outage, mailbox_full) = (ids.first().expect("first"), ids.get(1).expect("second"));
    store.outbox_heartbeat("w").await.expect("heartbeat");
    assert_eq!(claim_as(&store, "w").await.len(), 2);
    let now = store.now().await.expect("now");
    let later = now + 3_600_000;
    assert!(store.mark_outbox_deferred(outage, "w", later, "connection refused", true, now).await.expect("defer"));
    assert!(store.mark_outbox_deferred(mailbox_full, "w", later, "452 mailbox full", false, now).await.expect("defer"));

    let now = store.now().await.expect("now");
    assert_eq!(store.release_relay_deferred(now).await.expect("release"), 1);
    assert_eq!(claim_as(&store, "w").await, vec![outage.clone()], "only the outage's message is due at once");
    assert_eq!(store.outbox_message(mailbox_full).await.expect("read").expect("row").next_attempt_at, later);
    assert_eq!(store.release_relay_deferred(now).await.expect("release"), 0, "nothing twice");
}

async fn rate_buckets_count_every_hit(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let store = Arc::new(store);
    let now = store.now().await.expect("now");
    // 60 parallel takers against a budget of 40: exactly 40 get a unit (finding 7).
    let takes = (0..60).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.take_rate("ip:1", 3_600_000, 40, now).await.expect("take") })
    });
    let tickets: Vec<_> = futures::future::join_all(takes).await.into_iter().filter_map(|r| r.expect("join")).collect();
    assert_eq!(tickets.len(), 40);
    assert_eq!(store.rate_taken("ip:1", 3_600_000, now).await.expect("peek"), 40);
    let ticket = tickets.into_iter().next().expect("a ticket");
    store.refund_rate(ticket).await.expect("refund");
    assert!(store.take_rate("ip:1", 3_600_000, 40, now).await.expect("take").is_some(), "a refunded unit can be taken again");
    assert!(store.take_rate("ip:1", 3_600_000, 40, now).await.expect("take").is_none());
}

async fn parallel_first_customizations_make_exactly_one_default(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let store = Arc::new(store);
    let languages = ["en", "fr", "de", "es", "ja", "it", "nl", "pt"];
    let mut tasks = Vec::new();
    for lang in languages {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let now = store.now().await.expect("now");
            let write = CustomizationWrite { language: lang, language_key: lang, subject: "s", body: "b", is_default: None };
            store
                .create_email_customization("default", "ForgotPassword", &write, &Audit::admin(&EventContext::system()), now)
                .await
                .expect("created")
        }));
    }
    for task in tasks {
        task.await.expect("join");
    }
    let rows = store.email_customizations("default", "ForgotPassword").await.expect("rows");
    assert_eq!(rows.len(), languages.len());
    assert_eq!(rows.iter().filter(|c| c.is_default).count(), 1, "exactly one default");
    assert!(store.email_customizations_version().await.expect("version") >= 8, "every write bumps the version");
}

async fn a_password_token_redeems_once_in_parallel(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let store = Arc::new(store);
    let user_id = user(&store, "token@example.com").await;
    let now = store.now().await.expect("now");
    let older = NewPasswordToken {
        user_id: &user_id,
        purpose: "admin_reset",
        token_digest: "older",
        expires_at: now + 60_000,
        message: None,
        event_type: EventType::PasswordReset,
        status: None,
    };
    store.issue_password_token(older, &Audit::admin(&EventContext::system()), now).await.expect("issue");
    let newer = NewPasswordToken {
        user_id: &user_id,
        purpose: "admin_reset",
        token_digest: "newer",
        expires_at: now + 60_000,
        message: None,
        event_type: EventType::PasswordReset,
        status: None,
    };
    store.issue_password_token(newer, &Audit::admin(&EventContext::system()), now).await.expect("issue");
    assert!(store.live_password_token("older", now).await.expect("read").is_none(), "a newer token ends the older");
    assert!(store.live_password_token("newer", now).await.expect("read").is_some());
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.redeem_password_token("newer", "hash", notice("changed"), &EventContext::system(), now).await.expect("redeem").is_some()
        }));
    }
    let mut redeemed = 0;
    for task in tasks {
        redeemed += usize::from(task.await.expect("join"));
    }
    assert_eq!(redeemed, 1, "single use");
    assert!(store.live_password_token("newer", now + 1).await.expect("read").is_none());
}

async fn a_not_me_link_contains_the_account_once_in_parallel(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let store = Arc::new(store);
    let user_id = user(&store, "notme@example.com").await;
    let now = store.now().await.expect("now");
    let context = EventContext::system();
    let admin = latchkey_store::Audit::admin(&context);
    let factor = store.enroll_totp(&user_id, "uftnotme", "sealed", &admin, now).await.expect("enroll");
    let mut removal = notice("removed");
    removal.expires_at = now + 60_000;
    assert!(store.remove_factor(&user_id, &factor.id, &removal, &admin, now).await.expect("remove"));
    let digest = removal.token_digest.clone();
    let live = store.live_containment_token(&digest, now).await.expect("read").expect("the removal notice's link");
    assert_eq!(live.subject, latchkey_domain::containment::NoticeSubject::AuthenticatorRemoved);
    assert_eq!(live.factor_type.as_deref(), Some(latchkey_store::TOTP_FACTOR_TYPE));
    assert_eq!(live.notice_at, now);
    assert!(store.live_containment_token(&digest, now + 60_000).await.expect("read").is_none(), "expired by the clock it is given");

    let mut tasks = Vec::new();
    for _ in 0..10 {
        let (store, digest) = (store.clone(), digest.clone());
        tasks.push(tokio::spawn(async move {
            store.contain_account(&digest, &EventContext::system(), now + 1).await.expect("contain").is_some()
        }));
    }
    let mut contained = 0;
    for task in tasks {
        contained += usize::from(task.await.expect("join"));
    }
    assert_eq!(contained, 1, "single use");
    assert!(store.live_containment_token(&digest, now + 1).await.expect("read").is_none());
}

/// Nothing listens on the port: connecting is `Unavailable` (a 503 for the adapters), not a
/// generic database error (a 500).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_nobody_answers_for_is_unavailable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address");
    // The listener is dropped: the port is closed, and connections to it are refused.
    let started = std::time::Instant::now();
    let outcome = Store::connect(&format!("postgres://postgres@127.0.0.1:{}/postgres", closed.port())).await;
    assert!(matches!(outcome, Err(StoreError::Unavailable(_))), "{outcome:?}");
    eprintln!("a refused connection was reported after {:?}", started.elapsed());
}

/// A constraint violation stays a database error: retrying it later would not help.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_constraint_violation_is_not_unavailable() {
    let (_db, store) = setup(Backend::Sqlite).await;
    let now = store.now().await.expect("now");
    let m = message("dup");
    store.enqueue_message(&m, now).await.expect("enqueue");
    let again = store.enqueue_message(&m, now).await;
    assert!(again.as_ref().is_err_and(|e| !e.is_unavailable()), "{again:?}");
}

/// Eight processes start on an empty database at once, each with its own candidate first
/// signing key: exactly one is stored, and every one of them reads that one back.
async fn processes_starting_together_keep_one_first_key(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let store = Arc::new(store);
    let now = store.now().await.expect("now");
    let record = |id: &str, kind: &str| latchkey_store::KeyRecord {
        id: id.to_owned(),
        kind: kind.to_owned(),
        material: format!("sealed {id}"),
        created_at: now,
        publish_at: now,
        sign_from: now,
        retire_at: None,
    };
    store.insert_key_if_absent(&record("lock", "lock")).await.expect("the lock row");
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (store, barrier, candidate) = (store.clone(), barrier.clone(), record(&format!("candidate-{i}"), "signing"));
            tokio::spawn(async move {
                barrier.wait().await;
                store.insert_first_key(&candidate, "lock", now).await.expect("insert or read")
            })
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for task in tasks {
        let live = task.await.expect("join");
        assert_eq!(live.len(), 1, "one live key, seen by every process");
        seen.insert(live[0].id.clone());
    }
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(store.live_keys("signing", now).await.expect("keys").len(), 1);
}

async fn the_invariant_check_names_a_second_live_code_and_a_code_that_outlived_its_step(backend: Backend) {
    let (db, store) = setup(backend).await;
    let user_id = user(&store, "twice@example.com").await;
    let tx = challenged(&store, &user_id, "mac-1").await;
    let now = store.now().await.expect("now");
    assert_eq!(store.invariant_violations(now).await.expect("check"), Vec::<String>::new(), "a challenged transaction is sound");
    // What a bug would leave: a second live code for the same account and identifier.
    let pool = raw(&db).await;
    sqlx::query(
        "INSERT INTO recovery_codes (id, interaction_id, subject_key, user_id, code_mac, attempts, superseded, created_at, expires_at) \
         SELECT 'second', interaction_id, subject_key, user_id, 'mac-2', 0, 0, created_at, expires_at FROM recovery_codes WHERE interaction_id = $1",
    )
    .bind(&tx.id)
    .execute(&pool)
    .await
    .expect("plant a second code");
    let broken = store.invariant_violations(now).await.expect("check");
    assert!(broken.iter().any(|b| b.starts_with("an account has more than one live recovery code")), "{broken:?}");
    assert!(broken.iter().any(|b| b.starts_with("an identifier has more than one live recovery code")), "{broken:?}");
    // And a step that moved on without ending its codes.
    sqlx::query("UPDATE interactions SET step = 'identify' WHERE id = $1").bind(&tx.id).execute(&pool).await.expect("move");
    let broken = store.invariant_violations(now).await.expect("check");
    assert!(broken.iter().any(|b| b.starts_with("a live code outlived the step")), "{broken:?}");
}

/// Cluster §3.6, deterministically: a sign-in verified the old hash, a password change commits,
/// then the sign-in tries to complete: it is refused. A family started under the old password
/// (its exchange raced the change) is dead at rotation, whatever the clocks said.
async fn a_sign_in_that_a_password_change_overtook_completes_nothing_and_its_tokens_die(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let user_id = user(&store, "overtaken@example.com").await;
    let subject = Subject::new("overtaken@example.com", Some(user_id.clone()));
    let now = store.now().await.expect("now");
    let old_version =
        latchkey_store::credential_version(store.user_by_id(&user_id).await.expect("read").expect("user").user.password_changed_at);
    // The change: through the set-password link path (the one password pipeline).
    let token = NewPasswordToken {
        user_id: &user_id,
        purpose: "admin_reset",
        token_digest: "overtake",
        expires_at: now + 60_000,
        message: None,
        event_type: EventType::PasswordReset,
        status: None,
    };
    store.issue_password_token(token, &Audit::admin(&EventContext::system()), now).await.expect("issue");
    let later = now + 1_000;
    store
        .redeem_password_token("overtake", "$argon2id$new", notice("changed"), &EventContext::system(), later)
        .await
        .expect("redeem")
        .expect("redeemed");

    let tx = interaction(&store).await;
    let done = SignInCompletion {
        interaction_id: &tx.id,
        expected_version: tx.version,
        subject: &subject,
        user_id: &user_id,
        code_digest: "late-digest",
        code_expires_at: later + 60_000,
        context: &EventContext::system(),
        verified_hash: "$argon2id$x",
        second_factor_window: 300_000,
        passkeys_available: false,
    };
    assert!(matches!(store.complete_sign_in(done, later + 1).await.expect("complete"), latchkey_store::SignInCompleted::CredentialChanged));

    // A family the old password started, stored after the change with a later sign-in time.
    let family = latchkey_store::NewRefreshToken {
        token_digest: "old-credential",
        auth_server: "default",
        client_id: "c",
        user_id: &user_id,
        scopes: "openid offline_access",
        auth_time: later + 5_000,
        idle_expires_at: later + 3_600_000,
        family_expires_at: later + 86_400_000,
        credential_at: Some(old_version),
        methods: latchkey_domain::session::AuthMethods::Password,
    };
    store.insert_refresh_token(&family, later + 5_000).await.expect("insert");
    let policy = latchkey_domain::refresh::RefreshPolicy::default();
    let outcome = store
        .rotate_refresh_token("old-credential", ("c", "default"), "next", &policy, &EventContext::system(), later + 6_000)
        .await
        .expect("rotate");
    assert!(matches!(outcome, latchkey_store::RotateOutcome::Refused), "{outcome:?}");
}

/// The transparent rehash after a sign-in is computed outside any transaction, so a password
/// change can commit meanwhile: the rehash must then leave the new hash alone, or the old
/// password would sign in again (found by re-checking the password invariant).
async fn a_rehash_never_writes_back_over_a_password_changed_meanwhile(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let id = user(&store, "rehash@example.com").await;
    assert!(store.rehash_password(&id, "$argon2id$x", "$argon2id$upgraded").await.expect("rehash"), "the verified hash is upgraded");
    let stored = || async { store.user_by_id(&id).await.expect("read").expect("user").password_hash };
    assert_eq!(stored().await.as_deref(), Some("$argon2id$upgraded"));
    // A change commits between the verification (of "$argon2id$upgraded") and the rehash.
    assert!(store.rehash_password(&id, "$argon2id$upgraded", "$argon2id$new-password").await.expect("stand-in for a change"));
    let replaced = store.rehash_password(&id, "$argon2id$upgraded", "$argon2id$old-password-again").await.expect("rehash");
    assert!(!replaced, "the rehash of the old password finds another hash stored");
    assert_eq!(stored().await.as_deref(), Some("$argon2id$new-password"), "the change stays");
}
