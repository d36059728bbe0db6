//! One store test suite, run against SQLite and PostgreSQL (every test exists twice through
//! `both_backends!`). PostgreSQL must be reachable: the suite fails, never skips, without it.
use std::sync::Arc;

use latchkey_domain::identifier::Login;
use latchkey_domain::interaction::{Step, Subject};
use latchkey_domain::recovery::AnswerOutcome;
use latchkey_domain::throttle::MailLimits;
use latchkey_domain::{EmailAddress, OtpPolicy, Profile, UserId, UserStatus};
use latchkey_store::testing::{fresh, Backend, TestDatabase};
use latchkey_store::{
    ChallengeOutcome, CodeCheck, CustomizationWrite, NewChallenge, NewInteraction, NewMessage, NewPasswordToken, OutboxStatus, Store,
    StoreError,
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

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(latchkey_store::testing::Backend::Sqlite).await }
            )*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() { super::$name(latchkey_store::testing::Backend::Postgres).await }
            )*
        }
    };
}

both_backends!(
    migrations_are_idempotent,
    users_are_found_by_canonical_login_and_unique_email,
    duplicate_logins_conflict,
    interaction_steps_move_by_compare_and_set,
    fifty_parallel_right_answers_verify_exactly_once,
    hundred_parallel_wrong_answers_count_exactly_the_limit,
    a_new_code_supersedes_the_live_one,
    parallel_recovery_requests_respect_the_mail_limit,
    interaction_codes_redeem_once,
    outbox_claims_never_overlap,
    rate_buckets_count_every_hit,
    parallel_first_customizations_make_exactly_one_default,
    a_password_token_redeems_once_in_parallel,
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
            now,
        )
        .await
        .expect("insert user");
    id
}

async fn interaction(store: &Store) -> latchkey_store::InteractionRecord {
    let now = store.now().await.expect("now");
    let handle = latchkey_domain::BearerToken::generate();
    let state = latchkey_domain::BearerToken::generate();
    store
        .insert_interaction(
            &NewInteraction {
                handle_digest: &handle.digest(),
                state_handle_digest: &state.digest(),
                auth_server: "default",
                flow: "idx",
                client_id: "client",
                redirect_uri: "http://127.0.0.1/cb",
                scopes: "openid",
                oauth_state: "s",
                nonce: None,
                code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                lifetime: 30 * 60 * 1000,
            },
            now,
        )
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
                message: message("challenge"),
                deliver: false,
            },
            now,
        )
        .await
        .expect("issue");
    assert_eq!(outcome, ChallengeOutcome::Issued { mailed: false });
    let mut tx = tx;
    tx.version += 1;
    tx.step = step;
    tx
}

/// One code attempt with the default policy, for the subject `challenged` uses.
async fn attempt(store: &Store, interaction_id: &str, mac: &str, now: i64) -> AnswerOutcome {
    let check = CodeCheck {
        interaction_id,
        submitted_mac: mac,
        subject_key: &Subject::new("x", None).identifier_key().storage_key(),
        policy: &OtpPolicy::default(),
        grant_lifetime: 600_000,
    };
    let notice = |_: Option<&latchkey_store::UserRecord>| Ok(message("notice"));
    store.attempt_recovery_code(check, &notice, now).await.expect("attempt").0
}

async fn migrations_are_idempotent(backend: Backend) {
    let (db, store) = setup(backend).await;
    store.close().await;
    let again = Store::connect(&db.url).await.expect("second connect migrates nothing and succeeds");
    again.ping().await.expect("ping");
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
        .insert_user(&latchkey_store::NewUser { id: UserId::generate(), status: UserStatus::Active, profile, password_hash: None }, now)
        .await
        .expect_err("conflict");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

async fn interaction_steps_move_by_compare_and_set(backend: Backend) {
    let (_db, store) = setup(backend).await;
    let tx = interaction(&store).await;
    assert!(store.advance_interaction(&tx.id, tx.version, &Step::RecoveryIdentify).await.expect("advance"));
    assert!(!store.advance_interaction(&tx.id, tx.version, &Step::Identify).await.expect("stale"), "a stale version must not move");
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
        assert!(store.advance_interaction(&tx.id, tx.version, &Step::RecoverySelect { subject }).await.expect("advance"));
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
                        message: message("flood"),
                        deliver: false,
                    },
                    now,
                )
                .await
                .expect("issue")
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
    assert!(store.complete_sign_in(&tx.id, tx.version, &user_id, "digest", now + 60_000, now).await.expect("complete"));
    let store = Arc::new(store);
    let redemptions = (0..20).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.redeem_interaction_code("digest", "idx", now).await.expect("redeem").is_some() })
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
    let claims = (0..6).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let now = store.now().await.expect("now");
                let batch = store.claim_outbox(now, 60_000, 7).await.expect("claim");
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
            store.create_email_customization("default", "ForgotPassword", &write, now).await.expect("created")
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
    let older =
        NewPasswordToken { user_id: &user_id, purpose: "admin_reset", token_digest: "older", expires_at: now + 60_000, message: None };
    store.issue_password_token(older, now).await.expect("issue");
    let newer =
        NewPasswordToken { user_id: &user_id, purpose: "admin_reset", token_digest: "newer", expires_at: now + 60_000, message: None };
    store.issue_password_token(newer, now).await.expect("issue");
    assert!(store.live_password_token("older", now).await.expect("read").is_none(), "a newer token ends the older");
    assert!(store.live_password_token("newer", now).await.expect("read").is_some());
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.redeem_password_token("newer", "hash", message("changed"), now).await.expect("redeem").is_some()
        }));
    }
    let mut redeemed = 0;
    for task in tasks {
        redeemed += usize::from(task.await.expect("join"));
    }
    assert_eq!(redeemed, 1, "single use");
    assert!(store.live_password_token("newer", now + 1).await.expect("read").is_none());
}
